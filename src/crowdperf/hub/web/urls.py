"""Links between pages. The server and the static export lay pages out differently; templates
only call these methods, so one set of templates serves both."""

from __future__ import annotations

from urllib.parse import urlencode


class ServerUrls:
    static_site = False

    def static(self, name: str) -> str:
        return f"/static/{name}"

    def results(self, **query: str) -> str:
        return "/" + (f"?{urlencode(query)}" if query else "")

    def result(self, result_id: int) -> str:
        return f"/results/{result_id}"

    def compare_form(self) -> str:
        return "/compare"

    def compare(self, ids: list[int]) -> str:
        return "/compare?" + urlencode([("ids", i) for i in ids])

    def chart(self) -> str:
        return "/chart"

    def best(self) -> str:
        return "/best"

    def builder(self) -> str:
        return "/builder"

    def data_json(self) -> str:
        return "/api/results?limit=500"


class StaticUrls(ServerUrls):
    """Relative links between the files that ``export-site`` writes (work from any sub-path)."""

    static_site = True

    def __init__(self, depth: int = 0) -> None:
        self._up = "../" * depth

    def static(self, name: str) -> str:
        return f"{self._up}static/{name}"

    def results(self, **query: str) -> str:
        return f"{self._up}index.html"

    def result(self, result_id: int) -> str:
        return f"{self._up}results/{result_id}.html"

    def compare_form(self) -> str:
        return f"{self._up}index.html"

    def compare_key(self, key: str) -> str:
        return f"{self._up}compare/{key}.html"

    def chart(self) -> str:
        return f"{self._up}chart.html"

    def data_json(self) -> str:
        return f"{self._up}data/results.json"

"""The client side of the upload API: ``crowdperf hub submit`` and owners' hide/delete.

report = submit_tree(Path("S"), server="http://127.0.0.1:8765", token="cph_...")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from crowdperf.errors import HubError, MissingInputError
from crowdperf.hub.web.upload_safety import pack_submission


@dataclass(frozen=True)
class SubmitResult:
    server: str
    bytes_sent: int
    report: dict[str, Any]  # the server's UploadReport


def _raise_for(resp: httpx.Response, what: str) -> None:
    if resp.is_success:
        return
    try:
        body = resp.json()
        message, hint = body.get("error") or str(body.get("detail")), body.get("hint")
    except ValueError:
        message, hint = resp.text[:300], None
    raise HubError(f"{what} refused by the server (HTTP {resp.status_code}): {message}", hint=hint)


def _request(method: str, url: str, token: str, timeout: float, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    try:
        return httpx.request(method, url, headers=headers, timeout=timeout, **kw)
    except httpx.HTTPError as exc:
        raise HubError(
            f"cannot reach {url}: {exc}", hint="check --server and that `crowdperf hub serve` runs"
        ) from exc


def submit_tree(tree: Path, *, server: str, token: str, timeout: float = 120.0) -> SubmitResult:
    """Pack ``tree`` as tar.gz and POST it to ``server``/api/uploads with the bearer token."""
    if not tree.is_dir():
        raise MissingInputError(
            f"submission tree {tree} does not exist", hint="pass the folder holding closed/ or open/"
        )
    data = pack_submission(tree)
    url = server.rstrip("/") + "/api/uploads"
    resp = _request("POST", url, token, timeout, content=data, headers={"Content-Type": "application/gzip"})
    _raise_for(resp, "upload")
    return SubmitResult(server=server, bytes_sent=len(data), report=resp.json())


def change_result(
    server: str, token: str, result_id: int, action: str, timeout: float = 30.0
) -> dict[str, Any]:
    """``action``: hide | unhide | delete, on a result this token uploaded."""
    base = f"{server.rstrip('/')}/api/results/{result_id}"
    resp = (
        _request("DELETE", base, token, timeout)
        if action == "delete"
        else _request("POST", f"{base}/{action}", token, timeout)
    )
    _raise_for(resp, action)
    return resp.json()

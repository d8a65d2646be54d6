"""The two small reads the pages need beyond ``crowdperf.hub.queries``: the values present for the
filter drop-downs, and a result's stored LoadGen summary. Bound parameters only."""

from __future__ import annotations

from sqlalchemy import select

from crowdperf.errors import UsageError
from crowdperf.hub.models import Result
from crowdperf.hub.query_types import HubResult
from crowdperf.hub.store import Store
from crowdperf.hub.web.command_builder import PRECISIONS, RunChoice, allowed_values, build_commands
from crowdperf.hub.web.uploads import UPLOAD_SOURCE_PREFIX
from crowdperf.hub.web.views import CHOICE_FILTERS

_FACET_COLUMN = {"meter": "power_meter"}  # filter name -> column


def facet_values(store: Store) -> dict[str, list[str]]:
    """Distinct non-empty values of each drop-down filter among visible results (a full scan per
    filter: cached in the store, which every writer invalidates)."""

    def compute() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with store.session() as s:
            for name in CHOICE_FILTERS:
                column = getattr(Result, _FACET_COLUMN.get(name, name))
                visible = (Result.hidden.is_(False), column != "")
                stmt = select(column).where(*visible).distinct().order_by(column)
                out[name] = [v for (v,) in s.execute(stmt)]
        return out

    return store.cached("facets", compute)


def result_logs(store: Store, result_id: int) -> dict[str, str]:
    with store.session() as s:
        row = s.execute(select(Result.summary_text).where(Result.id == result_id)).one_or_none()
    return {"mlperf_log_summary.txt": row[0]} if row and row[0] else {}


def reproduce_command(r: HubResult) -> tuple[str, str]:
    """(command, origin). origin "recorded": the README of a tree the hub's operator imported;
    "claimed": the README of an upload, i.e. the uploader's word, nothing the hub ran or checked;
    "suggested": no command came with the result, this is the command-builder line for its
    model, backend, device, precision and scenario (another stack's backend or precision becomes
    the closest one crowdperf has); ("", "suggested") for a model no installed workload runs (an
    official result of another benchmark has no crowdperf command)."""
    if r.command:
        return r.command, "claimed" if r.source.startswith(UPLOAD_SOURCE_PREFIX) else "recorded"
    allowed = allowed_values()
    if r.model not in allowed["model"]:
        return "", "suggested"
    try:
        choice = RunChoice(
            model=r.model,
            backend=r.backend if r.backend in allowed["backend"] else RunChoice.backend,
            device="cuda" if r.accelerator else "cpu",
            precision=r.precision if r.precision in PRECISIONS else "fp32",
            scenario=r.scenario,
            mode="performance",
            execution_mode="valid",
            division=r.division if r.division in ("open", "closed") else "open",
        )
    except UsageError:
        return "", "suggested"
    return build_commands(choice).run, "suggested"

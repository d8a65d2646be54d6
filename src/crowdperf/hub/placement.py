"""Where one result stands: its rank among the results it may be ranked with, and where it would
sit among the official MLPerf results of its model and scenario (OpenBenchmarking's "this result
is in the Nth percentile"). Part of the query layer, beside ``queries.py``.

    standing = place_result(store, 42)
    standing.crowd.rank, standing.crowd.total, standing.crowd.percentile   # same comparison key
    standing.official.percentile, standing.official.above, .below          # nearest official results

The crowd ranking never crosses comparison keys (comparison.py): a 10-second test run ranks only
among runs with the same LoadGen settings. The official placement does cross them, deliberately
and said so on the page: official results are valid 600-second runs (another key), placed by the
scenario's metric alone for orientation, never ranked together with the result. Official means
imported with ``--source mlcommons`` (``OFFICIAL_SOURCE``, docs/hub.md). Hidden results count for
nobody. Which way is better follows the metric's unit as ``compare`` does: milliseconds
(SingleStream, MultiStream latency) lower, samples/s (Offline, Server) higher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from crowdperf.hub import queries
from crowdperf.hub.models import Result
from crowdperf.hub.prices import PriceTable
from crowdperf.hub.query_types import HubResult, ResultFilter
from crowdperf.hub.store import Store

OFFICIAL_SOURCE = "mlcommons"
NEIGHBOURS = 2  # official results shown on each side of the placed one


@dataclass(frozen=True)
class CrowdRank:
    """Rank among the visible results with the same comparison key (the result included)."""

    rank: int  # 1 = best; ties share the better rank
    total: int
    percentile: float | None  # % of the *other* results it beats; None when it is the only one


@dataclass(frozen=True)
class OfficialPlacement:
    """Where the result would sit among the official results of its model and scenario."""

    model: str
    scenario: str
    total: int  # official results of the model and scenario
    beaten: int  # of them, those the result beats
    above: tuple[HubResult, ...]  # the nearest better ones, nearest first
    below: tuple[HubResult, ...]  # the nearest worse ones, nearest first

    @property
    def percentile(self) -> float | None:
        return 100.0 * self.beaten / self.total if self.total else None


@dataclass(frozen=True)
class Standing:
    result: HubResult
    higher_is_better: bool
    crowd: CrowdRank
    official: OfficialPlacement


def higher_is_better(unit: str) -> bool:
    return unit != "ms"


def place_result(
    store: Store,
    result_id: int,
    *,
    prices: PriceTable | None = None,
    official_source: str = OFFICIAL_SOURCE,
) -> Standing | None:
    """The standing of visible result ``result_id``; None when there is no such result."""
    result = queries.get_result(store, result_id, prices=prices, visible=ResultFilter())
    if result is None:
        return None
    higher = higher_is_better(result.unit)
    same_key = [Result.comparison_key == result.comparison_key, Result.hidden.is_(False)]
    better, worse = _better(result.value, higher), _better(result.value, not higher)
    total = _count(store, same_key)
    ahead = _count(store, [*same_key, better])
    beaten = _count(store, [*same_key, worse])
    crowd = CrowdRank(ahead + 1, total, 100.0 * beaten / (total - 1) if total > 1 else None)
    return Standing(result, higher, crowd, _official(store, result, higher, official_source, prices))


def _better(value: float, higher: bool) -> ColumnElement[bool]:
    """Rows whose value is better than ``value``."""
    return Result.value > value if higher else Result.value < value


def _count(store: Store, where: list[ColumnElement[bool]]) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Result).where(*where)) or 0)


def _official(
    store: Store, result: HubResult, higher: bool, source: str, prices: PriceTable | None
) -> OfficialPlacement:
    where = [
        Result.source == source,
        Result.model == result.model,
        Result.scenario == result.scenario,
        Result.hidden.is_(False),
    ]
    better, worse = _better(result.value, higher), _better(result.value, not higher)
    # nearest first: the smallest margin on each side
    toward_better = Result.value.asc() if higher else Result.value.desc()
    above = _ids(store, [*where, better], toward_better)
    below = _ids(store, [*where, worse], Result.value.desc() if higher else Result.value.asc())
    return OfficialPlacement(
        model=result.model,
        scenario=result.scenario,
        total=_count(store, where),
        beaten=_count(store, [*where, worse]),
        above=_rows(store, above, prices),
        below=_rows(store, below, prices),
    )


def _ids(store: Store, where: list[ColumnElement[bool]], order: Any) -> list[int]:
    stmt = select(Result.id).where(*where).order_by(order, Result.id.asc()).limit(NEIGHBOURS)
    with store.session() as s:
        return list(s.scalars(stmt))


def _rows(store: Store, ids: list[int], prices: PriceTable | None) -> tuple[HubResult, ...]:
    if not ids:
        return ()
    page = queries.list_results(store, ResultFilter(ids=tuple(ids)), limit=None, prices=prices)
    by_id = {r.id: r for r in page.rows}
    return tuple(by_id[i] for i in ids if i in by_id)

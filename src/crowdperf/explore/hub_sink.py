"""Finished points into the hub, and the hub's answer about them.

Every point whose full runs landed becomes an open-division submission tree (``steps``), which
goes into the hub database through the hub's own importer with the exploration's ``source``
(``explore:<id>``). The importer is idempotent (content hash), so a rerun that imports a tree
again adds nothing. ``explore report`` asks the hub's query layer, filtered to that source, for
the front and for the winner under constraints, with ``hub best``'s explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crowdperf.explore.steps import FinalResult, unpack_tree
from crowdperf.hub.importer import ImportReport, import_tree
from crowdperf.hub.prices import PriceTable
from crowdperf.hub.queries import best_configurations, list_results, pareto_front
from crowdperf.hub.query_types import BestAnswer, Constraints, HubResult, ParetoFront, ResultFilter
from crowdperf.hub.store import Store, open_store


class HubSink:
    """The hub database an exploration writes (opened once per session)."""

    def __init__(self, db: str) -> None:
        self.db = db
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db)
        return self._store

    def place(self, result: FinalResult, point_dir: Path) -> Path:
        """The point's submission tree on this machine (unpacked when it came from a worker)."""
        if result.tree_archive is not None:
            return unpack_tree(result.tree_archive, point_dir)
        return Path(result.tree)

    def import_tree(self, tree: Path, source: str) -> ImportReport:
        return import_tree(self.store, tree, source=source)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@dataclass(frozen=True)
class HubReport:
    """What the hub says about one exploration's points."""

    source: str
    results: tuple[HubResult, ...]
    front: ParetoFront
    best: BestAnswer


def front_axes(results: tuple[HubResult, ...], latency: bool) -> tuple[str, ...]:
    """Performance and accuracy, and energy or cost where every result has it (the hub's front
    takes two or three axes; a point without a value on an axis would drop out of it). Energy only
    when one meter measured every result: figures of different meters are not comparable."""
    axes = ["latency" if latency else "throughput", "accuracy"]
    one_meter = len({r.power_meter for r in results}) == 1
    if results and one_meter and all(r.energy_j_per_sample is not None for r in results):
        axes.append("energy")
    elif results and all(r.usd_per_million is not None for r in results):
        axes.append("cost")
    return tuple(axes)


def hub_report(
    store: Store, source: str, constraints: Constraints, prices: PriceTable, *, latency: bool
) -> HubReport:
    """The exploration's rows, the hub's front among them (of the constraints' meter, when one is
    given) and ``hub best``'s answer under the constraints, all priced by ``prices``."""
    flt = ResultFilter(source=source, meter=constraints.meter, include_hidden=True)
    results = list_results(store, flt, sort="id", limit=None, prices=prices).rows
    front = pareto_front(store, flt, front_axes(results, latency), prices=prices)
    best = best_configurations(store, constraints, prices=prices)
    return HubReport(source, results, front, best)

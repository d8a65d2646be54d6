"""The hub's accelerator columns come from the systems JSON's count: a system with 0 accelerators
is a CPU result even when the file also names an accelerator model (older crowdperf trees named
the host's GPU for a CPU run), so it gets no per-accelerator throughput and no cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hub_trees import Entry, write_tree

from crowdperf.hub.importer import import_tree
from crowdperf.hub.queries import list_results
from crowdperf.hub.store import Store


@pytest.mark.parametrize(("count", "accelerator"), [(0, ""), (1, "NVIDIA H200"), (2, "NVIDIA H200")])
def test_accelerator_columns_follow_the_count(
    count: int, accelerator: str, store: Store, lg_logs, tmp_path: Path
) -> None:
    entry = Entry("h", "Offline", lg_logs["Offline"], accelerator="NVIDIA H200", accelerators=count)
    import_tree(store, write_tree(tmp_path / "sub", [entry]))
    (row,) = list_results(store, limit=None).rows
    assert (row.accelerator, row.accelerator_count) == (accelerator, count)
    if count:
        assert row.throughput_per_accelerator == pytest.approx(row.throughput / count)
        assert row.usd_per_million == pytest.approx(84.8 / 8 * count / (row.throughput * 3600) * 1e6)
    else:
        assert row.throughput_per_accelerator is None and row.usd_per_million is None

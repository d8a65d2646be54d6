"""Shared fixtures. Every test gets its own CROWDPERF_CACHE so nothing touches the user's cache."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared from the main checkout; ../../shared from a worktree under /work/wt/<branch>.
SHARED_SQUAD = next(
    (p / "shared" / "data" / "squad" for p in (REPO_ROOT.parent, REPO_ROOT.parent.parent)
     if (p / "shared" / "data" / "squad").is_dir()),
    REPO_ROOT.parent / "shared" / "data" / "squad",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("crowdperf-cache")
    monkeypatch.setenv("CROWDPERF_CACHE", str(cache))
    monkeypatch.delenv("CROWDPERF_HUB_DB", raising=False)
    return cache


@pytest.fixture
def real_squad() -> tuple[Path, Path]:
    """The real SQuAD v1.1 dev set and vocab from ../shared/data/squad; skip when absent."""
    dev, vocab = SHARED_SQUAD / "dev-v1.1.json", SHARED_SQUAD / "vocab.txt"
    if not (dev.is_file() and vocab.is_file()):
        pytest.skip("real SQuAD files not present at ../shared/data/squad")
    return dev, vocab

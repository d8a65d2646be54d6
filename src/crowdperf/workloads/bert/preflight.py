"""What a BERT run checks in the parent process, before any child starts and before any file is
fetched: the cheap preconditions, so a run fails first on its true reason (no GPU, no CUDA build
of the framework, an unsupported precision, a missing file, a full disk), never after minutes of
downloading. The device itself is resolved by the harness first (``mlperf/runs.py``).

    backend     installed, runs the precision on the device, can use the device (Backend.preflight)
    files       each file the run reads is the user's (must exist), cached, or to be fetched; a
                file to fetch without ``--download`` is a MissingInputError naming both flags
    disk        what is to be fetched fits in the cache's file system
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from crowdperf.backends.registry import get_backend
from crowdperf.errors import DownloadError, MissingInputError, UsageError
from crowdperf.settings import ENV_CACHE, Settings
from crowdperf.workloads.bert.assets import (
    Asset,
    asset_cache_path,
    locate_asset,
    not_cached_error,
    official_asset,
    official_model_file,
)

if TYPE_CHECKING:
    from crowdperf.mlperf.spec import RunSpec

# The features cache and a partial file's headroom beside the downloads themselves.
DISK_MARGIN_MB = 256


def check_run(model: str, generated_weights: bool, spec: RunSpec, settings: Settings) -> None:
    """Raise the first precondition ``spec`` fails (cheap: nothing is read, fetched or loaded)."""
    get_backend(spec.backend).preflight(spec.devices.kind, spec.precision)
    to_fetch = [a for a, path in _files(model, generated_weights, spec, settings) if path is None]
    if not to_fetch:
        return
    if not spec.allow_download:
        raise not_cached_error(*to_fetch)
    require_space(to_fetch, settings)


def _files(
    model: str, generated_weights: bool, spec: RunSpec, settings: Settings
) -> list[tuple[Asset, Path | None]]:
    """Each official file the run reads and where it is (None: to be fetched), as the child
    resolves them (workload.py, assets.resolve_squad_files)."""
    paths = spec.paths
    if generated_weights:  # the embedded tiny set unless both files are given; generated weights
        if (paths.dataset is None) != (paths.vocab is None):
            raise UsageError(
                f"--model {model} with real data needs both --dataset-path and --vocab-path",
                hint="pass both, or neither for the embedded tiny set",
            )
        given = (
            ("--dataset-path", paths.dataset),
            ("--vocab-path", paths.vocab),
            ("--model-path", paths.model),
        )
        for flag, path in given:
            if path is not None and not path.is_file():
                raise MissingInputError(f"{flag} {path}: no such file", hint="pass an existing file")
        return []  # nothing official is read, nothing is fetched
    weights = official_model_file(model, spec.backend, spec.precision)
    found: list[tuple[Asset, Path | None]] = []
    for name, path in (("dev-v1.1.json", paths.dataset), ("vocab.txt", paths.vocab), (weights, paths.model)):
        asset = official_asset(name)
        found.append((asset, locate_asset(asset, path, settings)))
    return found


def require_space(assets: list[Asset], settings: Settings) -> None:
    needed_mb = sum(a.approx_mb for a in assets) + DISK_MARGIN_MB
    dest = asset_cache_path(assets[0], settings)
    existing = next((p for p in (dest, *dest.parents) if p.exists()), Path("/"))
    free_mb = shutil.disk_usage(existing).free // 2**20
    if free_mb < needed_mb:
        names = ", ".join(a.name for a in assets)
        raise DownloadError(
            f"fetching {names} needs about {needed_mb:,} MB in {existing}; {free_mb:,} MB are free",
            hint=f"free some space, or point {ENV_CACHE} at a larger disk",
        )

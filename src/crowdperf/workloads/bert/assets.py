"""The official MLPerf BERT files (URL + MD5) and how a run finds each one.

Table: ../shared/MLPERF.md "Official assets" (from mlcommons/inference language/bert/README.md).
``resolve_asset`` order: a local path the user gave (must exist; its MD5 is recorded and compared
with the official one) -> the cache (MD5 re-checked when the file changed since it was verified)
-> a download, only when the caller asks for one (``crowdperf run --download``). ``locate_asset``
says which of these it will be without reading or fetching anything: the run's preflight uses it
to refuse a missing file (or a full disk) before any child starts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from crowdperf.atomic import atomic_write_json
from crowdperf.download import download as fetch
from crowdperf.errors import ChecksumError, MissingInputError, UsageError
from crowdperf.hashing import file_md5
from crowdperf.precision import Precision
from crowdperf.settings import Settings


class AssetKind(StrEnum):
    MODEL = "model"
    VOCAB = "vocab"
    DATASET = "dataset"


@dataclass(frozen=True)
class Asset:
    name: str
    url: str
    md5: str
    kind: AssetKind
    description: str
    approx_mb: int  # what a download brings (the disk space a run checks for before fetching)

    @property
    def flag(self) -> str:
        """The option that gives a local copy of this file."""
        return {"model": "--model-path", "vocab": "--vocab-path", "dataset": "--dataset-path"}[self.kind]


OFFICIAL_ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "model.onnx",
            "https://zenodo.org/record/3733910/files/model.onnx",
            "819b25b19cd8e59080c10892689750ca",
            AssetKind.MODEL,
            "BERT-large SQuAD v1.1, ONNX fp32",
            1340,  # 335 M fp32 parameters
        ),
        Asset(
            "bert_large_v1_1_fake_quant.onnx",
            "https://zenodo.org/record/3750364/files/bert_large_v1_1_fake_quant.onnx",
            "45f88ffb2915362242703c85c38ec2d4",
            AssetKind.MODEL,
            "BERT-large SQuAD v1.1, ONNX int8 (fake-quantized)",
            1340,  # fake quantization keeps fp32 weights beside the Q/DQ nodes
        ),
        Asset(
            "model.pytorch",
            "https://zenodo.org/record/3733896/files/model.pytorch",
            "00fbcbfaebfa20d87ac9885120a6e9b4",
            AssetKind.MODEL,
            "BERT-large SQuAD v1.1, PyTorch fp32 state dict",
            1340,
        ),
        Asset(
            "vocab.txt",
            "https://zenodo.org/record/3733868/files/vocab.txt",
            "64800d5d8528ce344256daf115d4965e",
            AssetKind.VOCAB,
            "uncased WordPiece vocab (30,522 tokens)",
            1,
        ),
        Asset(
            "dev-v1.1.json",
            "https://raw.githubusercontent.com/rajpurkar/SQuAD-explorer/master/dataset/dev-v1.1.json",
            "3e85deb501d4e538b6bc56f786231552",
            AssetKind.DATASET,
            "SQuAD v1.1 dev set (10,570 questions)",
            5,
        ),
    )
}


# The official model file each backend reads (MLPerf's reference: language/bert/*_SUT.py).
OFFICIAL_MODEL_FILE = {"onnxruntime": "model.onnx", "pytorch": "model.pytorch"}
OFFICIAL_INT8_FILE = {"onnxruntime": "bert_large_v1_1_fake_quant.onnx"}


def official_model_file(model: str, backend: str, precision: Precision) -> str:
    """The official file ``model`` runs on ``backend`` at ``precision`` (MLPerf's reference SUTs)."""
    table = OFFICIAL_INT8_FILE if precision is Precision.INT8 else OFFICIAL_MODEL_FILE
    name = table.get(backend)
    if name is None:
        raise UsageError(
            f"no official {model} model file for backend {backend!r} at precision {precision.value}",
            hint=f"use --backend {' or '.join(table)}",
        )
    return name


class AssetSource(StrEnum):
    LOCAL = "local"  # the user's path
    CACHE = "cache"
    DOWNLOAD = "download"
    GENERATED = "generated"  # the embedded tiny set


@dataclass(frozen=True)
class ResolvedAsset:
    """Where an asset is and what it is, for the run's provenance."""

    name: str
    path: Path
    md5: str
    source: AssetSource
    official: bool  # its MD5 equals the official file's


def asset_cache_path(asset: Asset, settings: Settings) -> Path:
    base = settings.models_dir if asset.kind is AssetKind.MODEL else settings.datasets_dir
    return base / "bert-official" / asset.name


def official_asset(name: str, assets: dict[str, Asset] = OFFICIAL_ASSETS) -> Asset:
    asset = assets.get(name)
    if asset is None:
        raise UsageError(f"unknown asset {name!r}", hint=f"one of: {', '.join(assets)}")
    return asset


def locate_asset(asset: Asset, local_path: Path | None, settings: Settings) -> Path | None:
    """Where a run will read ``asset`` from (the user's file, or the cache), or None when it must
    be fetched; reads nothing. A user's path that is not a file is a MissingInputError."""
    if local_path is not None:
        if not local_path.is_file():
            raise MissingInputError(
                f"{asset.flag} {local_path}: no such file", hint=f"pass an existing {asset.name}"
            )
        return local_path
    cached = asset_cache_path(asset, settings)
    return cached if cached.is_file() else None


def not_cached_error(*assets: Asset) -> MissingInputError:
    """A run needs ``assets``, which are neither given nor cached, and may not fetch them."""
    what = "; ".join(f"{a.name} ({a.description})" for a in assets)
    hosts = ", ".join(dict.fromkeys(a.url.split("/")[2] for a in assets))
    flags = " / ".join(dict.fromkeys(a.flag for a in assets))
    return MissingInputError(
        f"not in the cache: {what}",
        hint=f"pass --download to fetch {'them' if len(assets) > 1 else 'it'} "
        f"(about {sum(a.approx_mb for a in assets):,} MB from {hosts}), or {flags} with local copies",
    )


def resolve_asset(
    name: str,
    local_path: Path | None,
    settings: Settings,
    download: bool,
    *,
    assets: dict[str, Asset] = OFFICIAL_ASSETS,
    show_progress: bool = True,
) -> ResolvedAsset:
    """Find ``name``: the user's file, else the cache, else (when ``download``) fetch it."""
    asset = official_asset(name, assets)
    if local_path is not None:
        locate_asset(asset, local_path, settings)
        md5 = recorded_md5(local_path, settings)
        return ResolvedAsset(name, local_path, md5, AssetSource.LOCAL, md5 == asset.md5)
    cached = asset_cache_path(asset, settings)
    if cached.is_file():
        md5 = recorded_md5(cached, settings)
        if md5 == asset.md5:
            return ResolvedAsset(name, cached, md5, AssetSource.CACHE, True)
        cached.unlink()  # a cached official file must be the official bytes; never use it stale
        if not download:
            raise ChecksumError(
                f"cached {name} had MD5 {md5}, expected {asset.md5}; removed it",
                hint=f"run again with --download to fetch it again, or pass {asset.flag}",
            )
    if not download:
        raise not_cached_error(asset)
    result = fetch(asset.url, cached, asset.md5, show_progress=show_progress)
    _record_md5(cached, result.md5, settings)
    return ResolvedAsset(name, cached, result.md5, AssetSource.DOWNLOAD, True)


@dataclass(frozen=True)
class SquadFiles:
    dataset: ResolvedAsset
    vocab: ResolvedAsset


def resolve_squad_files(
    model: str,
    dataset_path: Path | None,
    vocab_path: Path | None,
    settings: Settings,
    download: bool,
    *,
    embedded: bool,
    show_progress: bool = True,
) -> SquadFiles:
    """The dataset and vocab a run of ``model`` uses. ``embedded`` (a model of generated weights:
    tiny, bert-large): the generated tiny set unless both paths are given; otherwise the official
    dev-v1.1.json / vocab.txt (given paths, cache, or download)."""
    if embedded and dataset_path is None and vocab_path is None:
        from crowdperf.workloads.bert.tiny_data import ensure_tiny_data

        tiny = ensure_tiny_data(settings)
        return SquadFiles(
            ResolvedAsset("dev-v1.1.json", tiny.dataset_path, recorded_md5(tiny.dataset_path, settings),
                          AssetSource.GENERATED, False),
            ResolvedAsset("vocab.txt", tiny.vocab_path, recorded_md5(tiny.vocab_path, settings),
                          AssetSource.GENERATED, False),
        )  # fmt: skip
    if embedded and (dataset_path is None or vocab_path is None):
        raise UsageError(
            f"--model {model} with real data needs both --dataset-path and --vocab-path",
            hint="pass both, or neither for the embedded tiny set",
        )
    return SquadFiles(
        resolve_asset("dev-v1.1.json", dataset_path, settings, download, show_progress=show_progress),
        resolve_asset("vocab.txt", vocab_path, settings, download, show_progress=show_progress),
    )


def _record_path(path: Path, settings: Settings) -> Path:
    """Where the MD5 of ``path`` is remembered: in the cache, never next to the user's file."""
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return settings.cache_dir / "checksums" / f"{key}.json"


def _record_md5(path: Path, md5: str, settings: Settings) -> None:
    stat, record = path.stat(), _record_path(path, settings)
    try:
        info = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "md5": md5}
        atomic_write_json(record, info, indent=None)
    except OSError:  # an unwritable cache only costs recomputing the sum next time
        pass


def recorded_md5(path: Path, settings: Settings) -> str:
    """MD5 of ``path``; reuses a recorded sum while size and mtime are unchanged (models are GBs)."""
    stat = path.stat()
    try:
        rec = json.loads(_record_path(path, settings).read_text())
        if rec["size"] == stat.st_size and rec["mtime_ns"] == stat.st_mtime_ns:
            return str(rec["md5"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    md5 = file_md5(path)
    _record_md5(path, md5, settings)
    return md5

"""On-disk cache of built SQuAD features under ``Settings.features_dir``.

Keyed by sha256 of the dataset file, of the vocab file, the feature parameters and a format
version, so a changed input never reuses stale features. Written to a temporary name and renamed;
a cache file that cannot be read back whole is deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from crowdperf.atomic import atomic_path
from crowdperf.hashing import file_sha256
from crowdperf.workloads.bert.squad import FeatureParams, RawFeatures

# Bump when the feature arrays or their meaning change.
FEATURE_FORMAT_VERSION = 1


def cache_key(dataset_path: Path, vocab_path: Path, params: FeatureParams) -> str:
    parts = [
        f"v{FEATURE_FORMAT_VERSION}",
        file_sha256(dataset_path),
        file_sha256(vocab_path),
        ",".join(f"{k}={v}" for k, v in sorted(asdict(params).items())),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def cache_path(features_dir: Path, key: str) -> Path:
    return features_dir / f"squad-features-{key[:24]}.npz"


def load_cached(path: Path, params: FeatureParams) -> RawFeatures | None:
    """The cached features, or None when absent or unreadable (an unreadable file is removed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            raw = RawFeatures(**{f.name: npz[f.name] for f in fields(RawFeatures)})
        n = len(raw.lengths)
        if raw.input_ids.shape != (n, params.max_seq_length) or raw.token_to_orig.shape != (
            n,
            params.max_seq_length,
        ):
            raise ValueError("shape mismatch")
        return raw
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None


def save_cached(path: Path, raw: RawFeatures) -> None:
    """Atomic write: a temporary file in the same directory, then rename."""
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, **{f.name: getattr(raw, f.name) for f in fields(RawFeatures)})

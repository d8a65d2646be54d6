"""Fixtures for submission tests: real LoadGen results trees and MLPerf's checker from the mirror."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lgtrees import build_results

MIRROR = Path("/work/.mirror/mlcommons+inference/repo")
CHECKER_PATHS = ("tools/submission", "compliance/TEST01")


def extract_inference_copy(ref: str, dest: Path) -> Path:
    """Write tools/submission and compliance/TEST01 of ``ref`` from the bare mirror into ``dest``
    (file by file: ``git archive`` of the snapshot fails on objects outside these folders)."""
    names = subprocess.run(
        ["git", "-C", str(MIRROR), "ls-tree", "-r", "--name-only", ref, *CHECKER_PATHS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        if "directory_structure_samples" in name or "/tests/" in name:
            continue
        out = dest / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(
            subprocess.run(
                ["git", "-C", str(MIRROR), "show", f"{ref}:{name}"], capture_output=True, check=True
            ).stdout
        )
    return dest


@pytest.fixture(scope="session")
def official_checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MLPerf's checker of the v6.x rounds (master of the mirror); skip when the mirror is absent."""
    if not (MIRROR / "HEAD").exists():
        pytest.skip("mlcommons/inference mirror not present")
    return extract_inference_copy("HEAD", tmp_path_factory.mktemp("inference-master"))


@pytest.fixture(scope="session")
def results_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bert-99 Offline + SingleStream (with TEST01) and tiny Offline, test-mode settings; built once."""
    root = tmp_path_factory.mktemp("results")
    build_results(root, scenario="Offline", f1=90.5)
    build_results(root, scenario="SingleStream", f1=90.5)
    return root


@pytest.fixture
def results_dir(results_corpus: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(results_corpus, dest)
    return dest


@pytest.fixture(scope="session")
def official_checker_v51(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The single-file checker of tag v5.1.1 (v5.x layout); skip when the mirror is absent."""
    if not (MIRROR / "HEAD").exists():
        pytest.skip("mlcommons/inference mirror not present")
    return extract_inference_copy("v5.1.1", tmp_path_factory.mktemp("inference-v5.1.1"))

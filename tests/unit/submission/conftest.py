"""Fixtures for submission tests: real LoadGen results trees and MLPerf's checker from the mirror."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lgtrees import MIRROR, build_results, extract_inference_copy


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

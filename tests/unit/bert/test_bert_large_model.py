"""``--model bert-large``: generated weights of BERT-Large's shapes, named truly from the run to the hub.

The registered definition generates 1.3 GB once; these tests register the same workload with a
small config (``SMALL``) so CI never makes the real one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crowdperf.cli.main import app
from crowdperf.errors import UsageError
from crowdperf.hub.importer import import_tree
from crowdperf.hub.queries import list_results
from crowdperf.hub.store import open_store
from crowdperf.mlperf.rounds import ROUNDS, Category, Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.workload import register_workload, unregister_workload, workload_rules
from crowdperf.submission.generate import GenerateOptions, generate_submission
from crowdperf.workloads.bert.definitions import BERT_LARGE_WEIGHTS, BertDefinition, bert_large
from crowdperf.workloads.bert.model_config import BertModelConfig, GeneratedWeights
from crowdperf.workloads.bert.rules import RULES

# BERT-Large's vocabulary (30,522 rows: the official vocab fits) at a size CI runs in seconds
SMALL = BertDefinition(
    "bert-large", RULES["bert-large"], GeneratedWeights(BertModelConfig(30522, 32, 1, 2, 64), seed=0)
)


def test_bert_large_is_bert_larges_shapes_and_an_open_stand_in_for_bert_99() -> None:
    cfg = BERT_LARGE_WEIGHTS.config
    assert (cfg.vocab_size, cfg.hidden, cfg.layers, cfg.heads, cfg.intermediate) == (
        30522,
        1024,
        24,
        16,
        4096,
    )
    assert bert_large.weights is BERT_LARGE_WEIGHTS and not bert_large.rules.mlperf_model
    assert workload_rules("bert-large").benchmark.name == "bert-99"


def test_generated_weights_are_made_once_and_named_for_the_model(tmp_path: Path) -> None:
    spec = RunSpec("bert-large", Scenario.OFFLINE, Mode.ACCURACY, results_dir=tmp_path)
    opened = SMALL.open(spec)  # the embedded tiny SQuAD set by default
    try:
        name = next(n for n in opened.asset_checksums if n.startswith("bert-large-"))
        assert name.endswith(".onnx") and "v30522-h32-l1" in name
    finally:
        opened.close()
    generated = next(Path(os.environ["CROWDPERF_CACHE"]).rglob("bert-qa-v30522-h32-l1*.onnx"))
    mtime = generated.stat().st_mtime_ns
    SMALL.open(spec).close()
    assert generated.stat().st_mtime_ns == mtime  # cached: not generated again


def test_a_vocab_larger_than_the_embedding_is_refused() -> None:
    with pytest.raises(UsageError, match="embed 30522"):
        BERT_LARGE_WEIGHTS.config_for_vocab(40_000)


@pytest.fixture
def small_bert_large(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``bert-large`` served by SMALL, here and in the child process of each test."""
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    register_workload("bert-large", f"{__name__}:SMALL")
    yield
    unregister_workload("bert-large")


def test_results_trees_and_the_hub_carry_the_name(small_bert_large: None, tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = ["run", "--model", "bert-large", "--scenario", "Offline", "--count", "8"]
    out = CliRunner().invoke(app, [*args, "--results-dir", str(results), "--json"])
    assert out.exit_code == 0, out.output
    assert {r["model"] for r in json.loads(out.stdout)["results"]} == {"bert-large"}
    (scenario_dir,) = results.glob("*/bert-large/Offline")
    prov = json.loads((scenario_dir / "performance" / "run_1" / "provenance.json").read_text())
    assert prov["model"] == "bert-large" and any(k.startswith("bert-large-") for k in prov["asset_checksums"])

    sub = tmp_path / "sub"
    opts = GenerateOptions(results, sub, "ORG", "closed", Category.EDGE, ROUNDS["v6.1"])
    assert {r.division for r in generate_submission(opts).results} == {"open"}
    assert json.loads((sub / "open" / "ORG" / "model_mapping.json").read_text()) == {"bert-large": "bert-99"}
    assert list((sub / "open" / "ORG" / "results").glob("*/bert-large/Offline/performance/run_1"))

    store = open_store(tmp_path / "hub.sqlite")
    try:
        assert import_tree(store, sub).imported == 1
        assert [r.model for r in list_results(store, limit=None).rows] == ["bert-large"]
    finally:
        store.close()

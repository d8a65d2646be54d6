from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from crowdperf.cli.main import app

runner = CliRunner()


def test_default_is_the_tiny_set_and_json_has_the_contract_keys():
    result = runner.invoke(app, ["dataset", "squad", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"examples", "features", "mean_tokens", "median_tokens", "p90_tokens", "max_tokens"} <= set(data)
    assert data["schema"] == "crowdperf.dataset.squad/1" and data["features"] > data["examples"] > 100
    assert 0 < data["padding_fraction"] < 1


def test_real_files_json_then_table_from_the_cache(real_squad):
    dev, vocab = real_squad
    args = ["dataset", "squad", "--dataset-path", str(dev), "--vocab-path", str(vocab)]
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert (data["examples"], data["features"], data["max_tokens"]) == (10_570, 10_833, 384)
    assert (data["median_tokens"], data["p90_tokens"], data["cache_hit"]) == (164, 272, False)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "10,570" in result.stdout and "10,833" in result.stdout and "178.5" in result.stdout
    assert "hit" in result.stdout


def test_missing_file_is_one_clear_error(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    cmd = [sys.executable, "-m", "crowdperf", "dataset", "squad", "--dataset-path", str(tmp_path / "x.json")]
    out = subprocess.run([*cmd, "--vocab-path", str(vocab)], capture_output=True, text=True)
    assert out.returncode == 3 and "file not found" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 2 and "go together" in out.stderr


def test_squad_accuracy_scores_a_log_of_the_tiny_set(tmp_path):
    import numpy as np

    from crowdperf.settings import load_settings
    from crowdperf.workloads.bert.dataset import load_features
    from crowdperf.workloads.bert.tiny_data import ensure_tiny_data

    settings = load_settings()
    data = ensure_tiny_data(settings)
    feats = load_features(data.dataset_path, data.vocab_path, settings)
    entries = []
    for r in range(feats.count):
        lg = np.zeros((384, 2), dtype=np.float16)
        if feats.raw.start_positions[r] > 0:
            lg[feats.raw.start_positions[r], 0] = lg[feats.raw.end_positions[r], 1] = 10
        entries.append({"seq_id": r, "qsl_idx": r, "data": lg.tobytes().hex()})
    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text(json.dumps(entries))
    result = runner.invoke(app, ["dataset", "squad-accuracy", str(log), "--dtype", "float16", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "crowdperf.dataset.accuracy/1"
    assert data["f1"] == 100.0 and data["target_f1"] is None and data["passed"] is None
    assert (tmp_path / "accuracy.txt").read_text().startswith('{"exact_match": 100.0, "f1": 100.0}')
    table = runner.invoke(
        app, ["dataset", "squad-accuracy", str(log), "--dtype", "float16", "--model", "bert-99"]
    )
    assert "f1 100  " in table.stdout and "PASS" in table.stdout

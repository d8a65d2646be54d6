"""One GPU against every GPU of the host, through ``crowdperf run`` itself (the real LoadGen, the
real SUT, one backend per device), same code, same model, same data, same run of this script.

For each device selection (``cuda:0`` first: the baseline, then ``cuda``: every visible GPU):
    Offline       test-mode performance run: samples/s
    Server        find-performance (the highest QPS meeting the 130 ms p99), then a test-mode
                  performance run at that target: completed samples/s and validity
    SingleStream  test-mode performance run: p90 latency (early stopping)
and prints each against the baseline. Each selection gets its own crowdperf cache (targets are
stored per system), sharing the generated weights and the feature cache.

    python bench/multi_gpu.py --dataset-path dev-v1.1.json --vocab-path vocab.txt \\
        [--model bert-large] [--model-path FILE] [--precision fp16] [--offline-batch N] \\
        [--server-batch N] [--scenarios Offline,Server,SingleStream] [--devices cuda:0,cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crowdperf.settings import load_settings
from crowdperf.workloads.bert.dataset import load_features


def crowdperf_run(args: list[str], cache: Path, results: Path) -> dict:
    """One ``crowdperf run ... --json`` in a child process; its one result."""
    env = {**os.environ, "CROWDPERF_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "crowdperf", "run", *args, "--results-dir", str(results), "--json"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout)["results"][-1]
    result["seconds"] = time.perf_counter() - t0
    return result


def shared_cache(root: Path, name: str, models: Path, features: Path) -> Path:
    cache = root / name
    cache.mkdir(parents=True, exist_ok=True)
    for link, target in (("models", models), ("features", features)):
        if not (cache / link).exists():
            (cache / link).symlink_to(target)
    return cache


def measure(
    device: str, common: list[str], cache: Path, results: Path, scenarios: list[str], a: argparse.Namespace
) -> dict:
    got: dict[str, tuple[float, str]] = {}
    base = [*common, "--device", device, "--execution-mode", "test"]
    if "Offline" in scenarios:
        r = crowdperf_run(
            [*base, "--scenario", "Offline", "--mode", "performance", *_batch(a.offline_batch)],
            cache,
            results,
        )
        got["Offline samples/s"] = (r["metric"]["value"], _validity(r))
    if "Server" in scenarios:
        server = [*base, "--scenario", "Server", *_batch(a.server_batch)]
        found = crowdperf_run([*server, "--mode", "find-performance"], cache, results)
        got["Server QPS found"] = (found["metric"]["value"], "")
        r = crowdperf_run([*server, "--mode", "performance"], cache, results)
        got["Server completed/s"] = (r["metric"]["value"], _validity(r))
    if "SingleStream" in scenarios:
        r = crowdperf_run([*base, "--scenario", "SingleStream", "--mode", "performance"], cache, results)
        got["SingleStream p90 ms"] = (r["metric"]["value"], _validity(r))
    return got


def _batch(size: int | None) -> list[str]:
    """``--batch-size`` where given; none: the workload's default for the device."""
    return [] if size is None else ["--batch-size", str(size)]


def _validity(r: dict) -> str:
    power = r.get("power") or {}
    watts = (
        f", {power['mean_w']:,.0f} W {power['joules_per_sample']:.3g} J/sample ({power['meter']})"
        if power.get("mean_w") is not None and power.get("joules_per_sample") is not None
        else ""
    )
    return ("VALID" if r["valid"] else f"INVALID ({r.get('invalid_reason')})") + watts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", type=Path, required=True)
    ap.add_argument("--vocab-path", type=Path, required=True)
    ap.add_argument(
        "--model-path",
        type=Path,
        help="weights (.npz or model.pytorch); default: the model's own",
    )
    ap.add_argument(
        "--model", default="bert-large", help="the workload (bert-large: BERT-Large-shaped generated weights)"
    )
    ap.add_argument("--precision", default="fp16")
    ap.add_argument("--offline-batch", type=int, help="default: the workload's for the device")
    ap.add_argument("--server-batch", type=int, help="default: the workload's for the device")
    ap.add_argument("--scenarios", default="Offline,Server,SingleStream")
    ap.add_argument(
        "--devices", default="cuda:0,cuda", help="selections to compare; the first is the baseline"
    )
    a = ap.parse_args()
    settings = load_settings()
    load_features(a.dataset_path, a.vocab_path, settings)  # fills the feature cache once
    settings.models_dir.mkdir(parents=True, exist_ok=True)  # shared: the first run generates weights
    common = [
        "--model", a.model, "--backend", "pytorch", "--precision", a.precision,
        "--dataset-path", str(a.dataset_path), "--vocab-path", str(a.vocab_path),
    ]  # fmt: skip
    if a.model_path:
        common += ["--model-path", str(a.model_path)]
    scenarios = a.scenarios.split(",")
    root = Path(tempfile.mkdtemp(prefix="crowdperf-multigpu-"))
    table: dict[str, dict] = {}
    for device in a.devices.split(","):
        cache = shared_cache(root, device.replace(":", "_"), settings.models_dir, settings.features_dir)
        table[device] = measure(
            device, common, cache, root / "results" / device.replace(":", "_"), scenarios, a
        )
        print(f"{device}: {table[device]}", flush=True)
    base = table[a.devices.split(",")[0]]
    print(f"\n{'metric':<22}" + "".join(f"{d:>24}" for d in table) + "   ratio")
    for metric, (b, _) in base.items():
        row = "".join(f"{table[d][metric][0]:>14,.2f} {table[d][metric][1][:5]:>9}" for d in table)
        last = table[list(table)[-1]][metric][0]
        print(f"{metric:<22}{row}   {last / b:5.2f}x")


if __name__ == "__main__":
    main()

"""What power sampling costs the benchmark: the tiny CPU model through the real LoadGen (Offline),
with and without the sampler thread, alternating in one process (ABBA pairs cancel drift), and
the sampler's own CPU per tick. Goal: < 1 % throughput loss.

Two ratios per pair: samples/s (what the goal is about; on a shared machine other jobs move it by
tens of percent) and the process's CPU seconds per sample (all threads: what the sampler adds
shows up there whoever else runs). Medians over the pairs.

    .venv/bin/python bench/power_overhead.py [--pairs 4] [--seconds 3] [--hz 20] [--workload tiny|noop]
        [--nvml-tick]      # also time one NVML tick (every visible GPU's power and energy counter)

The meter is RAPL from /sys/class/powercap when it is readable; else (this 2-core machine has no
powercap) the same RAPL code on a fake zone tree in a temporary directory: the thread, the
wake-ups and the file reads are the real ones, only the kernel's counter behind the file is not.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from crowdperf.meters.base import MeterRole, OpenMeter
from crowdperf.meters.rapl import RaplMeter
from crowdperf.meters.sampler import PowerSampler
from crowdperf.mlperf.rounds import Scenario
from crowdperf.mlperf.spec import Mode, RunSpec
from crowdperf.mlperf.sut import default_batch_size
from crowdperf.mlperf.workload import get_workload
from crowdperf.settings import load_settings
from crowdperf.system.devices import DeviceKind, UsedDevice
from lg_bench import run_test

WORKLOADS = {"tiny": "tiny", "noop": "crowdperf.mlperf.synthetic_workload:noop_workload"}
CPU = (UsedDevice(DeviceKind.CPU, None, "cpu"),)


def rapl_meter(work: Path) -> tuple[RaplMeter, str]:
    """The host's RAPL when readable, else the same meter on a fake two-zone tree."""
    real = RaplMeter(load_settings().powercap_dir)
    opened = real.open(CPU, MeterRole.DEVICES)
    if isinstance(opened, OpenMeter):
        opened.close()
        return real, f"RAPL at {real.root}"
    root = work / "powercap"
    for zone, name in (("0", "package-0"), ("0:2", "dram")):
        path = root / f"intel-rapl:{zone}"
        path.mkdir(parents=True)
        (path / "name").write_text(f"{name}\n")
        (path / "energy_uj").write_text("123456789\n")
        (path / "max_energy_range_uj").write_text("262143328850\n")
    return RaplMeter(root), f"RAPL code on a fake tree ({opened.reason})"  # type: ignore[union-attr]


def open_source(workload: str):  # -> SampleSource of the opened workload, warmed up
    if workload == "noop":
        from crowdperf.mlperf.synthetic_workload import noop_workload

        return noop_workload.open(RunSpec("noop", Scenario.OFFLINE, Mode.PERFORMANCE)).source
    spec = RunSpec("tiny", Scenario.OFFLINE, Mode.PERFORMANCE)
    opened = get_workload("tiny").open(spec)
    opened.warmup(default_batch_size(Scenario.OFFLINE, None, opened.source))
    return opened.source


def offline_rate(
    source, out: Path, seconds: float, qps: float, meter: RaplMeter | None, hz: float
) -> tuple[float, float]:
    """(samples/s, process CPU seconds per sample) of one Offline run."""
    batch = default_batch_size(Scenario.OFFLINE, None, source)
    cpu = time.process_time()
    with PowerSampler([meter.open(CPU, MeterRole.DEVICES)] if meter else [], hz=hz):  # [] starts no thread
        log = run_test(Scenario.OFFLINE, source, out, batch=batch, seconds=seconds, offline_expected_qps=qps)
    cpu = time.process_time() - cpu
    samples = int(log["result_query_count"]) * int(log["generated_samples_per_query"])
    return float(log["result_samples_per_second"]), cpu / samples


def tick_cost_us(meter: RaplMeter, ticks: int = 2000) -> float:
    """CPU time of one sampler tick (every channel read), measured on the calling thread."""
    opened = meter.open(CPU, MeterRole.DEVICES)
    assert isinstance(opened, OpenMeter)
    start = time.thread_time()
    for _ in range(ticks):
        opened.read()
    return (time.thread_time() - start) / ticks * 1e6


def nvml_tick_cost_us(ticks: int = 2000) -> tuple[float, int] | str:
    """CPU time of one NVML meter tick over every visible GPU, or why it cannot be timed here."""
    from crowdperf.meters.nvml_meter import NvmlMeter
    from crowdperf.system import accelerators
    from crowdperf.system.devices import DeviceSelection

    try:
        gpus = accelerators.resolve(DeviceSelection.parse("cuda"))
    except Exception as exc:
        return f"no GPU: {exc}"
    opened = NvmlMeter().open(gpus, MeterRole.DEVICES)
    if not isinstance(opened, OpenMeter):
        return f"NVML unavailable: {opened.reason}"
    start = time.thread_time()
    for _ in range(ticks):
        opened.read()
    cost = (time.thread_time() - start) / ticks * 1e6
    opened.close()
    return cost, len(gpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=4, help="ABBA: each pair runs both variants")
    ap.add_argument("--seconds", type=float, default=3.0, help="LoadGen min_duration of each run")
    ap.add_argument("--hz", type=float, default=20.0, help="sampling rate (the harness uses 20)")
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="tiny")
    ap.add_argument("--nvml-tick", action="store_true", help="also time one NVML tick (GPU hosts)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crowdperf-power-bench-"))
    meter, what = rapl_meter(work)
    source = open_source(args.workload)
    qps, _ = offline_rate(source, work / "probe", 0.5, 100.0, None, args.hz)  # sizes the one query
    batch = default_batch_size(Scenario.OFFLINE, None, source)
    print(f"{args.workload} Offline, batch {batch}, {args.seconds:g} s runs; meter: {what}; {args.hz:g} Hz")
    ratios, cpu_ratios = [], []
    for pair in range(args.pairs):
        order = (None, meter) if pair % 2 == 0 else (meter, None)
        rate, cpu = {}, {}
        for i, m in enumerate(order):
            on = m is not None
            rate[on], cpu[on] = offline_rate(source, work / f"p{pair}-{i}", args.seconds, qps, m, args.hz)
        ratios.append(rate[True] / rate[False])
        cpu_ratios.append(cpu[True] / cpu[False])
        print(f"pair {pair + 1}: without {rate[False]:,.1f} samples/s, with {rate[True]:,.1f}: "
              f"ratio {ratios[-1]:.4f}; CPU per sample with/without {cpu_ratios[-1]:.4f}")  # fmt: skip
    median = statistics.median(ratios)
    print(f"median ratio with/without sampling: {median:.4f} ({(1 - median) * 100:+.2f} % throughput loss; "
          f"pairs {min(ratios):.3f}..{max(ratios):.3f})")  # fmt: skip
    print(f"median CPU per sample with/without: {statistics.median(cpu_ratios):.4f}")
    cost = tick_cost_us(meter)
    print(f"sampler CPU: {cost:.1f} us per tick x {args.hz:g} Hz = {cost * args.hz / 1e4:.4f} % of one core")
    if args.nvml_tick:
        nvml = nvml_tick_cost_us()
        if isinstance(nvml, str):
            print(f"NVML tick: {nvml}")
        else:
            us, n = nvml
            share = us * args.hz / 1e4
            print(f"NVML tick ({n} GPU(s)): {us:.1f} us of CPU x {args.hz:g} Hz = {share:.4f} % of one core")
    print(f"goal < 1 % loss: {'met' if median > 0.99 else 'NOT met (see the per-pair spread: noise?)'}")


if __name__ == "__main__":
    main()

"""MLPerf Inference rounds as named objects: seeds, submission layout, LoadGen version.

Only what belongs to a round itself lives here; what a round asks of one benchmark (required
scenarios, accuracy targets, dataset size, latency bound) is the workload's (workload_rules.py,
values in workloads/<name>/rules.py). Sources (read, not copied): mlcommons/inference
``loadgen/mlperf.conf`` at each tag (seeds, durations) and
``tools/submission/submission_checker/constants.py`` on master (``MODEL_CONFIG[<round>]["seeds"]``,
path layout per round).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crowdperf.errors import UsageError


class Scenario(StrEnum):
    SINGLE_STREAM = "SingleStream"
    MULTI_STREAM = "MultiStream"
    SERVER = "Server"
    OFFLINE = "Offline"


class Category(StrEnum):
    EDGE = "edge"
    DATACENTER = "datacenter"


class Layout(StrEnum):
    """Submission tree layout. V5: separate measurements/ and compliance/ trees (checker v5.0/v5.1).
    V6: measurements.json, user.conf, README.md and TEST01/ inside results/<sys>/<model>/<scenario>/,
    code under src/ (checker constants for v6.0/v6.1)."""

    V5 = "v5"
    V6 = "v6"


@dataclass(frozen=True)
class Seeds:
    qsl_rng_seed: int
    sample_index_rng_seed: int
    schedule_rng_seed: int


# mlperf.conf: *.*.min_duration = 600000 for every scenario.
MIN_DURATION_MS = 600_000
# Early stopping at the 90th percentile needs at least 64 queries (inference_rules.adoc appendix).
SINGLE_STREAM_MIN_QUERIES = 64


@dataclass(frozen=True)
class Round:
    name: str
    seeds: Seeds
    layout: Layout
    loadgen_version_prefix: str
    compliance_tests: tuple[str, ...] = ("TEST01",)


ROUNDS: dict[str, Round] = {
    r.name: r
    for r in (
        Round(
            "v4.1",
            Seeds(3066443479025735752, 10688027786191513374, 14962580496156340209),
            Layout.V5,
            "4.1.",
            ("TEST01", "TEST05"),
        ),
        Round(
            "v5.0",
            Seeds(6023615788873153749, 15036839855038426416, 9933818062894767841),
            Layout.V5,
            "5.0.",
        ),
        Round(
            "v5.1",
            Seeds(1780908523862526354, 14771362308971278857, 18209322760996052031),
            Layout.V5,
            "5.1.",
        ),
        Round(
            "v6.0",
            Seeds(2465351861681999779, 14276810075590677512, 3936089224930324775),
            Layout.V6,
            "6.0.",
        ),
        Round(
            "v6.1",
            Seeds(2085463073848966840, 2747215439041700203, 16159082839903944936),
            Layout.V6,
            "6.0.",
        ),
    )
}


def get_round(name: str) -> Round:
    try:
        return ROUNDS[name]
    except KeyError:
        raise UsageError(f"unknown MLPerf round {name!r}", hint=f"use one of {', '.join(ROUNDS)}") from None


def installed_loadgen_version() -> str:
    from importlib.metadata import version

    return version("mlcommons-loadgen")


def default_round() -> Round:
    """The round whose seeds the installed LoadGen carries (6.0.x wheels carry v6.1's seeds)."""
    lg = installed_loadgen_version()
    if lg.startswith("6.0."):
        return ROUNDS["v6.1"]
    for r in reversed(list(ROUNDS.values())):
        if lg.startswith(r.loadgen_version_prefix):
            return r
    return ROUNDS["v6.1"]

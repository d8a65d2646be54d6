"""The comparison key: two results may be ranked together only when their keys are equal.

Like the Phoronix Test Suite's comparison hash (test profile + arguments), the key is a short
sha256 over what makes two MLPerf numbers comparable:

- benchmark, model (bert-99 and bert-99.9 differ), scenario, rules round (seeds, rules and even
  models change between rounds), division (open may change the model and its accuracy target);
- the LoadGen settings that change what is measured (taken from the detail log's ``effective_*``
  records): minimum duration, performance sample count, the three seeds, the latency target and
  percentile (Server/MultiStream only), sample concatenation (Offline). A 10-second test run
  therefore never ranks against a 600-second valid run.

Precision, backend and hardware are deliberately *not* in the key: comparing them is the point,
and the accuracy shown next to every number says what a lower precision cost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

BENCHMARK = "mlperf-inference"

# detail-log key -> short name stored in settings_json; scenarios=None means every scenario
KEY_SETTINGS: dict[str, tuple[str, frozenset[str] | None]] = {
    "effective_min_duration_ms": ("min_duration_ms", None),
    "effective_performance_sample_count": ("performance_sample_count", None),
    "effective_qsl_rng_seed": ("qsl_rng_seed", None),
    "effective_sample_index_rng_seed": ("sample_index_rng_seed", None),
    "effective_schedule_rng_seed": ("schedule_rng_seed", None),
    "effective_target_latency_ns": ("target_latency_ns", frozenset({"Server", "MultiStream"})),
    "effective_target_latency_percentile": (
        "target_latency_percentile",
        frozenset({"Server", "MultiStream"}),
    ),
    "effective_sample_concatenate_permutation": ("sample_concatenate_permutation", frozenset({"Offline"})),
}


def key_settings(scenario: str, log_values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of one detail log that enter the comparison key."""
    out: dict[str, Any] = {}
    for log_key, (name, scenarios) in KEY_SETTINGS.items():
        if (scenarios is None or scenario in scenarios) and log_key in log_values:
            out[name] = log_values[log_key]
    return out


def comparison_key(
    *,
    model: str,
    scenario: str,
    round: str,
    division: str,
    settings: Mapping[str, Any],
    benchmark: str = BENCHMARK,
) -> str:
    """16 hex characters; equal for results whose numbers may be ranked together."""
    payload = json.dumps(
        [benchmark, model, scenario, round, division.lower(), dict(sorted(settings.items()))],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]

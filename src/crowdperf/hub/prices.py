"""Price table: USD per accelerator-hour, from which the hub derives cost per million samples.

A table is JSON (``hub/data/prices.json`` ships defaults; ``--price-table FILE`` replaces them)::

    {"prices": [{"match": "H100", "instance": "AWS p5.48xlarge", "accelerators": 8,
                 "usd_per_hour": 55.04, "source": "https://...", "date": "2025-06-01"}]}

``match`` is a case-insensitive substring of the result's accelerator name; the first matching
entry wins, so list specific names first. A result costs ``usd_per_hour / accelerators`` per
accelerator it uses. Results without a matching entry (including CPU-only ones) have no cost.

An optional ``energy`` entry prices electricity, from which the hub derives a second cost, of the
energy a result's meter measured per sample (J/sample x USD/kWh / 3.6 per million samples)::

    {"energy": {"usd_per_kwh": 0.13, "source": "https://...", "date": "2024", "note": "..."}}

A table without it has no energy cost. The shipped value is an example to override.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from crowdperf.errors import MissingInputError, UsageError


@dataclass(frozen=True)
class Price:
    match: str
    instance: str
    accelerators: int
    usd_per_hour: float  # per instance
    source: str
    date: str

    @property
    def usd_per_accelerator_hour(self) -> float:
        return self.usd_per_hour / self.accelerators


@dataclass(frozen=True)
class EnergyPrice:
    usd_per_kwh: float
    source: str
    date: str
    note: str = ""

    @property
    def label(self) -> str:
        return f"${self.usd_per_kwh:g}/kWh ({self.source}, {self.date})"


J_PER_KWH = 3.6e6
MAX_USD_PER_KWH = 100.0  # a plausible bound (retail prices are ~0.05-0.6): a typo must not pass


@dataclass(frozen=True)
class PriceTable:
    prices: tuple[Price, ...]
    origin: str  # "builtin" or the file it came from
    energy: EnergyPrice | None = None  # None: the table prices no electricity

    def lookup(self, accelerator: str) -> Price | None:
        name = accelerator.lower()
        if not name:
            return None
        return next((p for p in self.prices if p.match.lower() in name), None)


def cost_per_million(usd_per_accelerator_hour: float, accelerator_count: int, throughput: float) -> float:
    """USD per 1e6 samples: (price/h x accelerators) / (samples/s x 3600 s/h) x 1e6."""
    return usd_per_accelerator_hour * accelerator_count / (throughput * 3600.0) * 1e6


def energy_cost_per_million(joules_per_sample: float, usd_per_kwh: float) -> float:
    """USD per 1e6 samples of the energy measured: J/sample x 1e6 / (3.6e6 J/kWh) x USD/kWh."""
    return joules_per_sample * 1e6 / J_PER_KWH * usd_per_kwh


def _energy(raw: object, origin: str) -> EnergyPrice | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise UsageError(f"price table {origin}: energy must be an object with usd_per_kwh, source, date")
    price = EnergyPrice(
        usd_per_kwh=float(raw["usd_per_kwh"]),
        source=str(raw["source"]),
        date=str(raw["date"]),
        note=str(raw.get("note", "")),
    )
    if not (math.isfinite(price.usd_per_kwh) and 0 <= price.usd_per_kwh <= MAX_USD_PER_KWH):
        raise UsageError(f"price table {origin}: usd_per_kwh must be in [0, {MAX_USD_PER_KWH:g}]")
    return price


def _parse(text: str, origin: str) -> PriceTable:
    try:
        data = json.loads(text)
        prices = tuple(
            Price(
                match=str(p["match"]),
                instance=str(p.get("instance", "")),
                accelerators=int(p.get("accelerators", 1)),
                usd_per_hour=float(p["usd_per_hour"]),
                source=str(p["source"]),
                date=str(p["date"]),
            )
            for p in data["prices"]
        )
        energy = _energy(data.get("energy"), origin)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"price table {origin} is not valid: {exc!r}",
            hint='use {"prices": [{"match", "usd_per_hour", "accelerators", "source", "date"}, ...], '
            '"energy": {"usd_per_kwh", "source", "date"}}',
        ) from exc
    if any(p.accelerators < 1 or p.usd_per_hour < 0 for p in prices):
        raise UsageError(f"price table {origin}: accelerators must be >= 1 and prices >= 0")
    return PriceTable(prices=prices, origin=origin, energy=energy)


def load_price_table(path: Path | None = None) -> PriceTable:
    """The table in ``path``, or the shipped defaults when ``path`` is None."""
    if path is None:
        text = resources.files("crowdperf.hub").joinpath("data/prices.json").read_text(encoding="utf-8")
        return _parse(text, "builtin")
    if not path.is_file():
        raise MissingInputError(
            f"no price table at {path}", hint="pass an existing JSON file to --price-table"
        )
    return _parse(path.read_text(encoding="utf-8"), str(path))

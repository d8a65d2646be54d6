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

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from crowdperf.errors import UsageError
from crowdperf.numbers import checked_value
from crowdperf.user_files import parse_json, read_user_text


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
MAX_USD_PER_KWH = 100.0  # retail prices are ~0.05-0.6: a bigger number is a typo, not a price


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


MAX_USD_PER_HOUR = 1e6  # far above any instance: a bigger number is a typo, not a price
MAX_ACCELERATORS = 100_000


def _price(p: Any, where: str) -> Price:
    if not isinstance(p, dict) or not str(p.get("match", "")).strip():
        raise UsageError(f"{where}: each price needs a non-empty 'match'", hint=_HINT)
    return Price(
        match=str(p["match"]),
        instance=str(p.get("instance", "")),
        accelerators=int(checked_value(p.get("accelerators", 1), f"{where}: accelerators",
                                       low=1, high=MAX_ACCELERATORS, whole=True)),
        usd_per_hour=float(checked_value(p.get("usd_per_hour"), f"{where}: usd_per_hour",
                                         low=0.0, high=MAX_USD_PER_HOUR)),
        source=str(p.get("source", "")),
        date=str(p.get("date", "")),
    )  # fmt: skip


_HINT = (
    'use {"prices": [{"match", "usd_per_hour", "accelerators", "source", "date"}, ...], '
    '"energy": {"usd_per_kwh", "source", "date", "note"}}'
)


def _energy(raw: object, where: str) -> EnergyPrice | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise UsageError(f"{where} must be an object with usd_per_kwh, source, date", hint=_HINT)
    return EnergyPrice(
        usd_per_kwh=float(checked_value(raw.get("usd_per_kwh"), f"{where}: usd_per_kwh",
                                        low=0.0, high=MAX_USD_PER_KWH)),
        source=str(raw.get("source", "")),
        date=str(raw.get("date", "")),
        note=str(raw.get("note", "")),
    )  # fmt: skip


def _parse(text: str, origin: str) -> PriceTable:
    """Every number checked as numbers.py checks any number a user gives: finite and plausible
    (NaN, Infinity and 1e999 are refused by the JSON reader itself, user_files.parse_json)."""
    data = parse_json(text, f"price table {origin}")
    entries = data.get("prices") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"price table {origin} has no list of prices", hint=_HINT)
    prices = tuple(_price(p, f"price table {origin}, entry {i}") for i, p in enumerate(entries, start=1))
    energy = _energy(data.get("energy"), f"price table {origin}, energy")
    return PriceTable(prices=prices, origin=origin, energy=energy)


def load_price_table(path: Path | None = None) -> PriceTable:
    """The table in ``path``, or the shipped defaults when ``path`` is None."""
    if path is None:
        text = resources.files("crowdperf.hub").joinpath("data/prices.json").read_text(encoding="utf-8")
        return _parse(text, "builtin")
    return _parse(read_user_text(path, "price table"), str(path))

"""Numbers from users and files are checked once, the same way everywhere: finite (no NaN, no
infinities) and within a range that can mean something, or a one-line ``UsageError`` naming the
option and the range. ``--target-latency-ms nan`` once ran for minutes and grew to 23 GB before
the kernel killed it; a bound here costs nothing.
"""

from __future__ import annotations

import math

from crowdperf.errors import UsageError


def checked_float(value: float, option: str, *, low: float, high: float, low_open: bool = True) -> float:
    """``value`` when it is finite and in (low, high] (``low_open``) or [low, high]."""
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise UsageError(f"{option} must be a finite number in {bracket}{low:g}, {high:g}], got {value!r}")
    return float(value)


def checked_int(value: int, option: str, *, low: int, high: int) -> int:
    """``value`` when it is an integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{option} must be a whole number from {low:,} to {high:,}, got {value!r}")
    return value


def checked_value(value: object, what: str, *, low: float, high: float, whole: bool = False) -> float:
    """A number read from a file the user gives (YAML, JSON): a real int or float, never a bool or
    a string, finite and in [low, high]; ``whole`` asks for an integer. Returns it as it came."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if whole else "a number"
        raise UsageError(f"{what} must be {kind} from {low:,g} to {high:,g}, got {value!r}")
    if whole:
        if not isinstance(value, int):
            raise UsageError(f"{what} must be a whole number from {low:,g} to {high:,g}, got {value!r}")
        return checked_int(value, what, low=int(low), high=int(high))
    return checked_float(value, what, low=low, high=high, low_open=False)

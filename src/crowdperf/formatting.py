"""One number format for everything crowdperf prints to people (the CLI's tables and lines, the
hub's explanations; ``--json`` keeps full precision): thousands separators, a few significant
digits, no exponent notation for any value a benchmark produces, trailing zeros dropped.

    73790.4   -> 73,790       (at least ``digits`` significant digits; integers stay whole)
    6486.31   -> 6,486
    2.68531   -> 2.685
    0.0123456 -> 0.01235
    90.0      -> 90
    1.5e-09   -> 1.5e-09      (only outside 1e-6 .. 1e15, where digits would be unreadable)

``delta_percent`` signs a relative change (``+3.3%``); ``quantity`` joins a number and its unit.
"""

from __future__ import annotations

import math

DIGITS = 4
ACCURACY_DIGITS = 5  # an F1 of 89.965 next to the 89.96526 target: one more digit than elsewhere
_PLAIN_RANGE = (1e-6, 1e15)


def number(value: float | int | None, digits: int = DIGITS) -> str:
    """``value`` for people (see the module docstring); "-" for None or a non-finite value."""
    if value is None or isinstance(value, bool):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    size = abs(value)
    if not _PLAIN_RANGE[0] <= size < _PLAIN_RANGE[1]:
        mantissa, _, exponent = f"{value:.{max(digits - 1, 0)}e}".partition("e")
        return (mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa) + "e" + exponent
    decimals = max(0, digits - 1 - math.floor(math.log10(size)))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quantity(value: float | int | None, unit: str, digits: int = DIGITS) -> str:
    """``6,486 samples/s``; "-" when there is no value."""
    shown = number(value, digits)
    return shown if shown == "-" or not unit else f"{shown} {unit}"


def delta_percent(delta: float | None) -> str:
    """A relative change in percent, signed: ``+3.3%``, ``-12%``, ``0%``."""
    if delta is None or not math.isfinite(delta):
        return "-"
    shown = number(delta, 2) if abs(delta) >= 1 else number(delta, 1)
    return ("+" if delta > 0 else "") + shown + "%"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 configuration``, ``3 configurations``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def duration(seconds: float) -> str:
    """``45 s``, ``2 min 05 s``, ``1 h 02 min``: a person's reading of a time span."""
    if not math.isfinite(seconds) or seconds < 0:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

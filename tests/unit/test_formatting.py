"""One number format (formatting.py) and tables that read at any width (cli/tables.py)."""

from __future__ import annotations

import pytest
from rich.console import Console

from crowdperf.cli.tables import Rows, print_rows
from crowdperf.formatting import delta_percent, duration, number, plural, quantity


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (73790.4, "73,790"),
        (6486.31, "6,486"),
        (2.68531, "2.685"),
        (0.0123456, "0.01235"),
        (90.0, "90"),
        (9999.7, "10,000"),
        (-1234.5, "-1,234"),
        (0.0, "0"),
        (12345678, "12,345,678"),
        (1.5e-9, "1.5e-09"),
        (float("nan"), "-"),
        (float("inf"), "-"),
        (None, "-"),
    ],
)
def test_one_number_format(value: float | None, shown: str) -> None:
    assert number(value) == shown


def test_units_deltas_counts_and_durations() -> None:
    assert quantity(443.87, "samples/s") == "443.9 samples/s" and quantity(None, "ms") == "-"
    assert (
        delta_percent(3.26) == "+3.3" + "%" and delta_percent(-12.4) == "-12%" and delta_percent(0.0) == "0%"
    )
    assert (
        plural(1, "configuration") == "1 configuration" and plural(3, "configuration") == "3 configurations"
    )
    assert duration(4.26) == "4.3 s" and duration(65) == "1 min 05 s" and duration(3720) == "1 h 02 min"


LONG = "intel-xeon-platinum-8480-224c-nvidia-h200x2-onnxruntime-cuda-fp32"
ROWS = Rows(
    headers=("scenario", "mode", "system", "result"),
    rows=(("Offline", "performance", LONG, "73,790 samples/s"),),
    title="a title that is long " * 6,
    keys=2,
    right=frozenset({"result"}),
    notes=("[1] a note that is long " * 8,),
)


def _shown(width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    print_rows(console, ROWS)
    return console.export_text()


def test_a_table_that_fits_is_a_table() -> None:
    text = _shown(200)
    assert "┃ scenario" in text and LONG in text


@pytest.mark.parametrize("width", [80, 60, 40])
def test_narrow_output_keeps_every_name_whole_on_one_line(width: int) -> None:
    text = _shown(width)
    assert "┃" not in text and "…" not in text  # no table to squeeze, nothing cut
    lines = text.splitlines()
    assert "Offline  performance" in lines and f"  system  {LONG}" in lines
    assert "  result  73,790 samples/s" in lines
    assert ROWS.notes[0].rstrip() in text.replace("\n", "")  # notes: whole (a terminal wraps them)

"""Tables that read anywhere: a terminal, a CI log, a pipe at 80 columns.

A cell is never wrapped over lines nor cut (``cuda-devic…``): ``print_rows`` measures the table
at its natural width and prints it as a table only when it fits the console; otherwise each row
becomes a short block (the row's key, then one ``column: value`` line per other cell), which
stays readable at any width. Long names (systems, paths) belong in the title or the notes, which
are printed as plain lines: a terminal wraps them, a pipe keeps them whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Rows:
    """What a command shows as a table. Cells are rich markup (escape data from outside)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None
    keys: int = 1  # leading columns that name a row (the heading of its block when narrow)
    right: frozenset[str] = field(default_factory=frozenset)  # right-aligned (numeric) columns
    notes: tuple[str, ...] = ()
    droppable: tuple[str, ...] = ()  # columns left out, in this order, until the table fits

    def without(self, header: str) -> Rows:
        i = self.headers.index(header)
        return Rows(
            self.headers[:i] + self.headers[i + 1 :],
            tuple(r[:i] + r[i + 1 :] for r in self.rows),
            self.title,
            self.keys if i >= self.keys else self.keys - 1,
            self.right,
            self.notes,
            tuple(h for h in self.droppable if h != header),
        )


def as_table(rows: Rows) -> Table:
    table = Table(title=None, show_edge=True)
    for header in rows.headers:
        table.add_column(header, justify="right" if header in rows.right else "left", no_wrap=True)
    for row in rows.rows:
        table.add_row(*row)
    return table


def fits(console: Console, table: Table) -> bool:
    """Whether ``table`` at its natural width (no cell wrapped or cut) fits the console."""
    unbounded = console.options.update(width=100_000, max_width=100_000)
    return Measurement.get(console, unbounded, table).maximum <= console.width


def narrowed(console: Console, rows: Rows) -> tuple[Rows, tuple[str, ...]]:
    """``rows`` without as many of its droppable columns (in order) as it takes to fit; the
    columns left out."""
    dropped: list[str] = []
    while rows.droppable and not fits(console, as_table(rows)):
        dropped.append(rows.droppable[0])
        rows = rows.without(rows.droppable[0])
    return rows, tuple(dropped)


def print_rows(console: Console, rows: Rows, *, markup: bool = True) -> None:
    """``rows`` as a table when it fits ``console`` (with fewer columns if it must), else as one
    block per row with every column."""
    if rows.title:
        console.print(Text.from_markup(rows.title) if markup else rows.title, soft_wrap=True)
    fewer, dropped = narrowed(console, rows)
    if rows.rows and fits(console, as_table(fewer)):
        console.print(as_table(fewer))
        if dropped:
            console.print(
                f"(left out at this width: {', '.join(dropped)}; --json has every field)", style="dim"
            )
    elif rows.rows:
        _print_blocks(console, rows)
    for note in rows.notes:
        console.print(note, soft_wrap=True, highlight=False)


def print_fields(console: Console, title: str | None, fields: Sequence[tuple[str, str]]) -> None:
    """Named values (a system description, data set statistics): a two-column table when it fits,
    else one aligned ``name  value`` line each (a long value wraps on a terminal, never cut)."""
    if title:
        console.print(Text.from_markup(title), soft_wrap=True)
    table = Table(show_header=False)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(no_wrap=True)
    for name, value in fields:
        table.add_row(name, value)
    if fits(console, table):
        console.print(table)
        return
    width = max((len(n) for n, _ in fields), default=0)
    for name, value in fields:
        console.print(f"{name:<{width}}  {value}", soft_wrap=True, highlight=False)


def _print_blocks(console: Console, rows: Rows) -> None:
    label_width = max(len(h) for h in rows.headers[rows.keys :]) if len(rows.headers) > rows.keys else 0
    for row in rows.rows:
        console.print("  ".join(c for c in row[: rows.keys] if c), soft_wrap=True, highlight=False)
        for header, cell in zip(rows.headers[rows.keys :], row[rows.keys :], strict=True):
            if cell and cell != "-":
                console.print(f"  {header:<{label_width}}  {cell}", soft_wrap=True, highlight=False)

"""Tables on stdout: aligned columns on a terminal, tab-separated values when piped.

Nothing is ever cut: on a terminal each column is as wide as its widest cell (rows wrap
rather than lose text); piped into a file or another program, the header and rows are
plain TSV (one record per line, cells joined by tabs), which `cut`, `awk` and
spreadsheets read as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], aligned: bool) -> str:
    """The table as text: aligned columns if ALIGNED, else TSV. Tabs and newlines in cells
    become spaces so that one line stays one record."""
    cells = [[" ".join(str(cell).split()) for cell in row] for row in [headers, *rows]]
    if not aligned:
        return "\n".join("\t".join(row) for row in cells)
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                         strict=True)).rstrip()
                     for row in cells)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print the table to stdout, aligned only when stdout is a terminal."""
    click.echo(format_table(headers, rows, aligned=sys.stdout.isatty()))

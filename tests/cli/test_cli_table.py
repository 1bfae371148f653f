"""Tables: aligned on a terminal, TSV when piped, never cut."""

from __future__ import annotations

from repo_tool.cli_table import format_table


def test_piped_table_is_tsv_with_every_cell_whole() -> None:
    long = "k" * 200
    text = format_table(["NAME", "KEYS"], [["hello", long], ["a\tb", "x\ny"]], aligned=False)
    assert text.splitlines() == ["NAME\tKEYS", f"hello\t{long}", "a b\tx y"]


def test_terminal_table_aligns_columns_to_the_widest_cell() -> None:
    text = format_table(["NAME", "V"], [["hello-world", "1.0.0"], ["a", "10.0.0"]], aligned=True)
    assert text.splitlines() == ["NAME         V", "hello-world  1.0.0", "a            10.0.0"]

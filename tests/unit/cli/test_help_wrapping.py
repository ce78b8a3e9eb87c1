"""Every `--help` wraps its prose to the terminal: no line ends mid-sentence where the
docstring's source happened to wrap.

A line followed by more of the same paragraph must be full: the next word would not have fitted
on it. That holds for the help text above the panels and for each command's short help in a
group's Commands panel, at every width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import click
import pytest
import typer
from typer.testing import CliRunner

from tradeloop.cli import app
from tradeloop.cli._common import one_line_paragraphs


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():  # a group
        yield from _commands(sub, (*path, name))


def _early_breaks(lines: list[str], start: int, width: int) -> list[str]:
    """Lines of one wrapped block (text from column `start`, `width` wide) that end although
    the next line's first word would have fitted on them."""
    found = []
    for line, after in pairwise(lines):
        text, following = line[start:].rstrip(), after[start:].split()
        if text and following and len(text) + 1 + len(following[0]) <= width:
            found.append(f"{text!r} then {following[0]!r}")
    return found


def _prose_breaks(output: str, columns: int) -> list[str]:
    """Early breaks in the help text between the usage line and the first panel."""
    lines = output.splitlines()
    prose = []
    for line in lines[2:]:
        if line.startswith(("╭", "│", "╰")):
            break
        prose.append(line)
    paragraphs: list[list[str]] = [[]]
    for line in prose:
        if line.strip():
            paragraphs[-1].append(line)
        else:
            paragraphs.append([])
    # Rich pads the text one column on each side.
    return [found for block in paragraphs for found in _early_breaks(block, 1, columns - 2)]


def _commands_panel_breaks(output: str) -> list[str]:
    """Early breaks in the short helps of a group's Commands panel."""
    lines = output.splitlines()
    try:
        top = next(i for i, line in enumerate(lines) if line.startswith("╭─ Commands"))
    except StopIteration:
        return []
    rows = []
    for line in lines[top + 1 :]:
        if line.startswith("╰"):
            break
        rows.append(line[1:-1])  # inside the borders
    first = re.match(r" \S+\s+", rows[0])
    assert first, rows[0]
    start = first.end()
    width = len(rows[0]) - 1 - start  # the panel pads its right edge by one column
    blocks: list[list[str]] = []
    for row in rows:
        if row[:start].strip():  # a command's name: its short help starts here
            blocks.append([])
        blocks[-1].append(row)
    return [found for block in blocks for found in _early_breaks(block, start, width)]


@pytest.mark.parametrize("columns", [80, 120])
def test_every_help_wraps_its_prose_to_the_terminal_width(columns: int) -> None:
    runner = CliRunner()
    broken: list[str] = []
    helps = 0
    for path, _command in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
        assert result.exit_code == 0, (path, result.output)
        name = " ".join(("tradeloop", *path))
        broken += [f"{name}: {found}" for found in _prose_breaks(result.output, columns)]
        broken += [f"{name}: {found}" for found in _commands_panel_breaks(result.output)]
        helps += 1
    assert helps > 50  # the walk reached the subcommands
    assert not broken, "help lines broken mid-sentence:\n" + "\n".join(broken)


def test_one_line_paragraphs_joins_wrapped_lines_and_keeps_paragraphs() -> None:
    text = """First line of a sentence
    that goes on.

    Second paragraph,
    wrapped too.
    """
    assert one_line_paragraphs(text) == (
        "First line of a sentence that goes on.\n\nSecond paragraph, wrapped too."
    )


def test_one_line_paragraphs_keeps_an_indented_example_and_a_no_rewrap_block() -> None:
    example = "Example:\n  tradeloop data ls\n  tradeloop data gaps"
    no_rewrap = "\b\nkept\nas is"
    assert one_line_paragraphs(f"{example}\n\n{no_rewrap}") == f"{example}\n\n{no_rewrap}"

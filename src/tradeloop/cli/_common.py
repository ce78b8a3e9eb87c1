"""Helpers shared by the command modules: settings, console, error reporting."""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from typer.main import solve_typer_info_help

from tradeloop.errors import TradeloopError, UserError
from tradeloop.settings import Settings, configure_prefect_environment, load_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    """Load settings once per command and keep Prefect inside the data dir."""
    loaded = load_settings()
    configure_prefect_environment(loaded)
    return loaded


def compact_table(title: str | None, *columns: Column | str, **options: Any) -> Table:
    """A table that fits an 80-column terminal: a rule under the header and no other lines,
    no padding, one space (the box's blank column rule) between columns, the title on the left.

    `options` are `rich.table.Table` keywords (`caption`, `show_lines`, ...) and override
    these defaults."""
    style: dict[str, Any] = {
        "title_justify": "left",
        "box": box.SIMPLE_HEAD,
        "padding": 0,
        "show_edge": False,
    }
    return Table(*columns, title=title, **(style | options))


def one_line_paragraphs(text: str) -> str:
    """`text` with each paragraph's lines joined by spaces.

    Rich help keeps a docstring's line breaks: a command's first paragraph in its group's
    command list, and every later paragraph of its own `--help`, would break where the source
    wraps, mid-sentence, at any terminal width. A paragraph starting with click's no-rewrap
    marker (\\b) or holding an indented line (an example, a list) keeps its breaks."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        paragraph
        if paragraph.startswith("\b") or any(line[:1].isspace() for line in paragraph.splitlines())
        else " ".join(line.strip() for line in paragraph.splitlines())
        for paragraph in paragraphs
    )


def unwrap_help(app: typer.Typer) -> None:
    """Give every command and group of `app`, at every depth, its help with each paragraph on
    one line (`one_line_paragraphs`), so rich wraps it to the terminal's width."""
    if isinstance(app.info.help, str):
        app.info.help = one_line_paragraphs(app.info.help)
    for command in app.registered_commands:
        text = command.help if command.help is not None else inspect.getdoc(command.callback)
        if text:
            command.help = one_line_paragraphs(text)
    for group in app.registered_groups:
        text = solve_typer_info_help(group)
        if text:
            group.help = one_line_paragraphs(text)
        if group.typer_instance is not None:
            unwrap_help(group.typer_instance)


def parse_day(value: str | None, option: str) -> date | None:
    """The day `value` names; a text that is not a date is a usage error naming `option`."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-29", param_hint=option
        ) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for the user and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


EXIT_BUG = 70  # EX_SOFTWARE in sysexits.h: an internal software error (our bug)
EXIT_INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C


def _bug_log(exc: BaseException) -> Path | None:
    """Write `exc`'s traceback under the data dir's `logs/`; None when it cannot be written."""
    try:
        directory = load_settings().data_dir / "logs"
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = directory / f"bug-{stamp}.log"
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except Exception:  # reporting a bug must not hide it behind a second one
        return None
    return path


def report_bug(exc: BaseException) -> None:
    """Print a bug's traceback, say it is a bug in tradeloop, and where its log is."""
    log = _bug_log(exc)
    err_console.print(escape("".join(traceback.format_exception(exc))), highlight=False)
    where = f"The traceback is saved in {log}; " if log else ""
    err_console.print(
        f"[bold red]This is a bug in tradeloop[/], not a problem with your input. {escape(where)}"
        "please report it with that file and the command you ran.",
        highlight=False,
    )


def run_app(app: Callable[[], object]) -> None:
    """Run a command (the Typer app, the demo): the user's mistakes exit 2 with a message,
    operational failures exit 1 naming the service, our bugs exit 70 with the traceback saved."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        sys.exit(EXIT_INTERRUPTED)
    except UserError as exc:
        # escape: messages name TOML sections ("[risk]") that rich would read as markup.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except TradeloopError as exc:
        err_console.print(f"[bold red]{type(exc).__name__}:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except Exception as exc:
        report_bug(exc)
        sys.exit(EXIT_BUG)

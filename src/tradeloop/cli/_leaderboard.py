"""The leaderboard and strategy memory as a trader reads them in a terminal.

Both tables fit 80 columns: a name folds rather than end in "…", a spec id stays whole on its
own line, the numbers a trader ranks by are never cut, and a wide terminal (120 columns or
more) also gets the rest of the numbers. Every number is in the command's `--json`. A row's
notes (why it did not pass) are printed under the table keyed by the row's rank, so each note
names its row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradeloop.domain.money import rupees

if TYPE_CHECKING:
    from tradeloop.domain.backtest.scoring import ScoringConfig
    from tradeloop.domain.research import LeaderboardRow
    from tradeloop.storage.memory import StrategyRecord
    from tradeloop.storage.memory_runs import RunSummary

WIDE_COLUMNS = 120  # from this terminal width on, the tables show every column
_NARROW_LEADERBOARD = ("#", "strategy", "tf", "score", "trades", "PF", "net P&L", "DSR", "gate")
_WIDE_LEADERBOARD = (
    *("#", "strategy", "tf", "score", "trades", "win %", "PF", "net P&L", "Sharpe"),
    *("lockbox Sharpe", "PSR", "DSR", "trials", "gate"),
)


def _rupees(value: float) -> str:
    return "-" if math.isnan(value) else rupees(value, paise=False)


def _number(value: float, digits: int = 2) -> str:
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def _probability(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )


def _add_columns(table: Table, headers: Sequence[str], text: Sequence[str]) -> None:
    """The first text column folds (a long name wraps, whole, rather than end in "…"); the
    other columns never wrap or shrink; numbers are right-aligned."""
    for header in headers:
        if header == text[0]:
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="left" if header in text else "right", no_wrap=True)


def _is_wide(console: Console | None) -> bool:
    from tradeloop.cli._common import console as default_console

    return (console or default_console).width >= WIDE_COLUMNS


def leaderboard_table(
    rows: Sequence[LeaderboardRow],
    scoring: ScoringConfig,
    title: str = "Leaderboard",
    *,
    console: Console | None = None,
) -> Table:
    """The leaderboard: the research window's walk-forward (out of sample) ranks; the lockbox's
    PSR and DSR against `trials` strategies decide the gate. On `console` (the CLI's by default)
    under `WIDE_COLUMNS`: rank, strategy, tf, score, trades, PF, net P&L, DSR, gate."""
    wide = _is_wide(console)
    table = _table(
        f"{title}: ranked on the research window (walk-forward, out of sample); gated on "
        f"the lockbox (score >= {scoring.min_score}, PSR and DSR >= "
        f"{scoring.min_probabilistic_sharpe}/{scoring.min_deflated_sharpe})"
    )
    headers = _WIDE_LEADERBOARD if wide else _NARROW_LEADERBOARD
    _add_columns(table, headers, ("strategy", "tf", "gate"))
    for row in rows:
        cells = {
            "#": str(row.rank),
            "strategy": escape(row.name),
            "tf": row.timeframe,
            "score": f"{row.score:.3f}",
            "trades": str(row.trades),
            "win %": _number(row.win_rate_pct, 1),
            "PF": _number(row.profit_factor),
            "net P&L": _rupees(row.net_pnl),
            "Sharpe": _number(row.sharpe),
            "lockbox Sharpe": _number(row.lockbox_sharpe) if row.trials else "-",
            "PSR": _probability(row.psr),
            "DSR": _probability(row.dsr),
            "trials": f"{row.trials:,}" if row.trials else "-",
            "gate": "[green]PASS[/]" if row.passed else "[red]fail[/]",
        }
        table.add_row(*(cells[header] for header in headers))
    return table


def _print_notes(console: Console, title: str, notes: Sequence[tuple[int, str, str]]) -> None:
    """`notes` of (number, name, why) as a grid: the number the table shows the row with, then
    the name and why, wrapped under themselves (a hanging indent), not under the number."""
    if not notes:
        return
    grid = Table.grid(padding=(0, 1), pad_edge=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    for rank, name, why in notes:
        grid.add_row(f"#{rank}", f"[bold]{escape(name)}[/]: {escape(why)}")
    console.print(title, style="bold", highlight=False)
    console.print(grid, highlight=False)


def print_row_notes(console: Console, rows: Sequence[LeaderboardRow]) -> None:
    """Why each shown row did not pass, under the rank the table shows it with."""
    notes = [(row.rank, row.name, row.reason) for row in rows if not row.passed and row.reason]
    _print_notes(console, "Why not passed (by #):", notes)


def print_left_out(console: Console, shown: int, total: int) -> None:
    """Say how many rows `--limit` left out, and where to see them."""
    if total <= shown:
        return
    console.print(
        f"Showing the top {shown} of {total} strategies ({total - shown} left out): see more "
        "with `tradeloop research best --limit N` (strategy memory), or add --json for the "
        "whole leaderboard.",
        highlight=False,
        markup=False,
    )


def _ist(moment: datetime) -> str:
    """`moment` in IST; memory stores UTC, so a naive time (an old file) is read as UTC."""
    from tradeloop.domain.market.calendar import IST

    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(IST).strftime("%Y-%m-%d %H:%M")


def memory_table(records: Sequence[StrategyRecord], *, console: Console | None = None) -> Table:
    """Strategy memory's best records: the name with its whole spec id under it (never cut),
    the score and the lockbox gate; evaluation times in IST. A wide terminal adds the lockbox
    Sharpe, PSR and trials."""
    wide = _is_wide(console)
    table = _table("Strategy memory: best latest evaluations")
    headers = (
        *("#", "strategy / spec id", "tf", "score", "trades", "net P&L"),
        *(("lockbox Sharpe", "PSR") if wide else ()),
        "DSR",
        *(("trials",) if wide else ()),
        *("gate", "evaluated (IST)"),
    )
    _add_columns(table, headers, ("strategy / spec id", "tf", "gate", "evaluated (IST)"))
    if not wide:  # the date over the time, the header over two lines: a narrow column
        table.columns[-1].header = "evaluated\n(IST)"
    for rank, record in enumerate(records, start=1):
        gate = record.gate
        evaluated = _ist(record.evaluated_at)
        cells = {
            "#": str(rank),
            "strategy / spec id": f"{escape(record.name)}\n[dim]{record.spec_id}[/]",
            "tf": record.timeframe,
            "score": f"{record.score:.3f}",
            "trades": _number(record.metrics.get("trades", math.nan), 0),
            "net P&L": _rupees(record.metrics.get("net_pnl", math.nan)),
            "lockbox Sharpe": _number(gate.get("lockbox_sharpe", math.nan)),
            "PSR": _probability(gate.get("psr", math.nan)),
            "DSR": _probability(gate.get("dsr", math.nan)),
            "trials": _number(gate.get("trials", math.nan), 0),
            "gate": "[green]PASS[/]" if record.passed else "[red]fail[/]",
            "evaluated (IST)": evaluated if wide else evaluated.replace(" ", "\n"),
        }
        table.add_row(*(cells[header] for header in headers))
    return table


def print_memory_notes(console: Console, records: Sequence[StrategyRecord]) -> None:
    """Each record's reasons, under the number the table shows it with."""
    notes = [
        (rank, record.name, "; ".join(record.reasons))
        for rank, record in enumerate(records, start=1)
        if record.reasons
    ]
    _print_notes(console, "Why not passed (by #):", notes)


def run_row(run: RunSummary) -> dict[str, str | int]:
    """One research run for `research runs --json`: its last record's time in UTC and IST."""
    return {
        "run_id": run.run_id,
        "last_at": run.last_at.isoformat(),
        "last_ist": _ist(run.last_at),
        "specs": run.specs,
        "passed": run.passed,
    }


def runs_table(runs: Sequence[RunSummary]) -> Table:
    """The research runs, the latest first: the whole run id (folded, never cut), when it
    ranked its last strategy (IST), the strategies it ranked and how many passed the gate."""
    table = _table("Research runs in strategy memory, the latest first")
    _add_columns(
        table, ("run id", "last record (IST)", "specs", "passed"), ("run id", "last record (IST)")
    )
    for run in runs:
        table.add_row(run.run_id, _ist(run.last_at), f"{run.specs:,}", f"{run.passed:,}")
    return table

"""`tradeloop report BACKTEST_ID`: a saved backtest as an HTML page (and PNGs) in its folder;
`tradeloop report ls`: the saved backtests, newest first.

A backtest id is `<spec id>-<UTC stamp>`, the two folder names `tradeloop backtest` saved it
under (`storage/backtests.py`).
"""

from __future__ import annotations

import json
import webbrowser
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.domain.money import rupees
from tradeloop.errors import UserError

if TYPE_CHECKING:
    from tradeloop.storage.backtests import BacktestArchive, BacktestEntry

LIST_WORD = "ls"


def register(app: typer.Typer) -> None:
    """Add the top-level `report` command to the root app."""
    app.command("report")(report)


def report(
    backtest_id: str = typer.Argument(
        ...,
        metavar="BACKTEST_ID|ls",
        help="A saved backtest's id (`tradeloop report ls` lists them), or `ls` to list them.",
    ),
    open_page: bool = typer.Option(False, "--open", help="Open the report in a web browser."),
    png: bool = typer.Option(False, "--png", help="Also write equity.png and price.png."),
    as_json: bool = typer.Option(False, "--json", help="With `ls`: print every row as JSON."),
) -> None:
    """Write a backtest's report.html (equity, drawdown, price with trades, monthly returns,
    metrics, the score card explained) into its folder; `report ls` lists saved backtests."""
    from tradeloop.app.stores import backtest_archive, candle_store

    current = settings()
    archive = backtest_archive(current)
    if backtest_id.strip() == LIST_WORD:
        if open_page or png:
            raise UserError("--open and --png are for a backtest id, not for `report ls`")
        _list(archive, as_json)
        return
    if as_json:
        raise UserError("--json is for `tradeloop report ls`; a report is written as HTML")

    from tradeloop.reports.backtest import write_html
    from tradeloop.reports.data import window_candles

    record = archive.get(backtest_id)
    candles = window_candles(candle_store(current), record)
    paths = [write_html(record, candles, current.strategy)]
    if png:
        from tradeloop.reports.png import write_pngs

        paths += write_pngs(record, candles, record.folder)
    for path in paths:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if open_page:
        webbrowser.open(paths[0].resolve().as_uri())


def _list(archive: BacktestArchive, as_json: bool) -> None:
    rows = [_row(entry) for entry in archive.list()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print(
            f"no saved backtests in {archive.root}: run `tradeloop backtest SPEC.json` first",
            highlight=False,
            soft_wrap=True,
        )
        return
    table = Table(title="saved backtests, newest first", box=box.SIMPLE_HEAD)
    table.add_column("backtest id / strategy, saved (IST)", no_wrap=False, overflow="fold")
    for column in ("trades", "net P&L", "Sharpe"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            f"{row['id']}\n  {row['spec_name']}, {row['saved_ist']}",
            _number(row["trades"], "{:,.0f}"),
            rupees(row["net_pnl"], paise=False) if row["net_pnl"] is not None else "—",
            _number(row["sharpe"], "{:.2f}"),
        )
    console.print(table)
    console.print("`tradeloop report ID` writes one's report.html", highlight=False)


def _row(entry: BacktestEntry) -> dict[str, Any]:
    from tradeloop.domain.market.calendar import to_ist
    from tradeloop.storage.backtests import summary_of

    row = summary_of(entry)
    saved = row["saved_at"]
    return row | {"saved_at": saved.isoformat(), "saved_ist": f"{to_ist(saved):%Y-%m-%d %H:%M} IST"}


def _number(value: float | None, form: str) -> str:
    return "—" if value is None else form.format(value)

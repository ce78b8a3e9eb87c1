"""`tradeloop` commands for trading: kill switch, live check, positions, orders, trades.

Every command that reads or changes trading state prints the trading mode first, so nobody
mistakes a paper ledger for a live one. Times are shown in IST, money in rupees, and the tables
fit an 80-column terminal (`cli._ledger_tables`). With `--json` a listing prints one JSON object
instead, the mode inside it. `tradeloop trades --day D --report` writes the day's page and
`day.png` (`tradeloop.reports.day`) under `<data_dir>/reports/days/<day>/`.
"""

from __future__ import annotations

import webbrowser
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import typer

from tradeloop.cli import _ledger_tables as tables
from tradeloop.cli._common import console, fail, settings
from tradeloop.errors import TradingRefusedError, UserError
from tradeloop.settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    # Imported where used: `tradeloop --help` must not pay for SQLAlchemy and numba.
    from tradeloop.domain.execution.mode import ModeReport
    from tradeloop.domain.positions.model import TradeRecord
    from tradeloop.storage.ledger import Ledger

kill_switch_app = typer.Typer(
    help=(
        "The kill switch: while on, the gateway sends nothing new and a running position "
        "manager flattens what is open; this command itself sends no order."
    ),
    no_args_is_help=True,
)
live_app = typer.Typer(help="Live trading switches.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders in the ledger.", invoke_without_command=True)
positions_app = typer.Typer(help="Positions in the ledger.", invoke_without_command=True)

DAY_OPTION = typer.Option(None, "--day", help="Trading day YYYY-MM-DD (IST); default today.")
JSON_OPTION = typer.Option(
    False, "--json", help="Print one JSON object: ISO times with their offset, numbers as numbers."
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(kill_switch_app, name="kill-switch")
    app.add_typer(live_app, name="live")
    app.add_typer(orders_app, name="orders")
    app.add_typer(positions_app, name="positions")
    app.command("trades")(trades)


def _mode_banner(loaded: Settings, *, show: bool = True) -> ModeReport:
    """The trading mode, printed first unless `show` is off (a JSON listing carries it)."""
    from tradeloop.app.trading import live_mode_report

    report = live_mode_report(loaded)
    if show:
        style = "bold red" if report.live_allowed else "bold green"
        requested = report.requested
        note = "" if requested == report.mode else f" (requested {requested}: refused)"
        console.print(f"mode: [{style}]{report.mode.value}[/]{note}", highlight=False)
    return report


def _ledger(*, show: bool = True) -> Ledger:
    """The configured ledger, after printing the trading mode (unless `show` is off)."""
    loaded = settings()
    _mode_banner(loaded, show=show)
    from tradeloop.app import stores

    return stores.ledger(loaded)


def _ledger_to_show(*, show: bool = True) -> tuple[Ledger, str]:
    """The ledger for `positions`, `orders`, `trades` and the mode in force: refused while a
    requested live is refused.

    Showing the ledger then (exit 0, paper orders under a "requested live" note) let a user
    believe live trading was on. The kill-switch commands still work: they are the way out.
    """
    loaded = settings()
    report = _mode_banner(loaded, show=show)
    if report.requested != report.mode:
        raise TradingRefusedError(
            f"{report.refusal_message()}. Nothing is shown while live is requested but refused; "
            f"turn on the missing switches, or set {ENV_PREFIX}TRADING_MODE=paper (or unset it) "
            "to see the paper ledger"
        )
    from tradeloop.app import stores

    return stores.ledger(loaded), report.mode.value


def _today() -> date:
    from tradeloop.domain.market.calendar import to_ist

    return to_ist(datetime.now(UTC)).date()


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise UserError("a reason is required: --reason 'what happened' (it goes in the ledger)")
    return text


# -- kill switch --------------------------------------------------------------------------------


@kill_switch_app.command("on")
def kill_switch_on(
    reason: str = typer.Option(..., "--reason", help="Why: kept in the ledger's history."),
) -> None:
    """Turn the kill switch on: no new orders; a running position manager flattens what is open.

    This command only records the switch in the ledger; it sends no order itself.
    """
    why = _reason(reason)  # refused before the ledger is opened (or created)
    switch = _ledger().set_kill_switch(True, why, datetime.now(UTC))
    console.print(
        f"kill switch [bold red]ON[/] at {tables.ist(switch.changed_at)} IST: {switch.reason}"
    )


@kill_switch_app.command("off")
def kill_switch_off(
    reason: str = typer.Option(..., "--reason", help="Why it is safe again."),
) -> None:
    """Turn the kill switch off (trading resumes; a HALTED day stays halted)."""
    why = _reason(reason)
    ledger = _ledger()
    switch = ledger.set_kill_switch(False, why, datetime.now(UTC))
    console.print(
        f"kill switch [bold green]off[/] at {tables.ist(switch.changed_at)} IST: {switch.reason}"
    )
    day = ledger.day_state(_today())
    if day.state.value != "ACTIVE":
        console.print(f"today is still {day.state.value}: {day.reason}")


@kill_switch_app.command("status")
def kill_switch_status(as_json: bool = JSON_OPTION) -> None:
    """Show the kill switch, today's trading state, and the switch's recent history."""
    loaded = settings()
    report = _mode_banner(loaded, show=not as_json)
    from tradeloop.app import stores

    ledger = stores.ledger(loaded)
    switch = ledger.kill_switch()
    day = ledger.day_state(_today())
    history = ledger.kill_switch_history()
    if as_json:
        tables.print_json(
            {
                "mode": report.mode.value,
                "kill_switch": switch.model_dump(),
                "today": day.model_dump(),
                "history": [entry.model_dump() for entry in history],
            }
        )
        return
    state = "[bold red]ON[/]" if switch.engaged else "[green]off[/]"
    since = (
        f" since {tables.ist(switch.changed_at)} IST ({switch.reason})" if switch.changed_at else ""
    )
    console.print(f"kill switch: {state}{since}")
    console.print(f"today ({day.trading_day}): {day.state.value} {day.reason}".rstrip())
    if history:
        console.print(tables.kill_switch_table(history[-5:]))


# -- live check ---------------------------------------------------------------------------------


@live_app.command("check")
def live_check(as_json: bool = JSON_OPTION) -> None:
    """Show each live switch (set or missing, never its value); exit 1 when live is refused."""
    loaded = settings()
    report = _mode_banner(loaded, show=not as_json)
    if as_json:
        tables.print_json(tables.switches_json(report))
        if not report.live_allowed:
            raise typer.Exit(1)
        return
    console.print(tables.switches_table(report))
    if not report.live_allowed:
        raise fail(report.refusal_message(), code=1)
    console.print("[bold red]live trading is allowed: orders go to Dhan with real money[/]")


# -- positions, orders, trades ------------------------------------------------------------------


@positions_app.callback()
def positions(
    ctx: typer.Context,
    day: str | None = DAY_OPTION,
    all_days: bool = typer.Option(False, "--all", help="Every position, not only one day's."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Positions of a day (and any still open), with state, stop, target and entry."""
    if ctx.invoked_subcommand is not None:
        return
    wanted = None if all_days else _day(day)
    ledger, mode = _ledger_to_show(show=not as_json)
    rows = ledger.positions(wanted)
    if wanted is not None:
        known = {p.position_id for p in rows}
        rows += [p for p in ledger.positions(active_only=True) if p.position_id not in known]
    if as_json:
        tables.print_json(tables.positions_json(rows, mode, wanted))
        return
    if not rows:
        console.print("no positions")
        return
    title = f"positions{'' if wanted is None else f' of {wanted}'} (times IST)"
    console.print(tables.positions_table(rows, title))
    for note in tables.position_notes(rows):
        console.print(note, highlight=False, markup=False)


@orders_app.callback()
def orders(ctx: typer.Context, day: str | None = DAY_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Orders of a day: status, broker id, fills; refusals by the risk manager below."""
    if ctx.invoked_subcommand is not None:
        return
    wanted = _day(day)
    ledger, mode = _ledger_to_show(show=not as_json)
    records = ledger.orders(wanted)
    refusals = ledger.refusals(wanted)
    if as_json:
        tables.print_json(tables.orders_json(records, refusals, mode, wanted))
        return
    if records:
        console.print(tables.orders_table(records, f"orders of {wanted} (times IST)"))
    else:
        console.print(f"no orders on {wanted}")
    if refusals:
        console.print(tables.refusals_table(refusals))


@orders_app.command("resolve")
def resolve_order(
    intent_id: str = typer.Argument(..., help="The intent id of the UNKNOWN order."),
    not_placed: bool = typer.Option(
        False, "--not-placed", help="Confirm you checked the broker and the order is not there."
    ),
    reason: str = typer.Option(..., "--reason", help="What you checked."),
) -> None:
    """Settle an UNKNOWN order: the broker is asked once more; absent → marked not placed.

    The entry's position follows: not placed → REJECTED (it no longer counts as open); found at
    the broker → tracked again (PENDING until its fill).
    """
    from tradeloop.app.trading import trading_stack

    if not not_placed:
        raise fail("pass --not-placed to confirm the order is absent at the broker", code=2)
    why = _reason(reason)
    loaded = settings()
    _mode_banner(loaded)
    stack = trading_stack(loaded)
    record = stack.gateway.resolve_not_placed(intent_id, why)
    console.print(f"order {intent_id}: {record.status.value} {record.message}".rstrip())
    if stack.ledger.position(intent_id) is not None:
        position = stack.positions.settle_entry(intent_id)
        console.print(f"position {intent_id}: {position.state.value}")


@positions_app.command("retry-exit")
def retry_exit(
    position_id: str = typer.Argument(..., help="The CLOSING position whose exits were refused."),
    reason: str = typer.Option(..., "--reason", help="What you fixed (it goes in the ledger)."),
) -> None:
    """Let a CLOSING position send exits again after the broker refused three.

    This command sends nothing: a running position manager sends a new exit on its next time
    pass, and a restarted one on start. Run it with the session stopped, or the session's next
    write to this position is refused as stale (restart it then).
    """
    from tradeloop.app.trading import trading_stack

    why = _reason(reason)
    loaded = settings()
    _mode_banner(loaded)
    position = trading_stack(loaded).positions.allow_exit_retry(position_id, why)
    console.print(f"position {position_id}: {position.state.value}, exits may be sent again")


def trades(
    day: str | None = DAY_OPTION,
    as_json: bool = JSON_OPTION,
    report: bool = typer.Option(
        False,
        "--report",
        help="Write the day's page (report.html: the trades on the price, the P&L) under "
        "<data_dir>/reports/days/<day>/.",
    ),
    open_page: bool = typer.Option(False, "--open", help="With --report: open it in a browser."),
    png: bool = typer.Option(False, "--png", help="With --report: also write day.png."),
) -> None:
    """Closed round trips of a day with charges, net P&L and R multiple, and the day's total;
    --report writes the day's page."""
    if (open_page or png) and not report:
        raise UserError(
            "--open and --png go with --report: tradeloop trades --day D --report --png"
        )
    if report and as_json:
        raise UserError("--json prints the trades and --report writes the page: use one of them")
    wanted = _day(day)
    ledger, mode = _ledger_to_show(show=not as_json)
    rows = ledger.trades(wanted)
    if as_json:
        tables.print_json(tables.trades_json(rows, mode, wanted))
        return
    if not rows:
        note = ": no report written (a page needs a trade)" if report else ""
        console.print(f"no trades on {wanted}{note}", highlight=False)
        return
    console.print(tables.trades_table(rows, f"trades of {wanted} (times IST)"))
    console.print(tables.trades_total(rows), highlight=False)
    if report:
        _write_day_report(wanted, rows, _day_mode(ledger, rows, mode), open_page, png)


def _day_mode(ledger: Ledger, rows: list[TradeRecord], mode: str) -> str:
    """The mode the day's entries were sent in (their orders say), else the mode in force."""
    entries = {t.position_id for t in rows}
    sent = {
        order.mode for order in ledger.orders(rows[0].trading_day) if order.intent_id in entries
    }
    return sent.pop() if len(sent) == 1 else mode


def _write_day_report(
    day: date, rows: list[TradeRecord], mode: str, open_page: bool, png: bool
) -> None:
    from tradeloop.app import stores
    from tradeloop.reports.day import no_candles_note, write_html
    from tradeloop.reports.day_data import TradingDayRecord, charts, is_index_chart, load_candles

    loaded = settings()
    deployments = stores.deployment_store(loaded)
    try:
        names = {d.id: d.name for d in deployments.deployments(include_retired=True)}
    finally:
        deployments.close()
    candles = load_candles(stores.candle_store(loaded), rows, day)
    record = TradingDayRecord(day, mode, rows, names, candles)
    for chart in charts(rows):
        if is_index_chart(chart) and chart not in candles:
            console.print(no_candles_note(chart, record), highlight=False, markup=False)
    paths = [write_html(record, loaded.data_dir)]
    if png:
        from tradeloop.reports.day_png import write_png

        paths.append(write_png(record, loaded.data_dir))
    for path in paths:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if open_page:
        webbrowser.open(paths[0].resolve().as_uri())


def _day(text: str | None) -> date:
    if text is None:
        return _today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--day {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-01-06") from None

"""`tradeloop` commands for trading: kill switch, live check, positions, orders, trades.

Every command that reads or changes trading state prints the trading mode first, so nobody
mistakes a paper ledger for a live one. Times are shown in IST, money in rupees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tradeloop.cli._common import console, fail, settings
from tradeloop.domain.money import rupees
from tradeloop.errors import TradingRefusedError, UserError
from tradeloop.settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    # Imported where used: `tradeloop --help` must not pay for SQLAlchemy and numba.
    from tradeloop.domain.execution.mode import ModeReport
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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(kill_switch_app, name="kill-switch")
    app.add_typer(live_app, name="live")
    app.add_typer(orders_app, name="orders")
    app.add_typer(positions_app, name="positions")
    app.command("trades")(trades)


def _mode_banner(loaded: Settings) -> ModeReport:
    from tradeloop.app.trading import live_mode_report

    report = live_mode_report(loaded)
    style = "bold red" if report.live_allowed else "bold green"
    note = "" if report.requested == report.mode else f" (requested {report.requested}: refused)"
    console.print(f"mode: [{style}]{report.mode.value}[/]{note}", highlight=False)
    return report


def _ledger() -> Ledger:
    """The configured ledger, after printing the trading mode."""
    loaded = settings()
    _mode_banner(loaded)
    from tradeloop.app import stores

    return stores.ledger(loaded)


def _ledger_to_show() -> Ledger:
    """The ledger for `positions`, `orders`, `trades`: refused while a requested live is refused.

    Showing the ledger then (exit 0, paper orders under a "requested live" note) let a user
    believe live trading was on. The kill-switch commands still work: they are the way out.
    """
    loaded = settings()
    report = _mode_banner(loaded)
    if report.requested != report.mode:
        raise TradingRefusedError(
            f"{report.refusal_message()}. Nothing is shown while live is requested but refused; "
            f"turn on the missing switches, or set {ENV_PREFIX}TRADING_MODE=paper (or unset it) "
            "to see the paper ledger"
        )
    from tradeloop.app import stores

    return stores.ledger(loaded)


def _today() -> date:
    from tradeloop.domain.market.calendar import to_ist

    return to_ist(datetime.now(UTC)).date()


def _ist(moment: datetime | None) -> str:
    from tradeloop.domain.market.calendar import to_ist

    return "" if moment is None else to_ist(moment).strftime("%Y-%m-%d %H:%M:%S")


def _rupees(value: float | None) -> str:
    return "" if value is None else rupees(value)


def _price(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


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
    console.print(f"kill switch [bold red]ON[/] at {_ist(switch.changed_at)} IST: {switch.reason}")


@kill_switch_app.command("off")
def kill_switch_off(
    reason: str = typer.Option(..., "--reason", help="Why it is safe again."),
) -> None:
    """Turn the kill switch off (trading resumes; a HALTED day stays halted)."""
    why = _reason(reason)
    ledger = _ledger()
    switch = ledger.set_kill_switch(False, why, datetime.now(UTC))
    console.print(
        f"kill switch [bold green]off[/] at {_ist(switch.changed_at)} IST: {switch.reason}"
    )
    day = ledger.day_state(_today())
    if day.state.value != "ACTIVE":
        console.print(f"today is still {day.state.value}: {day.reason}")


@kill_switch_app.command("status")
def kill_switch_status() -> None:
    """Show the kill switch, today's trading state, and the switch's recent history."""
    ledger = _ledger()
    switch = ledger.kill_switch()
    state = "[bold red]ON[/]" if switch.engaged else "[green]off[/]"
    since = f" since {_ist(switch.changed_at)} IST ({switch.reason})" if switch.changed_at else ""
    console.print(f"kill switch: {state}{since}")
    day = ledger.day_state(_today())
    console.print(f"today ({day.trading_day}): {day.state.value} {day.reason}".rstrip())
    history = ledger.kill_switch_history()[-5:]
    if history:
        table = Table("changed (IST)", "switch", "reason", title="recent changes")
        for entry in history:
            table.add_row(_ist(entry.changed_at), "on" if entry.engaged else "off", entry.reason)
        console.print(table)


# -- live check ---------------------------------------------------------------------------------


@live_app.command("check")
def live_check() -> None:
    """Show each live switch (set or missing, never its value); exit 1 when live is refused."""
    loaded = settings()
    report = _mode_banner(loaded)
    table = Table("switch", "state", "to turn it on")
    for switch in report.switches:
        state = f"[green]{switch.state}[/]" if switch.ok else f"[red]{switch.state}[/]"
        table.add_row(switch.variable, state, "" if switch.ok else switch.fix)
    console.print(table)
    if not report.live_allowed:
        raise fail(report.refusal_message(), code=1)
    console.print("[bold red]live trading is allowed: orders go to Dhan with real money[/]")


# -- positions, orders, trades ------------------------------------------------------------------


@positions_app.callback()
def positions(
    ctx: typer.Context,
    day: str | None = DAY_OPTION,
    all_days: bool = typer.Option(False, "--all", help="Every position, not only one day's."),
) -> None:
    """Positions of a day (and any still open), with state, stop, target and entry."""
    if ctx.invoked_subcommand is not None:
        return
    ledger = _ledger_to_show()
    wanted = None if all_days else _day(day)
    rows = ledger.positions(wanted)
    if wanted is not None:
        known = {p.position_id for p in rows}
        rows += [p for p in ledger.positions(active_only=True) if p.position_id not in known]
    table = Table(
        "opened (IST)",
        "strategy",
        "symbol",
        "side",
        "qty",
        "state",
        "entry",
        "stop",
        "target",
        "exit",
        "reason",
        "id",
        title=f"positions{'' if wanted is None else f' of {wanted}'}",
    )
    for p in rows:
        table.add_row(
            _ist(p.opened_at),
            p.strategy_id,
            p.symbol,
            "long" if p.direction > 0 else "short",
            str(p.filled_quantity or p.quantity),
            p.state.value,
            _price(p.entry_price),
            _price(p.stop),
            _price(p.target),
            _price(p.exit_price),
            p.exit_reason.value if p.exit_reason else p.message[:40],
            p.position_id,
        )
    console.print(table if rows else "no positions")


@orders_app.callback()
def orders(ctx: typer.Context, day: str | None = DAY_OPTION) -> None:
    """Orders of a day: status, broker id, fills; refusals by the risk manager below."""
    if ctx.invoked_subcommand is not None:
        return
    ledger = _ledger_to_show()
    wanted = _day(day)
    records = ledger.orders(wanted)
    table = Table(
        "created (IST)",
        "strategy",
        "symbol",
        "side",
        "qty",
        "type",
        "status",
        "filled",
        "avg price",
        "broker id",
        "intent id",
        title=f"orders of {wanted}",
    )
    for r in records:
        table.add_row(
            _ist(r.created_at),
            r.intent.strategy_id,
            r.intent.symbol,
            r.intent.side.value,
            str(r.intent.quantity),
            r.intent.order_type.value + (" exit" if r.intent.is_exit else ""),
            r.status.value,
            str(r.filled_quantity),
            _price(r.average_price),
            r.broker_order_id or "",
            r.intent_id,
        )
    console.print(table if records else f"no orders on {wanted}")
    refusals = ledger.refusals(wanted)
    if refusals:
        refused = Table(
            "at (IST)",
            "strategy",
            "symbol",
            "side",
            "qty",
            "reasons",
            title="refused (nothing sent)",
        )
        for refusal in refusals:
            refused.add_row(
                _ist(refusal.at),
                refusal.intent.strategy_id,
                refusal.intent.symbol,
                refusal.intent.side.value,
                str(refusal.intent.quantity),
                "; ".join(refusal.reasons),
            )
        console.print(refused)


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


def trades(day: str | None = DAY_OPTION) -> None:
    """Closed round trips of a day with costs, net P&L and R multiple, and the day's total."""
    ledger = _ledger_to_show()
    wanted = _day(day)
    rows = ledger.trades(wanted)
    table = Table(
        "entry (IST)",
        "exit (IST)",
        "strategy",
        "symbol",
        "side",
        "qty",
        "entry",
        "exit",
        "reason",
        "gross",
        "costs",
        "net",
        "R",
        title=f"trades of {wanted}",
    )
    for t in rows:
        table.add_row(
            _ist(t.entry_time),
            _ist(t.exit_time),
            t.strategy_id,
            t.symbol,
            "long" if t.direction > 0 else "short",
            str(t.quantity),
            _price(t.entry_price),
            _price(t.exit_price),
            t.exit_reason.value,
            _rupees(t.gross_pnl),
            _rupees(t.costs),
            _rupees(t.net_pnl),
            f"{t.r_multiple:+.2f}",
        )
    console.print(table if rows else f"no trades on {wanted}")
    if rows:
        net = sum(t.net_pnl for t in rows)
        console.print(
            f"net P&L {_rupees(net)} over {len(rows)} trade(s), "
            f"costs {_rupees(sum(t.costs for t in rows))}"
        )


def _day(text: str | None) -> date:
    if text is None:
        return _today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--day {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-01-06") from None

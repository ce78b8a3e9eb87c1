"""What `positions`, `orders`, `trades`, `kill-switch status` and `live check` print: tables that
fit an 80-column terminal, and the same rows as JSON.

A table cell may hold two lines (an id above its strategy, a time above its price), so that
every id and time is shown whole at 80 columns instead of being cut to "…". Times are IST;
money is in rupees. The JSON keeps every field of the ledger's records, times in ISO 8601 with
their IST offset and numbers as numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column, Table

from tradeloop.cli._backtest_report import _REASON_LABELS as REASON_LABELS
from tradeloop.cli._common import compact_table
from tradeloop.domain.money import rupees

if TYPE_CHECKING:
    from tradeloop.domain.execution.journal import OrderRecord, Refusal
    from tradeloop.domain.execution.mode import ModeReport
    from tradeloop.domain.positions.model import Position, TradeRecord
    from tradeloop.domain.risk.state import KillSwitch

# Short order-type labels, so an order row fits 80 columns; --json keeps the full names.
_ORDER_TYPES = {"MARKET": "market", "LIMIT": "limit", "STOP_LOSS": "SL", "STOP_LOSS_MARKET": "SL-M"}


def ist(moment: datetime | None, layout: str = "%Y-%m-%d %H:%M:%S") -> str:
    """`moment` on the IST clock ("" when there is none)."""
    from tradeloop.domain.market.calendar import to_ist

    return "" if moment is None else to_ist(moment).strftime(layout)


def price(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def side(direction: int) -> str:
    return "long" if direction > 0 else "short"


def reason_label(reason: str) -> str:
    return REASON_LABELS.get(reason, reason)


def print_json(payload: dict[str, Any]) -> None:
    """`payload` as indented JSON on stdout: times in IST with their offset, days YYYY-MM-DD."""
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: object) -> str:
    from tradeloop.domain.market.calendar import to_ist

    if isinstance(value, datetime):
        return to_ist(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _ids(header: str) -> Column:
    """A column of ids (with names under them), as wide as an id (22 characters: an intent id,
    a deployment id); a longer name folds onto a next line, never cut to "…"."""
    return Column(header, overflow="fold", min_width=22)


def _fixed(header: str, *, right: bool = False) -> Column:
    return Column(header, no_wrap=True, justify="right" if right else "left")


# -- positions ----------------------------------------------------------------------------------


def positions_table(rows: Sequence[Position], title: str) -> Table:
    """Each position: its id above its strategy, when it opened, what it holds, its state above
    its exit reason, its entry above its exit price, its stop above its target."""
    table = compact_table(
        title,
        _ids("position / strategy"),
        _fixed("opened"),
        _fixed("holds"),
        _fixed("state"),
        _fixed("entry/exit", right=True),
        _fixed("stop/target", right=True),
    )
    for p in rows:
        table.add_row(
            f"{p.position_id}\n{p.strategy_id}",
            ist(p.opened_at, "%Y-%m-%d\n%H:%M:%S"),
            f"{p.symbol}\n{side(p.direction)} {p.filled_quantity or p.quantity}",
            f"{p.state.value}\n{reason_label(p.exit_reason.value) if p.exit_reason else ''}",
            f"{price(p.entry_price)}\n{price(p.exit_price)}",
            f"{price(p.stop)}\n{price(p.target)}",
        )
    return table


def position_notes(rows: Sequence[Position]) -> list[str]:
    """What the ledger says about each position that has no exit reason (a refusal, an
    unknown entry): one line a position, under the table."""
    return [f"{p.position_id}: {p.message}" for p in rows if p.message and not p.exit_reason]


def positions_json(rows: Sequence[Position], mode: str, day: date | None) -> dict[str, Any]:
    return {
        "mode": mode,
        "day": day,
        "positions": [p.model_dump() | {"side": side(p.direction)} for p in rows],
    }


# -- orders -------------------------------------------------------------------------------------


def orders_table(records: Sequence[OrderRecord], title: str) -> Table:
    """Each order: its intent id above its strategy and the broker's id, the time it was
    created, what it asks, its type, its status and what filled at what average price."""
    table = compact_table(
        title,
        _ids("intent / strategy"),
        _fixed("created"),
        _fixed("order"),
        _fixed("type"),
        _fixed("status"),
        _fixed("filled @ avg", right=True),
    )
    for r in records:
        broker = f"\n{r.broker_order_id}" if r.broker_order_id else ""
        average = f" @ {price(r.average_price)}" if r.average_price is not None else ""
        table.add_row(
            f"{r.intent_id}\n{r.intent.strategy_id}{broker}",
            ist(r.created_at, "%H:%M:%S"),
            f"{r.intent.symbol}\n{r.intent.side.value} {r.intent.quantity}",
            _ORDER_TYPES.get(r.intent.order_type.value, r.intent.order_type.value)
            + ("\nexit" if r.intent.is_exit else "\nentry"),
            r.status.value,
            f"{r.filled_quantity}{average}",
        )
    return table


def refusals_table(refusals: Sequence[Refusal]) -> Table:
    """Entries the risk manager refused (nothing was sent), each with its reasons."""
    table = compact_table(
        "refused (nothing sent)",
        _fixed("at (IST)"),
        _ids("strategy"),
        _fixed("order"),
        Column("reasons", overflow="fold", ratio=1),
    )
    for refusal in refusals:
        table.add_row(
            ist(refusal.at, "%H:%M:%S"),
            refusal.intent.strategy_id,
            f"{refusal.intent.symbol}\n{refusal.intent.side.value} {refusal.intent.quantity}",
            "; ".join(refusal.reasons),
        )
    return table


def orders_json(
    records: Sequence[OrderRecord], refusals: Sequence[Refusal], mode: str, day: date
) -> dict[str, Any]:
    return {
        "mode": mode,
        "day": day,
        "orders": [r.model_dump() | {"intent_id": r.intent_id} for r in records],
        "refusals": [
            refusal.model_dump() | {"intent_id": refusal.intent.id} for refusal in refusals
        ],
    }


# -- trades -------------------------------------------------------------------------------------


def trades_table(rows: Sequence[TradeRecord], title: str) -> Table:
    """Each round trip: its strategy above what it traded, its entry and exit (time above
    price, IST), why it closed, its net P&L after charges and R multiple."""
    table = compact_table(
        title,
        _ids("strategy / trade"),
        _fixed("entry", right=True),
        _fixed("exit", right=True),
        _fixed("reason"),
        _fixed("net", right=True),
        _fixed("R", right=True),
    )
    for t in rows:
        table.add_row(
            f"{t.strategy_id}\n{t.symbol} {side(t.direction)} {t.quantity}",
            f"{ist(t.entry_time, '%H:%M:%S')}\n{price(t.entry_price)}",
            f"{ist(t.exit_time, '%H:%M:%S')}\n{price(t.exit_price)}",
            reason_label(t.exit_reason.value),
            rupees(t.net_pnl),
            f"{t.r_multiple:+.2f}",
        )
    return table


def trades_total(rows: Sequence[TradeRecord]) -> str:
    net, costs = sum(t.net_pnl for t in rows), sum(t.costs for t in rows)
    wins = sum(1 for t in rows if t.net_pnl > 0)
    return (
        f"net P&L {rupees(net)} over {len(rows)} trade(s) ({wins} won, {len(rows) - wins} "
        f"lost), charges {rupees(costs)}"
    )


def trades_json(rows: Sequence[TradeRecord], mode: str, day: date) -> dict[str, Any]:
    return {
        "mode": mode,
        "day": day,
        "trades": [t.model_dump() | {"side": side(t.direction)} for t in rows],
        "net_pnl": sum(t.net_pnl for t in rows),
        "costs": sum(t.costs for t in rows),
    }


# -- kill switch, live switches ---------------------------------------------------------------


def kill_switch_table(history: Sequence[KillSwitch]) -> Table:
    table = compact_table(
        "recent changes",
        _fixed("changed (IST)"),
        _fixed("switch"),
        Column("reason", overflow="fold", ratio=1),
    )
    for entry in history:
        table.add_row(ist(entry.changed_at), "on" if entry.engaged else "off", entry.reason)
    return table


def switches_table(report: ModeReport) -> Table:
    """Each live switch: its variable, set or missing (never its value), how to turn it on."""
    table = compact_table(
        None, _fixed("switch"), _fixed("state"), Column("to turn it on", overflow="fold", ratio=1)
    )
    for switch in report.switches:
        state = f"[green]{switch.state}[/]" if switch.ok else f"[red]{switch.state}[/]"
        table.add_row(switch.variable, state, "" if switch.ok else switch.fix)
    return table


def switches_json(report: ModeReport) -> dict[str, Any]:
    return {
        "requested": report.requested.value,
        "mode": report.mode.value,
        "live_allowed": report.live_allowed,
        "switches": [switch.model_dump() for switch in report.switches],
    }

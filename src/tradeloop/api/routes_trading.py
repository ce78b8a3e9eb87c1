"""The ledger over HTTP: positions, orders, trades, daily P&L, and the kill switch.

The reads are the ledger's own queries, the ones `tradeloop positions|orders|trades` print; the
kill switch is recorded by the same `set_kill_switch` as `tradeloop kill-switch on|off`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from tradeloop.api.auth import AUTH_RESPONSES, Authorized
from tradeloop.api.deps import LedgerDep, ShownLedgerDep
from tradeloop.api.errors import LEDGER_DOWN, LIVE_REFUSED, documented, invalid_input
from tradeloop.api.models import (
    DailyPnlOut,
    KillSwitchRequest,
    KillSwitchState,
    OrderOut,
    OrdersOut,
    PositionOut,
    RefusalOut,
    TradeOut,
    TradesOut,
    ist,
)
from tradeloop.domain.market.calendar import to_ist

router = APIRouter(tags=["trading"])

_SHOWN = documented(e409=LIVE_REFUSED, e503=LEDGER_DOWN)

DayQuery = Annotated[date | None, Query(description="Trading day YYYY-MM-DD (IST); default today.")]


def today() -> date:
    return to_ist(datetime.now(UTC)).date()


@router.get(
    "/positions",
    response_model=list[PositionOut],
    summary="Positions of a day and the open ones",
    responses=_SHOWN,
)
def positions(
    ledger: ShownLedgerDep,
    day: DayQuery = None,
    all_days: Annotated[
        bool, Query(alias="all", description="Every position, not only one day's.")
    ] = False,
) -> list[PositionOut]:
    """Positions of a day and any still open (with `all=true`, every position)."""
    if all_days:
        return [PositionOut.of(p) for p in ledger.positions()]
    rows = ledger.positions(day or today())
    known = {p.position_id for p in rows}
    rows += [p for p in ledger.positions(active_only=True) if p.position_id not in known]
    return [PositionOut.of(p) for p in rows]


@router.get(
    "/orders",
    response_model=OrdersOut,
    summary="Orders and refused intents of a day",
    responses=_SHOWN,
)
def orders(ledger: ShownLedgerDep, day: DayQuery = None) -> OrdersOut:
    """Orders of a day with their status and fills, and the intents the risk manager refused."""
    wanted = day or today()
    return OrdersOut(
        trading_day=wanted,
        orders=[OrderOut.of(r) for r in ledger.orders(wanted)],
        refused=[RefusalOut.of(r) for r in ledger.refusals(wanted)],
    )


@router.get(
    "/trades",
    response_model=TradesOut,
    summary="Closed round trips with costs and net P&L",
    responses=_SHOWN,
)
def trades(
    ledger: ShownLedgerDep,
    start: Annotated[
        date | None, Query(alias="from", description="First trading day YYYY-MM-DD (IST).")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="Last trading day YYYY-MM-DD (IST).")
    ] = None,
) -> TradesOut:
    """Closed round trips between two trading days (both included; default every day)."""
    if start is not None and end is not None and start > end:
        raise invalid_input("from", f"{start} is after to={end}: swap them")
    rows = [
        t
        for t in ledger.trades()
        if (start is None or t.trading_day >= start) and (end is None or t.trading_day <= end)
    ]
    listed = [TradeOut.of(t) for t in rows]
    return TradesOut(
        start=start,
        end=end,
        trades=listed,
        net_pnl=sum(t.net_pnl for t in rows),
        costs=sum(t.costs for t in rows),
    )


@router.get(
    "/pnl/daily",
    response_model=list[DailyPnlOut],
    summary="Closed P&L per trading day",
    responses=_SHOWN,
)
def daily_pnl(ledger: ShownLedgerDep) -> list[DailyPnlOut]:
    """Each trading day's closed P&L in rupees, oldest first."""
    rows = sorted(ledger.daily_pnl(), key=lambda row: row.trading_day)
    return [
        DailyPnlOut(
            trading_day=row.trading_day,
            trades=row.trades,
            gross_pnl=row.gross_pnl,
            costs=row.costs,
            net_pnl=row.net_pnl,
        )
        for row in rows
    ]


@router.post(
    "/kill-switch",
    response_model=KillSwitchState,
    dependencies=[Authorized],
    summary="Turn the kill switch on or off",
    responses=AUTH_RESPONSES | documented(e503=LEDGER_DOWN),
)
def kill_switch(body: KillSwitchRequest, ledger: LedgerDep) -> KillSwitchState:
    """Turn the kill switch on (no new orders; a running position manager flattens what is
    open) or off. Only records the switch, as `tradeloop kill-switch on|off`: sends no order."""
    reason = body.reason.strip()
    if not reason:
        raise invalid_input("reason", "is blank: say why (it goes in the ledger)", where="body")
    switch = ledger.set_kill_switch(body.engaged, reason, datetime.now(UTC))
    return KillSwitchState(
        engaged=switch.engaged, reason=switch.reason, changed_at=ist(switch.changed_at)
    )

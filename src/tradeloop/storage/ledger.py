"""The trading ledger (SQLModel): orders, fills, positions and their events, trades, daily P&L,
the kill switch and the trading state, and the paper broker's book.

One `Ledger` implements every storage port of the order path: `OrderJournal`,
`TradingControlStore`, `PositionStore` and `PaperBookStore`. SQLite under the data directory by
default (`settings.ledger_url`), PostgreSQL through `TRADELOOP_DATABASE_URL`. The unique
`orders.intent_id` is the last line of defence against creating an order twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.execution.journal import DuplicateIntentError, OrderRecord, Refusal, merged
from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderStatus
from tradeloop.domain.execution.paper_book import PaperOrder
from tradeloop.domain.positions.accounting import Account, account
from tradeloop.domain.positions.model import Position, PositionEvent, TradeRecord
from tradeloop.domain.positions.store import StaleWriteError, fill_day
from tradeloop.domain.risk.state import DayState, KillSwitch, TradingState
from tradeloop.errors import NotFoundError
from tradeloop.storage.ledger_engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    LedgerDatabase,
    create_ledger_engine,
    transaction,
)
from tradeloop.storage.ledger_models import (
    DailyPnlRow,
    FillRow,
    KillSwitchRow,
    OrderRow,
    PaperFillRow,
    PaperOrderRow,
    PositionEventRow,
    PositionRow,
    RefusalRow,
    TradeRow,
    TradingStateRow,
)


class Ledger(LedgerDatabase):
    """The ledger on one database. Create it with `open_ledger(url)`."""

    # -- OrderJournal -------------------------------------------------------------------------

    def get(self, intent_id: str) -> OrderRecord | None:
        with transaction(self.engine) as session:
            row = session.exec(select(OrderRow).where(OrderRow.intent_id == intent_id)).first()
            return None if row is None else _order_record(row)

    def create_pending(
        self, intent: OrderIntent, broker: str, mode: str, now: datetime
    ) -> OrderRecord:
        row = OrderRow(
            intent_id=intent.id,
            correlation_id=intent.id,
            broker=broker,
            mode=mode,
            strategy_id=intent.strategy_id,
            trading_day=intent.trading_day,
            symbol=intent.symbol,
            security_id=intent.security_id,
            side=intent.side.value,
            quantity=intent.quantity,
            order_type=intent.order_type.value,
            is_exit=intent.is_exit,
            status=OrderStatus.PENDING.value,
            intent=intent.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
        )
        try:
            with transaction(self.engine) as session:
                session.add(row)
        except IntegrityError:
            raise DuplicateIntentError(intent.id) from None
        return _order_record(row)

    def update(self, intent_id: str, order: BrokerOrder, now: datetime) -> OrderRecord:
        with transaction(self.engine) as session:
            row = session.exec(select(OrderRow).where(OrderRow.intent_id == intent_id)).one()
            record = merged(_order_record(row), order, now)
            row.status = record.status.value
            row.broker_order_id = record.broker_order_id
            row.filled_quantity = record.filled_quantity
            row.average_price = record.average_price
            row.message = record.message
            row.updated_at = now
            session.add(row)
            return record

    def record_refusal(self, refusal: Refusal) -> None:
        with transaction(self.engine) as session:
            session.add(
                RefusalRow(
                    intent_id=refusal.intent.id,
                    strategy_id=refusal.intent.strategy_id,
                    trading_day=refusal.intent.trading_day,
                    reasons=list(refusal.reasons),
                    intent=refusal.intent.model_dump(mode="json"),
                    at=refusal.at,
                )
            )

    def orders(self, trading_day: date | None = None) -> list[OrderRecord]:
        query = select(OrderRow).order_by(col(OrderRow.id))
        if trading_day is not None:
            query = query.where(OrderRow.trading_day == trading_day)
        with transaction(self.engine) as session:
            return [_order_record(row) for row in session.exec(query)]

    def refusals(self, trading_day: date | None = None) -> list[Refusal]:
        query = select(RefusalRow).order_by(col(RefusalRow.id))
        if trading_day is not None:
            query = query.where(RefusalRow.trading_day == trading_day)
        with transaction(self.engine) as session:
            return [
                Refusal(
                    intent=OrderIntent.model_validate(row.intent),
                    reasons=tuple(row.reasons),
                    at=row.at,
                )
                for row in session.exec(query)
            ]

    # -- TradingControlStore ------------------------------------------------------------------

    def kill_switch(self) -> KillSwitch:
        with transaction(self.engine) as session:
            row = session.exec(select(KillSwitchRow).order_by(col(KillSwitchRow.id).desc())).first()
            if row is None:
                return KillSwitch()
            return KillSwitch(engaged=row.engaged, reason=row.reason, changed_at=row.changed_at)

    def kill_switch_history(self) -> list[KillSwitch]:
        with transaction(self.engine) as session:
            rows = session.exec(select(KillSwitchRow).order_by(col(KillSwitchRow.id)))
            return [
                KillSwitch(engaged=r.engaged, reason=r.reason, changed_at=r.changed_at)
                for r in rows
            ]

    def set_kill_switch(self, engaged: bool, reason: str, now: datetime) -> KillSwitch:
        with transaction(self.engine) as session:
            session.add(KillSwitchRow(engaged=engaged, reason=reason, changed_at=now))
        return KillSwitch(engaged=engaged, reason=reason, changed_at=now)

    def day_state(self, trading_day: date) -> DayState:
        with transaction(self.engine) as session:
            row = session.get(TradingStateRow, trading_day)
            if row is None:
                return DayState(trading_day=trading_day)
            return DayState(
                trading_day=trading_day,
                state=TradingState(row.state),
                reason=row.reason,
                changed_at=row.changed_at,
            )

    def set_day_state(
        self, trading_day: date, state: TradingState, reason: str, now: datetime
    ) -> DayState:
        with transaction(self.engine) as session:
            row = session.get(TradingStateRow, trading_day)
            if row is not None and TradingState(row.state).strictness > state.strictness:
                return DayState(
                    trading_day=trading_day,
                    state=TradingState(row.state),
                    reason=row.reason,
                    changed_at=row.changed_at,
                )
            row = row or TradingStateRow(trading_day=trading_day, state="", reason="")
            row.state, row.reason, row.changed_at = state.value, reason, now
            session.add(row)
        return DayState(trading_day=trading_day, state=state, reason=reason, changed_at=now)

    # -- PositionStore ------------------------------------------------------------------------

    def position(self, position_id: str) -> Position | None:
        with transaction(self.engine) as session:
            row = session.get(PositionRow, position_id)
            return None if row is None else Position.model_validate(row.data)

    def positions(
        self, trading_day: date | None = None, *, active_only: bool = False
    ) -> list[Position]:
        query = select(PositionRow).order_by(
            col(PositionRow.created_at), col(PositionRow.position_id)
        )
        if trading_day is not None:
            query = query.where(PositionRow.trading_day == trading_day)
        if active_only:
            query = query.where(col(PositionRow.state).not_in(["CLOSED", "REJECTED"]))
        with transaction(self.engine) as session:
            return [Position.model_validate(row.data) for row in session.exec(query)]

    def save(
        self,
        position: Position,
        event: PositionEvent,
        fills: Sequence[BrokerFill] = (),
        trade: TradeRecord | None = None,
    ) -> None:
        with transaction(self.engine) as session:
            row = session.get(PositionRow, position.position_id)
            expected = (row.version if row else 0) + 1
            if position.version != expected:
                raise StaleWriteError(position.position_id, expected, position.version)
            row = row or PositionRow(
                position_id=position.position_id,
                strategy_id=position.strategy_id,
                trading_day=position.trading_day,
                symbol=position.symbol,
                security_id=position.security_id,
                state="",
                version=0,
                data={},
                created_at=position.updated_at,
                updated_at=position.updated_at,
            )
            row.state = position.state.value
            row.version = position.version
            row.data = position.model_dump(mode="json")
            row.updated_at = position.updated_at
            session.add(row)
            session.add(
                PositionEventRow(
                    position_id=event.position_id,
                    sequence=event.sequence,
                    kind=event.kind,
                    from_state=event.from_state.value if event.from_state else None,
                    to_state=event.to_state.value,
                    detail=dict(event.detail),
                    at=event.at,
                )
            )
            known = set(
                session.exec(
                    select(FillRow.fill_id).where(
                        col(FillRow.fill_id).in_([fill.fill_id for fill in fills])
                    )
                )
            )
            for fill in fills:
                if fill.fill_id not in known:
                    session.add(_fill_row(fill))
                    known.add(fill.fill_id)
            if trade is not None:
                session.add(TradeRow(**trade.model_dump(mode="python")))
                self._add_to_daily_pnl(session, trade)

    def record_fill(self, fill: BrokerFill) -> bool:
        """Record a fill outside a position transition; False when it was already recorded."""
        with transaction(self.engine) as session:
            exists = session.exec(select(FillRow.id).where(FillRow.fill_id == fill.fill_id)).first()
            if exists is not None:
                return False
            session.add(_fill_row(fill))
            return True

    def events(self, position_id: str) -> list[PositionEvent]:
        query = (
            select(PositionEventRow)
            .where(PositionEventRow.position_id == position_id)
            .order_by(col(PositionEventRow.sequence))
        )
        with transaction(self.engine) as session:
            return [
                PositionEvent(
                    position_id=row.position_id,
                    sequence=row.sequence,
                    at=row.at,
                    kind=row.kind,
                    from_state=row.from_state,  # type: ignore[arg-type]
                    to_state=row.to_state,  # type: ignore[arg-type]
                    detail=row.detail,
                )
                for row in session.exec(query)
            ]

    def fills(self, trading_day: date | None = None) -> list[BrokerFill]:
        query = select(FillRow).order_by(col(FillRow.id))
        if trading_day is not None:
            query = query.where(FillRow.trading_day == trading_day)
        with transaction(self.engine) as session:
            return [_broker_fill(row) for row in session.exec(query)]

    def trades(self, trading_day: date | None = None) -> list[TradeRecord]:
        query = select(TradeRow).order_by(col(TradeRow.id))
        if trading_day is not None:
            query = query.where(TradeRow.trading_day == trading_day)
        with transaction(self.engine) as session:
            return [
                TradeRecord.model_validate(row.model_dump(exclude={"id"}))
                for row in session.exec(query)
            ]

    def daily_pnl(self) -> list[DailyPnlRow]:
        with transaction(self.engine) as session:
            return list(session.exec(select(DailyPnlRow).order_by(col(DailyPnlRow.trading_day))))

    def cash(self, initial_cash: float) -> float:
        """Initial cash plus the sum of every fill's cash flow (computed by the database)."""
        with transaction(self.engine) as session:
            total = session.exec(select(func.coalesce(func.sum(FillRow.cash_flow), 0.0))).one()
            return initial_cash + float(total)

    def account(self, initial_cash: float, marks: Mapping[str, float]) -> Account:
        """Cash (summed in SQL) and average-cost holdings (walked over the fills), marked."""
        return account(initial_cash, self.fills(), marks, cash=self.cash(initial_cash))

    @staticmethod
    def _add_to_daily_pnl(session: Any, trade: TradeRecord) -> None:
        row = session.get(DailyPnlRow, trade.trading_day) or DailyPnlRow(
            trading_day=trade.trading_day
        )
        row.gross_pnl += trade.gross_pnl
        row.costs += trade.costs
        row.net_pnl += trade.net_pnl
        row.trades += 1
        session.add(row)

    # -- PaperBookStore -----------------------------------------------------------------------

    def paper_orders(self) -> list[PaperOrder]:
        with transaction(self.engine) as session:
            rows = session.exec(select(PaperOrderRow).order_by(col(PaperOrderRow.order_id)))
            return [PaperOrder.model_validate(row.data) for row in rows]

    def paper_fills(self) -> list[BrokerFill]:
        with transaction(self.engine) as session:
            rows = session.exec(select(PaperFillRow).order_by(col(PaperFillRow.id)))
            return [BrokerFill.model_validate(row.data) for row in rows]

    def commit_paper(self, orders: Sequence[PaperOrder], fills: Sequence[BrokerFill]) -> None:
        with transaction(self.engine) as session:
            for order in orders:
                row = session.get(PaperOrderRow, order.order_id) or PaperOrderRow(
                    order_id=order.order_id, correlation_id=order.correlation_id, data={}
                )
                row.data = order.model_dump(mode="json")
                session.add(row)
            for fill in fills:
                session.add(PaperFillRow(fill_id=fill.fill_id, data=fill.model_dump(mode="json")))


def open_ledger(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Ledger:
    """The ledger at `url` (tables created if missing)."""
    return Ledger(create_ledger_engine(url, busy_timeout_ms=busy_timeout_ms))


def _order_record(row: OrderRow) -> OrderRecord:
    return OrderRecord(
        intent=OrderIntent.model_validate(row.intent),
        broker=row.broker,
        mode=row.mode,
        status=OrderStatus(row.status),
        broker_order_id=row.broker_order_id,
        filled_quantity=row.filled_quantity,
        average_price=row.average_price,
        message=row.message,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _fill_row(fill: BrokerFill) -> FillRow:
    return FillRow(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        correlation_id=fill.correlation_id,
        leg=fill.leg.value,
        security_id=fill.security_id,
        side=fill.side.value,
        quantity=fill.quantity,
        price=fill.price,
        costs=dict(fill.costs),
        cost_total=fill.cost_total,
        cash_flow=fill.cash_flow,
        trading_day=fill_day(fill),
        ts=fill.ts,
    )


def _broker_fill(row: FillRow) -> BrokerFill:
    return BrokerFill.model_validate(
        row.model_dump(
            include={
                "fill_id",
                "order_id",
                "correlation_id",
                "leg",
                "security_id",
                "side",
                "quantity",
                "price",
                "costs",
                "ts",
            }
        )
    )


def require_position(ledger: Ledger, position_id: str) -> Position:
    position = ledger.position(position_id)
    if position is None:
        raise NotFoundError(f"no position {position_id} in the ledger: see `tradeloop positions`")
    return position

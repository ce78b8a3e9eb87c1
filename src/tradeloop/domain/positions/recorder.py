"""Writes position transitions: one event per change, checked against the state machine.

Every write bumps the position's version and appends the event that explains it, in one store
transaction together with the fills that caused it and, on close, the trade. A position's
`message` explains its current state: a change of state replaces it (an entry that turns OPEN
drops the "outcome unknown" text it had while UNKNOWN).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tradeloop.domain.execution.fills import BrokerFill, FillLeg
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.exits import trade_record, weighted_price
from tradeloop.domain.positions.model import (
    TRANSITIONS,
    Position,
    PositionEvent,
    PositionState,
    TradeRecord,
)
from tradeloop.domain.positions.stops import stop_exit_reason
from tradeloop.domain.positions.store import PositionStore


class PositionRecorder:
    def __init__(self, store: PositionStore) -> None:
        self.store = store

    def entry_fill(self, position: Position, fill: BrokerFill) -> Position:
        """An execution of the entry: OPEN (from PENDING/UNKNOWN), averaged entry price."""
        state = position.state
        if state in (PositionState.PENDING, PositionState.UNKNOWN):
            state = PositionState.OPEN
        return self.write(
            position.model_copy(
                update={
                    "state": state,
                    "filled_quantity": position.filled_quantity + fill.quantity,
                    "entry_price": weighted_price(
                        position.entry_price, position.filled_quantity, fill
                    ),
                    "entry_costs": position.entry_costs + fill.cost_total,
                    "opened_at": position.opened_at or fill.ts,
                    "message": "" if state is not position.state else position.message,
                }
            ),
            "entry_filled",
            fill.ts,
            from_state=position.state,
            fills=[fill],
            detail={"price": fill.price, "quantity": fill.quantity},
        )

    def exit_fill(self, position: Position, fill: BrokerFill) -> Position:
        """An execution of a stop/target leg or of the exit order: CLOSING, or CLOSED + trade."""
        reason = position.exit_reason
        if reason is None or fill.leg is not FillLeg.ENTRY:
            reason = (
                ExitReason.TARGET
                if fill.leg is FillLeg.TARGET
                else stop_exit_reason(position.state)
            )
        changes: dict[str, Any] = {
            "exit_reason": reason,
            "exit_filled_quantity": position.exit_filled_quantity + fill.quantity,
            "exit_price": weighted_price(position.exit_price, position.exit_filled_quantity, fill),
            "exit_costs": position.exit_costs + fill.cost_total,
        }
        interim = position.model_copy(update=changes)
        detail: dict[str, str | float | int | None] = {
            "price": fill.price,
            "quantity": fill.quantity,
            "leg": fill.leg.value,
            "reason": reason.value,
        }
        if position.state is not PositionState.CLOSING:
            interim = interim.model_copy(update={"message": ""})
        if interim.open_quantity > 0:
            return self.write(
                interim.model_copy(update={"state": PositionState.CLOSING}),
                "exit_part_filled",
                fill.ts,
                from_state=position.state,
                fills=[fill],
                detail=detail,
            )
        closed = interim.model_copy(update={"state": PositionState.CLOSED, "closed_at": fill.ts})
        return self.write(
            closed,
            "closed",
            fill.ts,
            from_state=position.state,
            fills=[fill],
            trade=trade_record(closed),
            detail=detail,
        )

    def transition(
        self,
        position: Position,
        state: PositionState,
        kind: str,
        now: datetime,
        message: str = "",
    ) -> Position:
        if state is position.state:
            message = message or position.message
        return self.write(
            position.model_copy(update={"state": state, "message": message}),
            kind,
            now,
            from_state=position.state,
            detail={"message": message} if message else {},
        )

    def write(
        self,
        position: Position,
        kind: str,
        now: datetime,
        *,
        from_state: PositionState | None,
        fills: Sequence[BrokerFill] = (),
        trade: TradeRecord | None = None,
        detail: dict[str, str | float | int | None] | None = None,
    ) -> Position:
        if from_state is not None and position.state not in TRANSITIONS[from_state]:
            raise AssertionError(f"illegal transition {from_state} -> {position.state}")
        stored = position.model_copy(update={"version": position.version + 1, "updated_at": now})
        event = PositionEvent(
            position_id=stored.position_id,
            sequence=stored.version,
            at=now,
            kind=kind,
            from_state=from_state,
            to_state=stored.state,
            detail=detail or {},
        )
        self.store.save(stored, event, fills, trade)
        return stored

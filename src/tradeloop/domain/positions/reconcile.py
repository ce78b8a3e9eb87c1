"""Start-up reconciliation: make the ledger and the broker agree, or say where they do not.

On start the position manager

1. applies every broker fill it has not recorded (the process may have died between the broker
   filling and the ledger write);
2. settles entries that were PENDING or UNKNOWN: no journalled order → the entry was never sent
   and is not re-sent now (REJECTED: a stale entry must not go out late); a journalled one is
   reconciled by correlation id (found → adopted; not found → UNKNOWN, reported);
3. asks the broker about every other order of the day not final in the journal (one whose
   position a fill already closed, an exit, an order placed through the gateway alone);
4. re-sends a stop the ledger wanted but the broker never acknowledged;
5. finishes positions that were CLOSING (the same exit intent, so never a second order);
6. compares the net units per security in the ledger with the broker's positions, and lists
   broker fills that belong to no position.

It never guesses: anything it cannot settle is drift, and with `strict=True` a
`ReconciliationError` stops the session until a person has looked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from tradeloop.domain.positions.model import PositionState
from tradeloop.errors import OrderStateUnknownError, ReconciliationError

if TYPE_CHECKING:
    from tradeloop.domain.positions.manager import PositionManager


class DriftItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    subject: str
    detail: str


class ReconciliationReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drift: tuple[DriftItem, ...] = ()
    resumed: tuple[str, ...] = ()
    """What was settled or finished, one line each."""

    @property
    def ok(self) -> bool:
        return not self.drift

    def describe(self) -> str:
        if self.ok:
            return "ledger and broker agree"
        lines = [f"- {item.kind} {item.subject}: {item.detail}" for item in self.drift]
        return "ledger and broker disagree:\n" + "\n".join(lines)


def reconcile(manager: PositionManager, *, strict: bool = True) -> ReconciliationReport:
    """Run the start-up reconciliation (see the module docstring)."""
    drift: list[DriftItem] = []
    resumed: list[str] = []
    manager.sync()
    gateway, store = manager.gateway, manager.store
    for position in store.positions(active_only=True):
        if position.state not in (PositionState.PENDING, PositionState.UNKNOWN):
            continue
        record = gateway.journal.get(position.position_id)
        if record is None:
            manager.reject_unsent(position)
            resumed.append(f"{position.position_id}: entry was never sent; not sent late")
            continue
        try:
            gateway.refresh(position.position_id)
        except OrderStateUnknownError as exc:
            manager.mark_unknown(position, str(exc))
            drift.append(
                DriftItem(kind="unknown_entry", subject=position.position_id, detail=str(exc))
            )
    manager.sync(refresh_pending=True)
    settled_above = {item.subject for item in drift}
    drift += [
        DriftItem(kind="unknown_order", subject=intent_id, detail=why)
        for intent_id, why in manager.settle_orders(include_open=True).items()
        if intent_id not in settled_above
    ]
    for position in store.positions(active_only=True):
        unsent_stop = position.stop is not None and position.stop != position.broker_stop
        if (
            unsent_stop
            and position.state.holds_units
            and position.state is not PositionState.CLOSING
        ):
            sent = manager.resend_stop(position)
            outcome = "re-sent" if sent.broker_stop == sent.stop else "still owed (next close)"
            resumed.append(f"{position.position_id}: stop {position.stop} {outcome}")
    for position in store.positions(active_only=True):
        if position.state is PositionState.CLOSING:
            try:
                manager.resume_close(position)
                resumed.append(f"{position.position_id}: close resumed")
            except (ReconciliationError, OrderStateUnknownError) as exc:
                drift.append(DriftItem(kind="close", subject=position.position_id, detail=str(exc)))
    drift += _quantity_drift(manager)
    drift += [
        DriftItem(
            kind="unknown_fill",
            subject=fill.fill_id,
            detail=f"{fill.side} {fill.quantity} of {fill.security_id} at {fill.price} "
            f"(correlation id {fill.correlation_id}) matches no open position",
        )
        for fill in manager.unmatched_fills.values()
    ]
    report = ReconciliationReport(drift=tuple(drift), resumed=tuple(resumed))
    if strict and not report.ok:
        raise ReconciliationError(report.describe())
    return report


def _quantity_drift(manager: PositionManager) -> list[DriftItem]:
    ours: dict[str, int] = defaultdict(int)
    for position in manager.store.positions(active_only=True):
        ours[position.security_id] += position.net_quantity
    theirs: dict[str, int] = defaultdict(int)
    for broker_position in manager.gateway.broker.positions():
        theirs[broker_position.security_id] += broker_position.net_quantity
    return [
        DriftItem(
            kind="quantity",
            subject=security_id,
            detail=f"ledger holds {ours[security_id]:+d} units, "
            f"{manager.gateway.broker.name} holds {theirs[security_id]:+d}",
        )
        for security_id in sorted(set(ours) | set(theirs))
        if ours[security_id] != theirs[security_id]
    ]

"""Keeps the broker's stop where the position manager wants it, on every bar close.

A position records two stops: `stop`, the one the manager wants (written before it is sent),
and `broker_stop`, the one the broker last acknowledged. On each close of a bar the stop rule
may move `stop` (the backtester's ratchet, rounded to the instrument's tick toward the
position: never looser); then, whenever the two differ, the wanted stop is sent. So a move the
broker never acknowledged (a dropped connection, a timeout: a `TransientError`) is sent again
on the next close, and again, until the broker confirms it, not only after a restart. (So is
one whose order the broker's lookup does not show yet: OrderStateUnknownError.)

A person or the agent may also tighten the stop by hand (`tighten`): only tighter, rounded onto
the tick toward the position, on the protective side of the last mark; written (rule "manual"),
then sent the same way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from tradeloop.clock import Clock
from tradeloop.domain.execution.contract import protective_stop, tick_of
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.positions.model import Position, PositionState
from tradeloop.domain.positions.recorder import PositionRecorder
from tradeloop.domain.positions.stops import RoundTripCosts, stop_after_close
from tradeloop.domain.positions.store import PositionStore
from tradeloop.errors import OrderStateUnknownError, TransientError, UserError

_log = logging.getLogger(__name__)

MANAGED = (PositionState.OPEN, PositionState.BREAK_EVEN, PositionState.TRAILING)
"""States whose stop the manager moves (a CLOSING position's legs are being cancelled)."""
_NOISE = 1e-9
"""Two stops closer than this are the same stop (float noise on the tick grid)."""


class StopSync:
    def __init__(
        self,
        gateway: OrderGateway,
        store: PositionStore,
        recorder: PositionRecorder,
        clock: Clock,
        round_trip: RoundTripCosts | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.recorder = recorder
        self.clock = clock
        self.round_trip = round_trip

    def on_bar_close(
        self, security_id: str, close: float, trail_offsets: Mapping[str, float]
    ) -> list[Position]:
        """Ratchet and sync the stops of the positions in `security_id`; the ones sent.
        `trail_offsets`: strategy id → this bar's trailing distance (else the plan's)."""
        sent: list[Position] = []
        for position in self.store.positions(active_only=True):
            if position.security_id != security_id or position.state not in MANAGED:
                continue
            wanted = self._ratchet(position, close, trail_offsets.get(position.strategy_id))
            if wanted.stop != wanted.broker_stop:
                sent.append(self.send(wanted))
        return sent

    def send(self, position: Position) -> Position:
        """Send the wanted stop; record the acknowledgement, or that it is still owed."""
        assert position.stop is not None
        try:
            self.gateway.modify_stop(position.position_id, position.stop)
        except (TransientError, OrderStateUnknownError) as exc:
            _log.warning(
                "stop %s of position %s not acknowledged (%s): sent again on the next close",
                position.stop,
                position.position_id,
                exc,
            )
            return self.recorder.write(
                position,
                "stop_unacknowledged",
                self.clock.now(),
                from_state=position.state,
                detail={
                    "stop": position.stop,
                    "broker_stop": position.broker_stop,
                    "error": str(exc),
                },
            )
        return self.recorder.write(
            position.model_copy(update={"broker_stop": position.stop}),
            "stop_acknowledged",
            self.clock.now(),
            from_state=position.state,
            detail={"stop": position.stop},
        )

    def tighten(self, position: Position, stop: float, mark: float | None) -> Position:
        """Move a MANAGED position's stop to `stop` (on the tick, toward the position): written as
        a manual `stop_moved`, then sent (`send`). Refused with a UserError, writing nothing,
        when the position is not MANAGED, the stop is not tighter, or it is not on the
        protective side of `mark` (the last price seen, when known)."""
        name = position.position_id
        if position.state not in MANAGED or position.stop is None:
            raise UserError(
                f"position {name} is {position.state}: only the stop of an open position "
                "(OPEN, BREAK_EVEN, TRAILING) can be moved"
            )
        direction = position.direction
        side = "long" if direction > 0 else "short"
        tick = tick_of(position.entry_intent, self.gateway.contracts)
        wanted = protective_stop(direction, stop, tick)
        asked = f"stop {stop:g}" + (f" (on the tick {wanted:g})" if wanted != stop else "")
        if direction * (wanted - position.stop) <= _NOISE:
            moves = "above" if direction > 0 else "below"
            raise UserError(
                f"position {name}: {asked} is not tighter than the current {position.stop:g}: "
                f"a {side} stop only moves {moves} it"
            )
        if mark is not None and direction * (mark - wanted) <= 0:
            relation = "below" if direction > 0 else "above"
            raise UserError(
                f"position {name}: {asked} is not {relation} the last price {mark:g}: a {side} "
                "stop must be on the protective side (close the position to exit now)"
            )
        moved = self.recorder.write(
            position.model_copy(update={"stop": wanted}),
            "stop_moved",
            self.clock.now(),
            from_state=position.state,
            detail={"from": position.stop, "to": wanted, "rule": "manual"},
        )
        return self.send(moved)

    def _ratchet(self, position: Position, close: float, trail_offset: float | None) -> Position:
        assert position.entry_price is not None and position.stop is not None
        assert position.initial_stop is not None
        plan = position.plan
        tick = tick_of(position.entry_intent, self.gateway.contracts)
        if trail_offset is not None and plan.trail_offset > 0 and math.isfinite(trail_offset):
            plan = plan.model_copy(update={"trail_offset": trail_offset})
        if plan.break_even_r is not None and self.round_trip is not None:
            buffer = plan.break_even_buffer + self.round_trip.break_even_buffer(position, tick)
            plan = plan.model_copy(update={"break_even_buffer": buffer})
        move = stop_after_close(
            position.state,
            position.direction,
            close,
            position.entry_price,
            position.initial_stop,
            position.stop,
            plan,
        )
        if move is None:
            return position
        stop = protective_stop(position.direction, move.stop, tick)
        if math.isclose(stop, position.stop, rel_tol=0.0, abs_tol=_NOISE):
            return position  # the move was float noise on a stop already on the tick
        return self.recorder.write(
            position.model_copy(update={"stop": stop, "state": move.state}),
            "stop_moved",
            self.clock.now(),
            from_state=position.state,
            detail={"from": position.stop, "to": stop, "rule": move.rule},
        )

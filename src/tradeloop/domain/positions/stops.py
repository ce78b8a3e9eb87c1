"""Stop moves of one live or paper position on a bar's close: the backtester's rule.

The rule itself is `domain/stops.py`'s `ratchet_stop`, the function the backtest kernel runs:
the trailing level first, then break-even, each only when strictly tighter; never loosened;
effective from the next bar (the manager sends it after the close). Here the position's
`ExitPlan` becomes its inputs:

* trail = close − direction × (trail_offset + trail_fraction × close), when the plan trails;
* break-even once direction × (close − entry) >= break_even_r × R, where R = |entry − initial
  stop|: the stop may move to entry + direction × break_even_buffer. With `RoundTripCosts`
  the buffer also holds what the backtest's does — the entry's charges, the exit's estimated
  charges (both per unit) and the exit's slippage — so a break-even exit nets about zero.

The state (and so the exit reason if the stop is hit) names the rule that set the stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.model import ExitPlan, Position, PositionState
from tradeloop.domain.stops import ratchet_stop


@dataclass(frozen=True, slots=True)
class StopMove:
    stop: float
    state: PositionState
    rule: str
    """"trailing" or "break_even"."""


_MOVES: dict[int, tuple[PositionState, str]] = {
    ExitReason.TRAILING_STOP.code: (PositionState.TRAILING, "trailing"),
    ExitReason.BREAK_EVEN_STOP.code: (PositionState.BREAK_EVEN, "break_even"),
}


def stop_after_close(
    state: PositionState,
    direction: int,
    close: float,
    entry: float,
    initial_stop: float,
    stop: float,
    plan: ExitPlan,
) -> StopMove | None:
    """The stop move a close triggers, or None when the stop stays where it is."""
    risk = abs(entry - initial_stop)
    break_even_move = math.nan  # NaN: the rule is off (no break_even_r, or no risk to measure)
    if plan.break_even_r is not None and risk > 0:
        break_even_move = plan.break_even_r * risk
    new_stop, kind = ratchet_stop(
        float(direction),
        float(close),
        float(stop),
        stop_exit_reason(state).code,
        float(entry),
        plan.trail_offset if plan.trails else math.nan,
        plan.trail_fraction,
        break_even_move,
        plan.break_even_buffer,
    )
    if new_stop == stop:
        return None
    new_state, rule = _MOVES[kind]
    return StopMove(stop=new_stop, state=new_state, rule=rule)


def stop_exit_reason(state: PositionState) -> ExitReason:
    """Why a stop fill closed the position, from the state the stop was last moved into."""
    if state is PositionState.TRAILING:
        return ExitReason.TRAILING_STOP
    if state is PositionState.BREAK_EVEN:
        return ExitReason.BREAK_EVEN_STOP
    return ExitReason.STOP


@dataclass(frozen=True, slots=True)
class RoundTripCosts:
    """What a round trip costs per unit beyond its prices: the charges of the cost table for
    `kind` and the slippage the fills assume (the paper broker's, the backtest's)."""

    costs: CostTable
    kind: InstrumentKind
    slippage_bps: float
    slippage_ticks: int

    def break_even_buffer(self, position: Position, tick: float | None) -> float:
        """Per unit: the entry's charges, the exit's at the entry price, the exit's slippage
        (the backtest kernel's break-even buffer, from the position's own fill)."""
        quantity = position.filled_quantity
        price = position.entry_price
        if quantity <= 0 or price is None:
            return 0.0
        exit_charges = self.costs.order_costs(self.kind, position.direction < 0, price, quantity)
        slip = price * self.slippage_bps * 1e-4 + self.slippage_ticks * (tick or 0.0)
        return (position.entry_costs + exit_charges.total) / quantity + slip

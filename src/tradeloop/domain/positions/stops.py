"""Stop rules on a bar's close — the backtester's, one position at a time.

* Trailing: trail = close − direction × (trail_offset + trail_fraction × close).
* Break-even: once direction × (close − entry) >= break_even_r × R, where R = |entry − initial
  stop|, the stop may move to entry + direction × break_even_buffer.
* The new stop is the most favourable of the current stop and the candidates: it never loosens.
  It takes effect from the next bar (the manager sends it after the close). The state (and so
  the exit reason if it is hit) names the rule that set it, as in the backtester.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.model import ExitPlan, PositionState


@dataclass(frozen=True, slots=True)
class StopMove:
    stop: float
    state: PositionState
    rule: str
    """"trailing" or "break_even"."""


def tighter(direction: int, candidate: float, current: float) -> bool:
    """True when `candidate` protects more than `current` (higher for a long)."""
    return direction * (candidate - current) > 0


def trailing_stop(direction: int, close: float, plan: ExitPlan) -> float | None:
    if not plan.trails:
        return None
    return close - direction * (plan.trail_offset + plan.trail_fraction * close)


def break_even_stop(
    direction: int, close: float, entry: float, initial_stop: float, plan: ExitPlan
) -> float | None:
    if plan.break_even_r is None:
        return None
    risk = abs(entry - initial_stop)
    if risk <= 0 or direction * (close - entry) < plan.break_even_r * risk:
        return None
    return entry + direction * plan.break_even_buffer


def stop_after_close(
    state: PositionState,
    direction: int,
    close: float,
    entry: float,
    initial_stop: float,
    stop: float,
    plan: ExitPlan,
) -> StopMove | None:
    """The stop move a close triggers, or None when the stop stays where it is.

    The trailing level is tried first, then break-even, each only when strictly tighter than
    the stop so far (the backtester's order): the state names the rule that set the stop.
    """
    best: StopMove | None = None
    trail = trailing_stop(direction, close, plan)
    if trail is not None and tighter(direction, trail, stop):
        best = StopMove(stop=trail, state=PositionState.TRAILING, rule="trailing")
    even = break_even_stop(direction, close, entry, initial_stop, plan)
    if even is not None and tighter(direction, even, best.stop if best else stop):
        best = StopMove(stop=even, state=PositionState.BREAK_EVEN, rule="break_even")
    return best


def stop_exit_reason(state: PositionState) -> ExitReason:
    """Why a stop fill closed the position, from the state the stop was last moved into."""
    if state is PositionState.TRAILING:
        return ExitReason.TRAILING_STOP
    if state is PositionState.BREAK_EVEN:
        return ExitReason.BREAK_EVEN_STOP
    return ExitReason.STOP

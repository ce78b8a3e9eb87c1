"""`ratchet_stop`: the one stop rule on a close, for the backtest kernel and position manager."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.exits import ExitReason
from tradeloop.domain.stops import ratchet_stop

STOP = ExitReason.STOP.code
TRAILING = ExitReason.TRAILING_STOP.code
BREAK_EVEN = ExitReason.BREAK_EVEN_STOP.code
OFF = math.nan


def test_trailing_level_follows_the_close_and_names_the_rule() -> None:
    # Long from 100, stop 98, trail 1.5 + 0.1% of the close: 102 − (1.5 + 0.102) = 100.398.
    stop, kind = ratchet_stop(1.0, 102.0, 98.0, STOP, 100.0, 1.5, 0.001, OFF, 0.0)
    assert (stop, kind) == (102.0 - (1.5 + 0.001 * 102.0), TRAILING)


def test_the_stop_never_loosens() -> None:
    assert ratchet_stop(1.0, 100.5, 99.5, TRAILING, 100.0, 1.5, 0.0, OFF, 0.0) == (99.5, TRAILING)
    assert ratchet_stop(-1.0, 99.5, 100.5, STOP, 100.0, 1.5, 0.0, OFF, 0.0) == (100.5, STOP)


def test_break_even_after_the_move_replaces_a_looser_trail() -> None:
    # +1R (2 points) reached at 102.2: the trail 3 below is 99.2, break-even (100.1) is tighter.
    stop, kind = ratchet_stop(1.0, 102.2, 98.0, STOP, 100.0, 3.0, 0.0, 2.0, 0.1)
    assert (stop, kind) == (100.1, BREAK_EVEN)


def test_a_tighter_trail_keeps_its_name_after_break_even_triggers() -> None:
    stop, kind = ratchet_stop(-1.0, 97.0, 102.0, STOP, 100.0, 1.0, 0.0, 2.0, 0.0)
    assert (stop, kind) == (98.0, TRAILING)


def test_break_even_waits_for_the_move_and_nan_turns_rules_off() -> None:
    assert ratchet_stop(1.0, 101.9, 98.0, STOP, 100.0, OFF, 0.0, 2.0, 0.0) == (98.0, STOP)
    assert ratchet_stop(1.0, 150.0, 98.0, STOP, 100.0, OFF, 0.0, OFF, 0.0) == (98.0, STOP)


closes = st.lists(st.floats(min_value=80.0, max_value=120.0), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(
    path=closes,
    direction=st.sampled_from([1.0, -1.0]),
    trail=st.sampled_from([OFF, 0.5, 2.0]),
    trail_fraction=st.sampled_from([0.0, 0.002]),
    break_even_r=st.sampled_from([OFF, 0.5, 1.0]),
    buffer=st.sampled_from([0.0, 0.3]),
)
def test_break_even_checked_every_close_moves_as_once_only(
    path: list[float],
    direction: float,
    trail: float,
    trail_fraction: float,
    break_even_r: float,
    buffer: float,
) -> None:
    """The kernel used to try break-even once (on the first close past the move); the position
    manager tries it on every close. With a stop that never loosens, the two agree."""
    entry, risk = 100.0, 2.0
    initial = entry - direction * risk
    stop, kind = initial, STOP
    once_stop, once_kind, pending = initial, STOP, not math.isnan(break_even_r)
    for close in path:
        previous = stop
        stop, kind = ratchet_stop(
            direction, close, stop, kind, entry, trail, trail_fraction, break_even_r * risk, buffer
        )
        assert direction * (stop - previous) >= 0.0  # never loosened
        once_stop, once_kind = ratchet_stop(
            direction, close, once_stop, once_kind, entry, trail, trail_fraction, OFF, buffer
        )
        if pending and direction * (close - entry) >= break_even_r * risk:
            pending = False
            level = entry + direction * buffer
            if direction * (level - once_stop) > 0.0:
                once_stop, once_kind = level, BREAK_EVEN
        assert (stop, kind) == (once_stop, once_kind)

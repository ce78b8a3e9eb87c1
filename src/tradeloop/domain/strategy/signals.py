"""`Signals`: what the strategy compiler hands to the backtester.

Everything is decided on a bar's close and aligned with the candle frame it came from (one
element per bar). Exit levels are expressed relative to the *fill* price, so the same signals
give the same stops wherever the entry filled (the next open in a backtest):

    risk   = stop_scale * stop_offset[t] + stop_fraction * fill   (price units, > 0)
    stop   = fill - direction * risk
    reward = target_offset[t] + target_fraction * fill + target_r * risk
    target = fill + direction * reward                           (no target when reward is NaN)
    trail  = close[i] - direction * (trail_scale * trail_offset[i] + trail_fraction * close[i])

`t` is the signal bar; `i` the bar whose close moves the trailing stop. An ATR stop is the ATR
array itself with its multiple as the scale, so specs with ATR exits of one period share one
array whatever their multiples. The compiler writes 0 where an absolute part is unused;
`target_offset` is NaN on every bar when the strategy has no take profit (the reward is then
NaN), and `trail_offset` is empty when it has no trailing stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tradeloop.domain.market.session import SQUARE_OFF_MINUTE


@dataclass(frozen=True, eq=False)
class Signals:
    """Per-bar entries and exit rules of one strategy over one candle frame."""

    spec_id: str
    direction: int
    """+1 long, -1 short."""
    entry: np.ndarray
    """bool[n]: enter at the next bar's open. False while any indicator warms up."""
    stop_offset: np.ndarray
    """float64[n]: the absolute part of the risk at each signal bar (ATR multiple, swing)."""
    stop_fraction: float
    """The part of the risk proportional to the fill (percent stops), e.g. 0.01 for 1%."""
    target_offset: np.ndarray
    """float64[n]: absolute part of the reward at each signal bar; NaN everywhere = no target."""
    stop_scale: float = 1.0
    """What `stop_offset` is multiplied by (an ATR stop's multiple)."""
    target_fraction: float = 0.0
    target_r: float = 0.0
    """Reward as a multiple of the risk (R)."""
    trail_offset: np.ndarray = field(default_factory=lambda: np.empty(0))
    """float64[n]: absolute trailing distance at each bar's close; empty = no trailing stop."""
    trail_fraction: float = 0.0
    trail_scale: float = 1.0
    """What `trail_offset` is multiplied by (an ATR trailing stop's multiple)."""
    break_even_r: float = math.nan
    """Move the stop to entry after the close reaches +X R; NaN = never."""
    max_bars_held: int = 0
    """Exit at the next bar's open after this many bars; 0 = no limit."""
    square_off_minute: int = SQUARE_OFF_MINUTE
    """IST minute of day at which an open position is closed (at that bar's open); -1 = hold."""

    def __post_init__(self) -> None:
        n = len(self.entry)
        if self.direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {self.direction}")
        for name in ("stop_offset", "target_offset"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} bars, entry has {n}")
        for name in ("stop_scale", "trail_scale"):
            scale = getattr(self, name)
            if not (scale > 0 and math.isfinite(scale)):
                raise ValueError(f"{name} must be a positive finite number, got {scale}")
        if len(self.trail_offset) not in (0, n):
            raise ValueError(f"trail_offset has {len(self.trail_offset)} bars, entry has {n}")

    @property
    def has_trailing_stop(self) -> bool:
        return len(self.trail_offset) > 0

    def __len__(self) -> int:
        return len(self.entry)

"""The planted edge of the synthetic market: short-term mean reversion after large 5-minute moves.

The null market (`synthetic.generate_market` with ``regime="null"``) has no exploitable edge by
design. The planted market adds one, so research has a market whose truth is known: a strategy
search should find this edge on the planted market and find nothing on the null one.

The mechanism, applied session by session to the minute tape before prices are built:

* The session is cut into 5-minute blocks from the open (09:15–09:19, 09:20–09:24, ...): the
  blocks a 5m candle covers. A block's move ``r5`` is the sum of its minute log returns (bodies
  and the tick jitter between minutes; never the overnight gap), planted drift included, so the
  edge also reacts to moves it caused.
* The block is *large* when ``|r5| > k·σ5``, with ``k = 2`` (`TRIGGER_SIGMAS`) and ``σ5`` the
  model's own 5-minute sigma there (the day's volatility and the intraday profile, so "large" means
  large for that day and that time of day).
* After a large block, each of the next ``N = 5`` minutes (`REVERSION_MINUTES`: the next 5m
  candle; none after the session's last block, never across the night) gets a drift of
  ``−strength · r5 / N``: over those 5 minutes the price is expected to give back
  ``strength · r5``. As ``r5`` counts planted drift, a give-back that is itself large is given
  back in turn (a damped ringing, since strength < 1).

``strength`` is the fraction of a large 5-minute move given back over the next 5 minutes: 0 is
the null market; the default 0.8 gives back 0.24 % after a 0.3 % move (about 56 NIFTY points at
23,500): an edge the significance gate finds nine times in ten against 1,000 strategies tried,
where 0.6 is found about half the time (`benchmarks/bench_validity.py`, docs/backtesting.md).
Strengths above 0.8 are refused: the ringing then lasts long enough to be visible in plain
autocorrelations, and at 1 it never dies out. The edge is deterministic given the tape, so
the same seed gives the same planted market, and it draws no random numbers, so the minute
shocks, wicks, volumes and implied volatility are those of the null market with the same seed.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np

from tradeloop.errors import ConfigError

MarketRegime = Literal["null", "planted"]
MARKET_REGIMES: Final[tuple[MarketRegime, ...]] = ("null", "planted")
DEFAULT_EDGE_STRENGTH: Final = 0.8
EDGE_STRENGTH_RANGE: Final = (0.0, 0.8)
BLOCK_MINUTES: Final = 5
TRIGGER_SIGMAS: Final = 2.0
REVERSION_MINUTES: Final = 5


def check_edge(regime: str, edge_strength: float) -> None:
    """Refuse an unknown regime or a strength outside `EDGE_STRENGTH_RANGE`."""
    if regime not in MARKET_REGIMES:
        raise ConfigError(
            f"regime={regime!r}: use one of {', '.join(MARKET_REGIMES)} (null has no edge, "
            "planted adds mean reversion after large 5-minute moves)"
        )
    low, high = EDGE_STRENGTH_RANGE
    if not (math.isfinite(edge_strength) and low <= edge_strength <= high):
        raise ConfigError(
            f"edge_strength={edge_strength!r}: use a number from {low:g} to {high:g} (the "
            "fraction of a large 5-minute move given back over the next 5 minutes; 0 = null)"
        )


def reversion_drift(moves: np.ndarray, minute_sigma: np.ndarray, strength: float) -> np.ndarray:
    """The planted drift of each minute (log return, shape of `moves`: sessions × minutes).

    `moves` are the minute log returns without the edge and without the overnight gap;
    `minute_sigma` the model's sigma of each minute.
    """
    minutes = moves.shape[1]
    drift = np.zeros_like(moves)
    for start in range(0, minutes, BLOCK_MINUTES):
        block = slice(start, start + BLOCK_MINUTES)
        move = (moves[:, block] + drift[:, block]).sum(axis=1)
        sigma = np.sqrt((minute_sigma[:, block] ** 2).sum(axis=1))
        first = start + BLOCK_MINUTES
        if first >= minutes:
            break
        after = slice(first, min(first + REVERSION_MINUTES, minutes))
        push = np.where(np.abs(move) > TRIGGER_SIGMAS * sigma, -strength * move, 0.0)
        drift[:, after] += (push / REVERSION_MINUTES)[:, None]
    return drift

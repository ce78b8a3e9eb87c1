"""The one strategy compiler: a StrategySpec and a candle frame in, `Signals` out.

Every path that turns a spec into signals calls `compile_spec` (DESIGN invariant 5). Every value
at bar `t` is decided on bar `t`'s close from bars `<= t` (invariant 4):

* a comparison reads its operands at `t`; ``crosses_above`` is ``left[t] > right[t]`` and
  ``left[t-1] <= right[t-1]`` (never true on the first bar); ``between`` is
  ``low[t] <= left[t] <= high[t]``;
* the entry is False while any indicator the spec reads (conditions, regime filter, the ATR or
  swing of the stop, the ATR of the trailing stop) is NaN, i.e. warming up or, for
  session-anchored indicators, not ready yet in this session;
* the time window and the square-off apply to the signal bar's close, which is when the entry
  order goes out and (at the next bar's open) fills: a bar is eligible when
  ``start <= close time <= end`` and its close is before the square-off. With an intraday
  square-off the session's last bar never signals (its fill would be tomorrow).

Stops and targets follow the `Signals` contract: percent parts as fractions of the fill, ATR and
swing parts as price offsets taken at the signal bar. For a swing stop the offset is
``close[t] - last swing low`` (long) or ``last swing high - close[t]`` (short), and the entry is
False where it is not positive (the price has already broken the swing).

`compile_many` shares one `IndicatorCache`, and every condition several specs read, across a
batch: a research run pays for each distinct indicator and each distinct condition once.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.market.frame_memo import distinct_values
from tradeloop.domain.strategy.evaluation import Evaluator
from tradeloop.domain.strategy.signals import Signals
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import DataValidationError, SpecError


def compile_spec(
    spec: StrategySpec, candles: pl.DataFrame, cache: IndicatorCache | None = None
) -> Signals:
    """Signals of `spec` on `candles` (one symbol, the spec's timeframe, sorted by `ts`).

    Pass the `IndicatorCache` of these candles to share indicators with other calls.
    """
    _check_frame(spec, candles)
    if cache is None:
        cache = IndicatorCache(PriceArrays.of(candles))
    elif len(cache.arrays) != candles.height:
        raise ValueError(
            f"the cache holds {len(cache.arrays)} bars but the candles have {candles.height}: "
            "build one IndicatorCache per candle frame"
        )
    return Evaluator(cache).compile([spec])[0]


def compile_many(specs: Sequence[StrategySpec], candles: pl.DataFrame) -> list[Signals]:
    """Signals of every spec on the same candles, sharing indicators and checks.

    Each distinct indicator and condition is computed once, and an indicator is dropped as soon
    as nothing left in the batch reads it, so a large batch keeps few arrays alive
    (`plan.plan_batch`). A spec given twice gets the same `Signals` object twice.
    """
    if not specs:
        return []
    arrays = PriceArrays.of(candles)  # refuses a frame of several intervals
    facts = _frame_facts(candles)
    for spec in specs:
        _check_frame(spec, candles, facts)
    unique = list({spec.id: spec for spec in specs}.values())
    evaluator = Evaluator(IndicatorCache(arrays), drop_indicators=True)
    compiled = {
        spec.id: signals for spec, signals in zip(unique, evaluator.compile(unique), strict=True)
    }
    return [compiled[spec.id] for spec in specs]


_FrameFacts = dict[str, list[object]]


def _frame_facts(candles: pl.DataFrame) -> _FrameFacts:
    """The distinct `interval` and `symbol` values of the frame, read once per frame object."""
    facts: _FrameFacts = {}
    for column in ("interval", "symbol"):
        if column not in candles.columns:
            raise DataValidationError(
                f"candle frame has no {column!r} column: use the shared candle schema "
                "(tradeloop.domain.market.candles.CANDLE_SCHEMA)"
            )
        facts[column] = distinct_values(candles, column)
    return facts


def _check_frame(
    spec: StrategySpec, candles: pl.DataFrame, facts: _FrameFacts | None = None
) -> None:
    if candles.height == 0:
        return
    facts = facts if facts is not None else _frame_facts(candles)
    if facts["interval"] != [spec.timeframe]:
        raise SpecError(
            f"spec {spec.name!r} reads {spec.timeframe} bars but the candles are "
            f"{facts['interval']}: resample first with "
            f"tradeloop.domain.market.resample.resample(candles, {spec.timeframe!r})"
        )
    if facts["symbol"] != [spec.symbol]:
        raise SpecError(
            f"spec {spec.name!r} trades {spec.symbol} but the candles are {facts['symbol']}: "
            f"compile it on {spec.symbol} candles, or change the spec's symbol"
        )

"""The one strategy compiler: a StrategySpec and a candle frame in, `Signals` out.

Backtest, paper and live all call `compile_spec` (DESIGN invariant 5). Every value at bar `t` is
decided on bar `t`'s close from bars `<= t` (invariant 4):

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

`compile_many` shares one `IndicatorCache`, and the arrays and condition results several specs
need, across a batch: a research run pays for each distinct indicator once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import polars as pl

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.strategy.conditions import IndicatorOperand
from tradeloop.domain.strategy.evaluation import Evaluator, all_conditions, condition_key
from tradeloop.domain.strategy.rules import AtrStop, AtrTrail, SwingStop
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
        cache = IndicatorCache(PriceArrays.from_candles(candles))
    elif len(cache.arrays) != candles.height:
        raise ValueError(
            f"the cache holds {len(cache.arrays)} bars but the candles have {candles.height}: "
            "build one IndicatorCache per candle frame"
        )
    return Evaluator(cache).compile(spec)


def compile_many(specs: Sequence[StrategySpec], candles: pl.DataFrame) -> list[Signals]:
    """Signals of every spec on the same candles, sharing indicators and common conditions.

    Specs are compiled grouped by the indicators they read, and an indicator is dropped from the
    cache after the last spec that needs it, so a large batch keeps few arrays alive.
    """
    if not specs:
        return []
    arrays = PriceArrays.from_candles(candles)  # refuses a frame of several intervals
    facts = _frame_facts(candles, interval_known=True)
    for spec in specs:
        _check_frame(spec, candles, facts)
    plan = _Plan(specs)
    cache = IndicatorCache(arrays)
    evaluator = Evaluator(cache, reused=plan.reused, batch=len(plan.order))
    compiled: dict[str, Signals] = {}
    for position, spec in enumerate(plan.order):
        compiled[spec.id] = evaluator.compile(spec)
        for name, params in plan.expiring_indicators[position]:
            evaluator.forget_indicator(name, params)
            cache.evict(name, dict(params))
        for key in plan.expiring_conditions[position]:
            evaluator.forget(key)
    return [compiled[spec.id] for spec in specs]


_FrameFacts = dict[str, list[object]]


def _frame_facts(candles: pl.DataFrame, interval_known: bool = False) -> _FrameFacts:
    """The distinct `interval` and `symbol` values of the frame (a cheap pass when uniform);
    `interval_known` when `PriceArrays` has already checked that the interval is uniform."""
    facts: _FrameFacts = {}
    for column in ("interval", "symbol"):
        if column not in candles.columns:
            raise DataValidationError(
                f"candle frame has no {column!r} column: use the shared candle schema "
                "(tradeloop.domain.market.candles.CANDLE_SCHEMA)"
            )
        series = candles[column]
        if candles.height == 0:
            facts[column] = []
        elif (column == "interval" and interval_known) or not (series != series[0]).any():
            facts[column] = [series[0]]
        else:
            facts[column] = series.unique().sort().to_list()
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


IndicatorKey = tuple[str, tuple[tuple[str, float], ...]]


class _Plan:
    """The order a batch is compiled in and when each shared array can be dropped."""

    def __init__(self, specs: Sequence[StrategySpec]) -> None:
        unique = list({spec.id: spec for spec in specs}.values())
        needs = [_indicators(spec) for spec in unique]
        order = _fewest_new_indicators_first(needs)
        self.order = [unique[index] for index in order]
        conditions = {spec.id: {condition_key(c) for c in all_conditions(spec)} for spec in unique}
        counts = Counter(key for keys in conditions.values() for key in keys)
        self.reused = frozenset(key for key, count in counts.items() if count > 1)
        last_indicator: dict[IndicatorKey, int] = {}
        last_condition: dict[object, int] = {}
        for position, index in enumerate(order):
            spec = unique[index]
            last_indicator.update(dict.fromkeys(needs[index], position))
            last_condition.update(dict.fromkeys(conditions[spec.id] & self.reused, position))
        self.expiring_indicators: list[list[IndicatorKey]] = [[] for _ in self.order]
        self.expiring_conditions: list[list[object]] = [[] for _ in self.order]
        for indicator, position in last_indicator.items():
            self.expiring_indicators[position].append(indicator)
        for condition, position in last_condition.items():
            self.expiring_conditions[position].append(condition)


def _fewest_new_indicators_first(needs: list[set[IndicatorKey]]) -> list[int]:
    """A compile order that keeps few indicators alive at once: always next the spec needing
    the fewest indicators not computed yet (ties in input order). O(specs x indicators)."""
    users: dict[IndicatorKey, list[int]] = {}
    for index, keys in enumerate(needs):
        for key in keys:
            users.setdefault(key, []).append(index)
    missing = [len(keys) for keys in needs]
    buckets: dict[int, dict[int, None]] = {}
    for index, count in enumerate(missing):
        buckets.setdefault(count, {})[index] = None
    computed: set[IndicatorKey] = set()
    order: list[int] = []
    while len(order) < len(needs):
        fewest = min(count for count, members in buckets.items() if members)
        chosen = next(iter(buckets[fewest]))
        del buckets[fewest][chosen]
        order.append(chosen)
        for key in needs[chosen] - computed:
            computed.add(key)
            for user in users[key]:
                if user in buckets.get(missing[user], {}):
                    del buckets[missing[user]][user]
                    missing[user] -= 1
                    buckets.setdefault(missing[user], {})[user] = None
    return order


def _indicators(spec: StrategySpec) -> set[IndicatorKey]:
    """Every (indicator, params) the spec reads, its exits included."""
    keys = {
        (operand.indicator, tuple(sorted(operand.params.items())))
        for condition in all_conditions(spec)
        for operand in condition.operands
        if isinstance(operand, IndicatorOperand)
    }
    for rule in (spec.exit.stop_loss, spec.exit.trailing_stop):
        if isinstance(rule, AtrStop | AtrTrail):
            keys.add(("atr", (("period", float(rule.period)),)))
        elif isinstance(rule, SwingStop):
            keys.add(("swings", (("left", float(rule.strength)), ("right", float(rule.strength)))))
    return keys

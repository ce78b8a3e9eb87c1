"""A StrategySpec as one readable paragraph, for people reviewing what an LLM or a generator
proposed (`tradeloop strategy validate`, the leaderboard, strategy memory)."""

from __future__ import annotations

from tradeloop.domain.strategy.conditions import AllOf, AnyOf, Condition
from tradeloop.domain.strategy.rules import (
    AtmStrike,
    AtrStop,
    AtrTrail,
    FutureInstrument,
    IndexInstrument,
    OptionInstrument,
    PercentStop,
    PercentTarget,
    PremiumStrike,
    StopLoss,
    TakeProfit,
    TrailingStop,
)
from tradeloop.domain.strategy.spec import StrategySpec


def describe_spec(spec: StrategySpec) -> str:
    """E.g. "Buys NIFTY (the index) on 5m bars when rsi(14) crosses above 30, ... ."."""
    option = isinstance(spec.instrument, OptionInstrument)
    verb = "Buys" if spec.direction == "long" or option else "Sells"
    view = f" (a {spec.direction} view on the index)" if option else ""
    sentences = [
        f"{verb} {_instrument(spec)}{view} on {spec.timeframe} bars when {_entry(spec)}"
        f"{_filters(spec)}, deciding on each bar's close and filling at the next bar's open."
    ]
    exits = [f"Stop loss {_stop(spec.exit.stop_loss)}"]
    if spec.exit.take_profit is not None:
        exits.append(f"take profit {_target(spec.exit.take_profit)}")
    if spec.exit.trailing_stop is not None:
        exits.append(f"trailing stop {_trail(spec.exit.trailing_stop)}")
    if spec.exit.break_even_after_r is not None:
        exits.append(f"stop moved to break-even after +{_number(spec.exit.break_even_after_r)} R")
    if spec.exit.max_bars_held is not None:
        exits.append(f"exit after {spec.exit.max_bars_held} bars")
    square_off = spec.exit.square_off
    exits.append(
        "held overnight" if square_off is None else f"squared off at {square_off:%H:%M} IST"
    )
    sentences.append("; ".join(exits) + ".")
    return " ".join(sentences)


def _instrument(spec: StrategySpec) -> str:
    instrument = spec.instrument
    if isinstance(instrument, IndexInstrument):
        return f"{spec.symbol} (the index)"
    if isinstance(instrument, FutureInstrument):
        return f"the {spec.symbol} future"
    expiry = instrument.expiry.replace("_", " ")
    strike = instrument.strike
    if isinstance(strike, AtmStrike):
        steps = strike.offset_steps
        plural = "s" if abs(steps) > 1 else ""
        moneyness = "OTM" if steps > 0 else "ITM"
        where = "the ATM strike" if steps == 0 else f"{abs(steps)} strike{plural} {moneyness}"
    elif isinstance(strike, PremiumStrike):
        where = f"the strike priced nearest ₹{_number(strike.premium)}"
    else:
        where = f"the {_number(strike.delta)}-delta strike"
    if instrument.min_days_to_expiry:
        expiry += f" (at least {instrument.min_days_to_expiry} days away)"
    exits = "on the premium" if instrument.exits_on == "premium" else "on the index"
    return (
        f"{spec.symbol} {expiry} {instrument.option_type} options at {where}, stop and target "
        f"{exits}"
    )


def _entry(spec: StrategySpec) -> str:
    joiner = " and " if spec.entry.mode == "all" else " or "
    return joiner.join(_item(item) for item in spec.entry.items)


def _item(item: Condition | AllOf | AnyOf) -> str:
    if isinstance(item, Condition):
        return item.label()
    if isinstance(item, AllOf):
        return "(" + " and ".join(c.label() for c in item.all) + ")"
    return "(" + " or ".join(c.label() for c in item.any) + ")"


def _filters(spec: StrategySpec) -> str:
    parts = []
    window = spec.filters.time_window
    if window is not None:
        parts.append(f", for bars closing {window.start:%H:%M}-{window.end:%H:%M} IST")
    if spec.filters.regime:
        regime = " and ".join(c.label() for c in spec.filters.regime)
        parts.append(f", only while {regime}")
    return "".join(parts)


def _stop(stop: StopLoss) -> str:
    if isinstance(stop, PercentStop):
        return f"{_number(stop.percent)}% from the entry"
    if isinstance(stop, AtrStop):
        return f"{_number(stop.multiple)} × ATR({stop.period})"
    side = "low" if stop.kind == "swing_low" else "high"
    return f"at the last swing {side} (strength {stop.strength})"


def _target(target: TakeProfit) -> str:
    if isinstance(target, PercentTarget):
        return f"{_number(target.percent)}% from the entry"
    return f"at {_number(target.r)} R"


def _trail(trail: TrailingStop) -> str:
    if isinstance(trail, AtrTrail):
        return f"{_number(trail.multiple)} × ATR({trail.period}) behind the close"
    return f"{_number(trail.percent)}% behind the close"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

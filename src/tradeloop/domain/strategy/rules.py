"""The instrument, exit and filter parts of a StrategySpec: structure and field ranges only.

Cross-field rules (a swing-low stop on a short, a window ending after the square-off, ...) live
in `validation.py`; the condition language lives in `conditions.py`.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from tradeloop.domain.market.session import SQUARE_OFF
from tradeloop.domain.strategy.conditions import Condition
from tradeloop.domain.strategy.variants import keyed, tag


def _whole_minute(value: time) -> time:
    if value.second or value.microsecond or value.tzinfo is not None:
        raise PydanticCustomError(
            "clock_time",
            "give an IST wall-clock time as HH:MM (no seconds, no time zone), e.g. 14:30",
        )
    return value


ClockTime = Annotated[
    time,
    AfterValidator(_whole_minute),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}),
]
"""An IST wall-clock time written HH:MM."""


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# ---------------------------------------------------------------------------------- instrument


class IndexInstrument(_Rule):
    """Trade the index itself (backtests and paper; an index cannot be ordered live)."""

    kind: Literal["index"] = Field(description='Always "index".')


class FutureInstrument(_Rule):
    """Trade the index's current-month future."""

    kind: Literal["future"] = Field(description='Always "future".')


class AtmStrike(_Rule):
    """A strike counted in strike steps from the at-the-money strike."""

    rule: Literal["atm"] = Field(description='Always "atm".')
    offset_steps: int = Field(
        0,
        ge=-10,
        le=10,
        description=(
            "Strike steps away from the at-the-money strike: 0 = ATM, positive = out of the "
            "money (higher strike for a CE, lower for a PE), negative = in the money."
        ),
    )


class DeltaStrike(_Rule):
    """The strike whose absolute delta is closest to a target."""

    rule: Literal["delta"] = Field(description='Always "delta".')
    delta: float = Field(
        ge=0.05, le=0.95, description="Target absolute delta, 0.05 to 0.95 (0.5 is about ATM)."
    )


class PremiumStrike(_Rule):
    """The strike whose premium is nearest a target (rupees per unit)."""

    rule: Literal["premium"] = Field(description='Always "premium".')
    premium: float = Field(
        gt=0, le=5000, description="Target premium in rupees per unit, e.g. 100."
    )


StrikeRule = Annotated[
    Annotated[AtmStrike, Tag(tag("rule", "atm"))]
    | Annotated[DeltaStrike, Tag(tag("rule", "delta"))]
    | Annotated[PremiumStrike, Tag(tag("rule", "premium"))],
    keyed("rule", {"atm": "atm", "delta": "delta", "premium": "premium"}, "strike"),
]


class OptionInstrument(_Rule):
    """Buy an index option; entry signals come from the index."""

    kind: Literal["option"] = Field(description='Always "option".')
    option_type: Literal["CE", "PE"] = Field(
        description="CE (call) for a long strategy, PE (put) for a short one: options are bought."
    )
    strike: StrikeRule = Field(description="How the strike is chosen at entry.")
    expiry: Literal["current_weekly", "next_weekly", "monthly"] = Field(
        "current_weekly",
        description="This week's, next week's or this month's expiry.",
    )
    min_days_to_expiry: int = Field(
        0,
        ge=0,
        le=30,
        description="Skip an expiry fewer days away (take the next); 0 = expiry day too.",
    )
    exits_on: Literal["underlying", "premium"] = Field(
        "underlying",
        description="Stop and target measured on the index, or on the premium (percent).",
    )


Instrument = Annotated[
    Annotated[IndexInstrument, Tag(tag("kind", "index"))]
    | Annotated[FutureInstrument, Tag(tag("kind", "future"))]
    | Annotated[OptionInstrument, Tag(tag("kind", "option"))],
    keyed("kind", {"index": "index", "future": "future", "option": "option"}, "instrument"),
]


# ------------------------------------------------------------------------------------- exits


class PercentStop(_Rule):
    """A stop a fixed percent of the entry price away."""

    kind: Literal["percent"] = Field(description='Always "percent".')
    percent: float = Field(
        gt=0, le=50, description="Distance from the entry in percent of its price, e.g. 0.5."
    )


class AtrStop(_Rule):
    """A stop a multiple of the ATR (at the signal bar) away from the entry."""

    kind: Literal["atr"] = Field(description='Always "atr".')
    multiple: float = Field(gt=0, le=20, description="ATR multiple, e.g. 1.5.")
    period: int = Field(14, ge=2, le=200, description="ATR period in bars.")


class SwingStop(_Rule):
    """A stop at the last confirmed swing low (longs) or swing high (shorts)."""

    kind: Literal["swing_low", "swing_high"] = Field(
        description='"swing_low" for a long strategy, "swing_high" for a short one.'
    )
    strength: int = Field(
        3,
        ge=1,
        le=50,
        description=(
            "Bars on each side of the pivot: a swing low is a low below the `strength` lows "
            "before it and not above the `strength` lows after it (known `strength` bars later)."
        ),
    )


StopLoss = Annotated[
    Annotated[PercentStop, Tag(tag("kind", "percent"))]
    | Annotated[AtrStop, Tag(tag("kind", "atr"))]
    | Annotated[SwingStop, Tag(tag("kind", "swing"))],
    keyed(
        "kind",
        {"percent": "percent", "atr": "atr", "swing_low": "swing", "swing_high": "swing"},
        "stop_loss",
    ),
]


class RMultipleTarget(_Rule):
    """Take profit at a multiple of the initial risk."""

    kind: Literal["r_multiple"] = Field(description='Always "r_multiple".')
    r: float = Field(gt=0, le=50, description="Reward as a multiple of the risk, e.g. 2.")


class PercentTarget(_Rule):
    """Take profit a fixed percent of the entry price away."""

    kind: Literal["percent"] = Field(description='Always "percent".')
    percent: float = Field(
        gt=0, le=100, description="Distance from the entry in percent of its price, e.g. 1."
    )


TakeProfit = Annotated[
    Annotated[RMultipleTarget, Tag(tag("kind", "r_multiple"))]
    | Annotated[PercentTarget, Tag(tag("kind", "percent"))],
    keyed("kind", {"r_multiple": "r_multiple", "percent": "percent"}, "take_profit"),
]


class AtrTrail(_Rule):
    """Trail the stop a multiple of the ATR behind each bar's close."""

    kind: Literal["atr"] = Field(description='Always "atr".')
    multiple: float = Field(gt=0, le=20, description="ATR multiple, e.g. 3.")
    period: int = Field(14, ge=2, le=200, description="ATR period in bars.")


class PercentTrail(_Rule):
    """Trail the stop a fixed percent behind each bar's close."""

    kind: Literal["percent"] = Field(description='Always "percent".')
    percent: float = Field(gt=0, le=50, description="Trailing distance in percent, e.g. 0.5.")


TrailingStop = Annotated[
    Annotated[AtrTrail, Tag(tag("kind", "atr"))]
    | Annotated[PercentTrail, Tag(tag("kind", "percent"))],
    keyed("kind", {"atr": "atr", "percent": "percent"}, "trailing_stop"),
]


class ExitRules(_Rule):
    """How a position ends: the first of stop, target, trailing stop, time limit, square-off."""

    stop_loss: StopLoss = Field(description="Initial stop loss; every strategy needs one.")
    take_profit: TakeProfit | None = Field(None, description="Take profit; null = none.")
    trailing_stop: TrailingStop | None = Field(
        None, description="Trailing stop moved on each bar's close; null = none."
    )
    break_even_after_r: float | None = Field(
        None,
        gt=0,
        le=50,
        description="Move the stop to the entry price once the close is this many R in profit.",
    )
    max_bars_held: int | None = Field(
        None, ge=1, le=100_000, description="Exit after this many bars; null = no limit."
    )
    square_off: ClockTime | None = Field(
        SQUARE_OFF,
        json_schema_extra={"default": SQUARE_OFF.strftime("%H:%M")},
        description=(
            "IST time (HH:MM) at which an open position is closed; a bar open time of the "
            "timeframe. null = hold overnight (required for the 1d timeframe)."
        ),
    )


# ----------------------------------------------------------------------------------- filters


class TimeWindow(_Rule):
    """Entries only when the signal bar closes between `start` and `end` (IST, inclusive)."""

    start: ClockTime = Field(description="Earliest IST time (HH:MM) of an entry, e.g. 09:30.")
    end: ClockTime = Field(description="Latest IST time (HH:MM) of an entry, e.g. 14:30.")


class Filters(_Rule):
    """Conditions that gate every entry on top of the entry rules."""

    time_window: TimeWindow | None = Field(
        None, description="IST time-of-day window for entries; null = the whole session."
    )
    regime: list[Condition] = Field(
        default_factory=list,
        max_length=4,
        description='Extra conditions that must all hold, e.g. ADX above 20: {"left": '
        '{"indicator": "adx", "period": 14}, "op": ">", "right": 20}.',
    )

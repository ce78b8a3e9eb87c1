"""What every indicator is made of: the price arrays it reads and the definition it registers.

An indicator is a pure function of `PriceArrays` and validated parameters that returns float64
arrays aligned with the bars, NaN while it warms up. It never reads a bar after `t` to produce
the value at `t` (DESIGN invariant 4), which `tests/property/test_indicators_no_lookahead.py`
checks for every registered indicator.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Final, Literal

import numpy as np
import polars as pl
from numba import njit

from tradeloop.domain.market.candles import INTERVAL_MINUTES
from tradeloop.domain.market.frame_memo import derived, distinct_values
from tradeloop.domain.market.session import OPEN_MINUTE
from tradeloop.errors import DataValidationError, SpecError

_NS_PER_MINUTE: Final = 60_000_000_000
_NS_PER_DAY: Final = 86_400_000_000_000
_IST_OFFSET_NS: Final = (5 * 60 + 30) * _NS_PER_MINUTE
_REQUIRED_COLUMNS: Final = ("ts", "open", "high", "low", "close", "volume")

Unit = Literal["price", "points", "percent", "ratio", "atr_multiple", "direction", "flag", "volume"]
"""What an output measures, so a spec can only compare like with like.

`price`: a price level, comparable with close; `points`: a price distance or change;
`percent`: bounded 0..100 or a percentage change; `ratio`: unbounded oscillator;
`atr_multiple`: a distance in ATRs; `direction`: +1 / -1; `flag`: 1.0 true / 0.0 false;
`volume`: cumulative volume.
"""


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class PriceArrays:
    """The columns of one candle frame as float64/int64 numpy arrays, one element per bar."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    session: np.ndarray
    """int64: index of the trading session of each bar (0, 1, 2, ...; +1 when the IST date
    changes)."""
    minute_of_session: np.ndarray
    """int64: minutes from 09:15 IST to the bar's open."""
    ts: np.ndarray
    """int64: bar open time, nanoseconds since the epoch, UTC."""
    bar_minutes: int = 1
    """Length of one bar in minutes (from the frame's `interval`; 375 for daily bars). Lets a
    session-anchored indicator know when a bar's *close* completes a window."""

    @classmethod
    def of(cls, candles: pl.DataFrame) -> PriceArrays:
        """`from_candles`, read once per frame object (`market.frame_memo`): compiling and
        backtesting the same frame share one set of arrays."""
        return derived(candles, "price_arrays", lambda: cls.from_candles(candles))

    @classmethod
    def from_candles(cls, candles: pl.DataFrame) -> PriceArrays:
        """Read a candle frame (the shared `CANDLE_SCHEMA`, sorted by `ts`, one interval)."""
        missing = [column for column in _REQUIRED_COLUMNS if column not in candles.columns]
        if missing:
            raise DataValidationError(
                f"candle frame lacks column(s) {missing}: indicators need "
                f"{list(_REQUIRED_COLUMNS)} (the shared candle schema)"
            )
        ts = _timestamps_ns(candles)
        session = np.empty(len(ts), dtype=np.int64)
        minute_of_session = np.empty(len(ts), dtype=np.int64)
        row = _session_clock(ts, session, minute_of_session)
        if row > 0:
            raise DataValidationError(
                f"candle row {row}: ts {candles['ts'][row]} is not after the previous bar's "
                f"{candles['ts'][row - 1]}; sort by ts and drop duplicates first"
            )
        prices = {
            name: _float64(candles[name]) for name in ("open", "high", "low", "close", "volume")
        }
        for name, values in prices.items():
            if math.isfinite(values.sum()):
                continue  # a NaN or an infinity makes the sum non-finite: the common case
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.argmax(bad))
                raise DataValidationError(
                    f"candle row {row} (ts {candles['ts'][row]}): {name} is {float(values[row])}"
                    " (missing or not finite); drop or repair that bar before computing "
                    "indicators"
                )
        return cls(
            open=prices["open"],
            high=prices["high"],
            low=prices["low"],
            close=prices["close"],
            volume=prices["volume"],
            session=session,
            minute_of_session=minute_of_session,
            ts=ts,
            bar_minutes=_bar_minutes(candles),
        )

    def __len__(self) -> int:
        return len(self.close)

    def head(self, n: int) -> PriceArrays:
        """The first `n` bars, as if the history ended there (used by no-look-ahead tests)."""
        return PriceArrays(
            open=self.open[:n],
            high=self.high[:n],
            low=self.low[:n],
            close=self.close[:n],
            volume=self.volume[:n],
            session=self.session[:n],
            minute_of_session=self.minute_of_session[:n],
            ts=self.ts[:n],
            bar_minutes=self.bar_minutes,
        )


def _timestamps_ns(candles: pl.DataFrame) -> np.ndarray:
    column = candles["ts"]
    if not isinstance(column.dtype, pl.Datetime) or column.dtype.time_zone is None:
        raise DataValidationError(
            f"candle column ts has type {column.dtype}; it must be a tz-aware Datetime "
            "(the shared schema uses Datetime('us', 'UTC'))"
        )
    if column.null_count():
        row = int(column.is_null().arg_max() or 0)
        raise DataValidationError(f"candle row {row}: ts is null; drop that row")
    # The physical values are int64 counts of the column's unit since the epoch (UTC).
    stamps: np.ndarray = column.to_physical().to_numpy()
    return stamps.astype(np.int64, copy=False) * _NS_PER_UNIT[column.dtype.time_unit]


_NS_PER_UNIT: Final = {"ns": 1, "us": 1_000, "ms": 1_000_000}


def _float64(column: pl.Series) -> np.ndarray:
    """The column as float64 numpy, without a copy when it already is one."""
    if column.dtype != pl.Float64:
        column = column.cast(pl.Float64)
    values: np.ndarray = column.to_numpy()
    return values


@njit(cache=True)
def _session_clock(
    ts: np.ndarray, session: np.ndarray, minute_of_session: np.ndarray
) -> int:  # pragma: no cover - compiled
    """Fill each bar's session index (+1 when the IST date changes) and minutes from 09:15 IST
    to its open, in one pass; the first row whose ts is not after the previous one, or 0."""
    count = -1
    day_start = 0
    day_end = 0  # the current IST day's local bounds: a bar inside it needs no day division
    for row in range(len(ts)):
        if row > 0 and ts[row] <= ts[row - 1]:
            return row
        local = ts[row] + _IST_OFFSET_NS
        if row == 0 or local >= day_end:  # sorted: a later day, never an earlier one
            day_start = (local // _NS_PER_DAY) * _NS_PER_DAY
            day_end = day_start + _NS_PER_DAY
            count += 1
        session[row] = count
        minute_of_session[row] = (local - day_start) // _NS_PER_MINUTE - OPEN_MINUTE
    return 0


def _bar_minutes(candles: pl.DataFrame) -> int:
    if "interval" not in candles.columns or candles.height == 0:
        return 1
    intervals = distinct_values(candles, "interval")  # the compiler's frame check reads it too
    if len(intervals) != 1 or intervals[0] not in INTERVAL_MINUTES:
        raise DataValidationError(
            f"candle frame has interval(s) {intervals}; indicators need exactly one of "
            f"{sorted(INTERVAL_MINUTES)} per frame: filter or resample first"
        )
    return INTERVAL_MINUTES[intervals[0]]


@dataclass(frozen=True)
class Param:
    """One numeric parameter of an indicator, with its inclusive range."""

    name: str
    kind: Literal["int", "float"]
    default: float
    minimum: float
    maximum: float
    description: str

    def describe_range(self) -> str:
        return f"{_number(self.minimum)}..{_number(self.maximum)}"


_KIND_WORDS: Final = {"int": "a whole number", "float": "a number"}

Compute = Callable[[PriceArrays, Mapping[str, float]], dict[str, np.ndarray]]
Warmup = Callable[[Mapping[str, float]], int]
Constraint = Callable[[Mapping[str, float]], str | None]
"""Checks validated params together; returns a message naming the fix, or None when valid."""


@dataclass(frozen=True)
class IndicatorDef:
    """A registered indicator: what it is, what it takes, what it returns and how to compute it."""

    name: str
    """Lower-case registry key, e.g. "rsi", "macd", "supertrend"."""
    description: str
    """One line, for the LLM and `tradeloop strategy indicators`."""
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    """The first is the default output, e.g. ("macd", "signal", "histogram")."""
    source: Literal["talib", "native"]
    compute: Compute
    """float64 arrays, one per output, NaN during warm-up; params must be validated first."""
    warmup: Warmup
    """Bars at the start of any series that are NaN for these params. Session-anchored outputs
    (vwap, opening_range) are also NaN at the start of each later session until ready, so a
    consumer must treat NaN as "not ready", not only the first `warmup` bars."""
    units: tuple[Unit, ...] = ()
    """What each output measures, aligned with `outputs` (see `Unit`)."""
    constraint: Constraint | None = None
    definition: str = ""
    """The exact definition, for docs/indicators.md and `tradeloop strategy indicators`."""
    warmup_note: str = ""
    """The warm-up as a formula of the params, for people (e.g. "left + right")."""

    def __post_init__(self) -> None:
        if self.units and len(self.units) != len(self.outputs):
            raise ValueError(
                f"{self.name}: {len(self.units)} units for {len(self.outputs)} outputs"
            )

    @property
    def default_output(self) -> str:
        return self.outputs[0]

    def unit(self, output: str) -> Unit:
        return self.units[self.outputs.index(output)]

    def validate_params(self, params: Mapping[str, object]) -> dict[str, float]:
        """Fill defaults and check every value; a SpecError names the parameter and the fix."""
        known = {param.name: param for param in self.params}
        for name in params:
            if name not in known:
                raise SpecError(f"{self.name} has no parameter {name!r}{_suggest(name, known)}")
        values: dict[str, float] = {}
        for param in self.params:
            raw = params.get(param.name, param.default)
            values[param.name] = self._check_value(param, raw)
        if self.constraint is not None:
            problem = self.constraint(values)
            if problem is not None:
                raise SpecError(f"{self.name}: {problem}")
        return values

    def validate_output(self, output: str | None) -> str:
        """The output name to use (`None` = the default); unknown names get a "did you mean"."""
        if output is None:
            return self.default_output
        if output not in self.outputs:
            raise SpecError(
                f"{self.name} has no output {output!r}"
                f"{_suggest(output, self.outputs, noun='outputs')}"
            )
        return output

    def _check_value(self, param: Param, raw: object) -> float:
        label = f"{self.name}.{param.name}"
        if isinstance(raw, bool) or not isinstance(raw, Real):
            raise SpecError(
                f"{label}={raw!r} is not a number; give {_KIND_WORDS[param.kind]} in "
                f"{param.describe_range()} (default {_number(param.default)})"
            )
        value = float(raw)
        if not math.isfinite(value):
            raise SpecError(f"{label}={raw!r} must be a finite number in {param.describe_range()}")
        if param.kind == "int" and not value.is_integer():
            raise SpecError(f"{label}={raw!r} must be a whole number in {param.describe_range()}")
        if not param.minimum <= value <= param.maximum:
            raise SpecError(f"{label}={_number(value)} is out of range {param.describe_range()}")
        return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _suggest(name: str, valid: Mapping[str, object] | tuple[str, ...], noun: str = "") -> str:
    names = list(valid)
    if not names:
        return f" (it takes no {noun or 'parameters'})"
    listing = f"{noun or 'parameters'}: {', '.join(names)}"
    close = difflib.get_close_matches(name.lower(), names, n=1)
    if close:
        return f"; did you mean {close[0]!r}? Valid {listing}"
    return f"; valid {listing}"


def suggest_name(name: str, valid: list[str], noun: str) -> str:
    """`"; did you mean 'rsi'? Valid <noun>: a, b, c"`, shared by the registry's errors."""
    return _suggest(name, tuple(valid), noun=noun)

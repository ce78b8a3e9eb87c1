"""Refuse bad candles before anything is stored: every rule checked, every failure named.

`validate_candles` takes a frame with the candle columns, casts compatible dtypes to
`CANDLE_SCHEMA` (integers to floats for prices, whole-number floats to integers for volume, any
tz-aware timestamp to UTC microseconds), upper-cases the symbol, and checks every rule below. A
frame that breaks any rule is refused whole with one `DataValidationError` listing each failed
rule, how many rows break it, the first few of them (row number in the input, counted from 0,
with the time in IST and the offending values) and how to fix it.

Rules: one symbol and one known interval per frame; no missing or non-finite prices or volume;
0 < prices <= `MAX_PRICE`; high >= max(open, close) and low <= min(open, close); volume and open
interest >= 0, whole numbers and within int64; timestamps present, strictly increasing
(duplicates and out-of-order rows named), inside an NSE session and on the interval's grid (bars
open at 09:15 IST + k x interval; a daily bar opens at 09:15 IST of a trading day).

The message stays short whatever the frame holds (`refusals`): each rule shows at most
`EXAMPLES_SHOWN` rows and says how many more break it, lists of names stop after `NAMES_SHOWN`,
and any text taken from the input is clipped (`clip`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.candles import (
    CANDLE_COLUMNS,
    CANDLE_SCHEMA,
    INTERVAL_MINUTES,
    INTERVALS,
    PRICE_COLUMNS,
)
from tradeloop.domain.market.refusals import (
    EXAMPLES_SHOWN,
    NAMES_SHOWN,
    RuleFailure,
    clip,
    clip_list,
    format_ist,
    raise_if_any,
)
from tradeloop.domain.market.session import OPEN_MINUTE

MAX_PRICE = 1e9
"""No index or share trades above a hundred crore rupees: a larger price is a corrupt row, and
would overflow sizes and P&L downstream."""
_INT64_LIMIT = float(2**63)

REQUIRED_COLUMNS = tuple(column for column in CANDLE_COLUMNS if column != "oi")
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9&_.-]*$")
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_IST_OFFSET_US = 19_800_000_000
_ROW = "__row"
_IN_SESSION = "__in_session"
_ON_GRID = "__on_grid"


def validate_candles(df: pl.DataFrame, calendar: NSECalendar) -> pl.DataFrame:
    """The frame cast to `CANDLE_SCHEMA`, or `DataValidationError` naming every broken rule."""
    raise_if_any(_column_failures(df))
    frame = _cast(df)
    raise_if_any(_type_failures(frame))
    frame = _normalise_names(frame)
    raise_if_any(_row_failures(frame, calendar))
    return frame.with_columns(
        pl.col(column).fill_nan(None).cast(pl.Int64())
        for column in ("volume", "oi")
        if frame.schema[column] == pl.Float64()
    )


def _column_failures(df: pl.DataFrame) -> list[RuleFailure]:
    failures = []
    missing = [column for column in REQUIRED_COLUMNS if column not in df.columns]
    if missing:
        failures.append(
            RuleFailure(
                f"missing columns {', '.join(missing)}",
                None,
                (),
                f"the frame has {clip_list(df.columns) or 'no columns'}; candles need "
                f"{', '.join(CANDLE_COLUMNS)} (oi optional). Files can be read with "
                "tradeloop.storage.importer.read_candle_file, which maps common column names",
            )
        )
    unexpected = [column for column in df.columns if column not in CANDLE_SCHEMA]
    if unexpected:
        failures.append(
            RuleFailure(
                f"unexpected columns {clip_list(unexpected)}",
                None,
                (),
                f"drop them (df.drop({clip_list([repr(c) for c in unexpected])})) or rename them "
                f"to one of {', '.join(CANDLE_COLUMNS)}",
            )
        )
    return failures


def _cast(df: pl.DataFrame) -> pl.DataFrame:
    """Cast what is safely castable; what is left with a wrong dtype is reported next."""
    if "oi" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Int64()).alias("oi"))
    casts = []
    for column in ("symbol", "interval"):
        if isinstance(df.schema[column], (pl.Categorical, pl.Enum)):
            casts.append(pl.col(column).cast(pl.String()))
    ts_dtype = df.schema["ts"]
    if isinstance(ts_dtype, pl.Datetime) and ts_dtype.time_zone is not None:
        casts.append(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    for column in PRICE_COLUMNS:
        if df.schema[column].is_numeric():
            casts.append(pl.col(column).cast(pl.Float64()))
    for column in ("volume", "oi"):
        dtype = df.schema[column]
        if dtype in (pl.UInt64(), pl.Int128()):
            # May not fit in int64: as floats, the rule on large counts names the rows.
            casts.append(pl.col(column).cast(pl.Float64()))
        elif dtype.is_integer() or dtype == pl.Null():
            casts.append(pl.col(column).cast(pl.Int64()))
        elif dtype.is_float():
            # Kept as floats until the whole-number rule has passed; cast at the end.
            casts.append(pl.col(column).cast(pl.Float64()))
    return df.with_columns(casts).select(CANDLE_COLUMNS)


def _normalise_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Symbols upper-case, names stripped of blanks."""
    symbol, interval = pl.col("symbol"), pl.col("interval")
    if not frame.is_empty() and _uniform(frame, "symbol") and _uniform(frame, "interval"):
        # The usual case, one name repeated: normalise it once, not once per row.
        return frame.with_columns(
            pl.lit(frame["symbol"][0].strip().upper()).alias("symbol"),
            pl.lit(frame["interval"][0].strip()).alias("interval"),
        )
    return frame.with_columns(
        symbol.str.strip_chars().str.to_uppercase(), interval.str.strip_chars()
    )


def _uniform(frame: pl.DataFrame, column: str) -> bool:
    """True when every row holds the first row's (non-null) value."""
    first = frame[column][0]
    return first is not None and bool(frame.select((pl.col(column) == first).all()).item())


def _type_failures(frame: pl.DataFrame) -> list[RuleFailure]:
    failures = []
    for column in ("symbol", "interval"):
        if frame.schema[column] != pl.String():
            failures.append(_type_failure(frame, column, "text"))
    ts_dtype = frame.schema["ts"]
    if isinstance(ts_dtype, pl.Datetime) and ts_dtype.time_zone is None:
        failures.append(
            RuleFailure(
                "timestamps without a timezone",
                None,
                (),
                "tell which clock they follow: df.with_columns(pl.col('ts').dt."
                "replace_time_zone('Asia/Kolkata')) for IST wall-clock times, or import the "
                "file with read_candle_file(..., timezone=...), which does it and says so",
            )
        )
    elif frame.schema["ts"] != CANDLE_SCHEMA["ts"]:
        failures.append(_type_failure(frame, "ts", "a tz-aware datetime"))
    for column in PRICE_COLUMNS:
        if frame.schema[column] != pl.Float64():
            failures.append(_type_failure(frame, column, "numbers"))
    for column in ("volume", "oi"):
        if frame.schema[column] not in (pl.Int64(), pl.Float64()):
            failures.append(_type_failure(frame, column, "whole numbers"))
    return failures


def _type_failure(frame: pl.DataFrame, column: str, expected: str) -> RuleFailure:
    return RuleFailure(
        f"column {column} has type {frame.schema[column]}",
        None,
        (),
        f"{column} must hold {expected}; convert it (e.g. pl.col({column!r}).cast(...)) "
        "or read the file with read_candle_file, which parses text columns",
    )


@dataclass(frozen=True, slots=True)
class _Check:
    rule: str
    mask: pl.Expr
    columns: tuple[str, ...]
    fix: str
    context: Literal["previous", "first", None] = None
    """Also name the previous row (out of order) or the first row with this ts (duplicate)."""


def _row_failures(frame: pl.DataFrame, calendar: NSECalendar) -> list[RuleFailure]:
    if frame.is_empty():
        return []
    failures = _identity_failures(frame)
    interval = frame["interval"][0]
    in_session, on_grid = _session_masks(frame, calendar, interval)
    indexed = frame.with_row_index(_ROW).with_columns(
        pl.Series(_IN_SESSION, in_session), pl.Series(_ON_GRID, on_grid)
    )
    checks = _checks(interval, ts_sorted=frame["ts"].is_sorted())
    masks = indexed.select(
        pl.col(_ROW), *(check.mask.alias(f"rule{i}") for i, check in enumerate(checks))
    )
    counts = masks.select(pl.exclude(_ROW).sum()).row(0)
    for i, check in enumerate(checks):
        if counts[i]:
            rows = masks.filter(pl.col(f"rule{i}"))[_ROW].head(EXAMPLES_SHOWN).to_list()
            examples = tuple(_describe_row(indexed, row, check) for row in rows)
            failures.append(RuleFailure(check.rule, int(counts[i]), examples, check.fix))
    return failures


def _checks(interval: str, ts_sorted: bool) -> list[_Check]:
    ts = pl.col("ts")
    if interval == "1d":
        grid_rule = "daily bars not at the 09:15 IST session open"
        grid_fix = "label each daily bar with its session's open, 09:15 IST of the trading day"
    else:
        grid_rule = f"timestamps off the {interval} grid"
        grid_fix = (
            f"label each bar with its open time, 09:15 IST + a multiple of {interval} with "
            "zero seconds; bars labelled with their close time must be shifted back one interval"
        )
    # In sorted input a duplicate sits next to its twin: no need to hash every timestamp.
    repeated = (ts == ts.shift(1)).fill_null(False) if ts_sorted else ~ts.is_first_distinct()
    prices = [pl.col(column) for column in PRICE_COLUMNS]
    volume = pl.col("volume").cast(pl.Float64())
    oi = pl.col("oi").cast(pl.Float64())

    def fractional(values: pl.Expr) -> pl.Expr:
        return ((values != values.floor()) & values.is_finite()).fill_null(False)

    return [
        _Check(
            "missing timestamps",
            ts.is_null(),
            (),
            "every bar needs its open time; drop the rows (df.drop_nulls('ts'))",
        ),
        _Check(
            "missing or non-finite prices or volume",
            pl.any_horizontal(~c.is_finite().fill_null(False) for c in [*prices, volume]),
            (*PRICE_COLUMNS, "volume"),
            "drop those rows (df.drop_nulls().drop_nans()) or fill them from a complete "
            "source; use volume 0 for an index",
        ),
        _Check(
            "prices not above zero",
            pl.any_horizontal(c <= 0 for c in prices).fill_null(False),
            PRICE_COLUMNS,
            "every price must be > 0: drop the rows or fix the source",
        ),
        _Check(
            f"prices above {MAX_PRICE:,.0f}",
            pl.any_horizontal(c > MAX_PRICE for c in prices).fill_null(False),
            PRICE_COLUMNS,
            "no instrument trades that high: the row is corrupt (a misplaced decimal point or "
            "an exponent); drop it or fix the source",
        ),
        _Check(
            "high or low inconsistent with open/close",
            (
                (pl.col("high") < pl.max_horizontal("open", "close"))
                | (pl.col("low") > pl.min_horizontal("open", "close"))
            ).fill_null(False),
            PRICE_COLUMNS,
            "high must be >= max(open, close) and low <= min(open, close); check the column "
            "mapping (high and low swapped?) or drop the corrupt rows",
        ),
        _Check(
            "negative volume or open interest",
            ((volume < 0) | (oi < 0)).fill_null(False),
            ("volume", "oi"),
            "volume and oi must be >= 0; fix the source or drop the rows",
        ),
        _Check(
            "volume or open interest too large for a 64-bit count",
            ((volume.abs() >= _INT64_LIMIT) | (oi.abs() >= _INT64_LIMIT)).fill_null(False),
            ("volume", "oi"),
            "the count overflows: the column is probably not a volume (a turnover in paise?) "
            "or the row is corrupt; fix the column mapping or drop the rows",
        ),
        _Check(
            "volume or open interest not a whole number",
            fractional(volume) | fractional(oi),
            ("volume", "oi"),
            "volume and oi count units: round them (pl.col('volume').round()) if the source "
            "scaled them, or fix the source",
        ),
        _Check(
            "duplicate timestamps",
            ts.is_not_null() & repeated,
            (),
            "keep one bar per timestamp, e.g. df.unique('ts', keep='last', maintain_order=True)",
            context="first",
        ),
        _Check(
            "timestamps out of order",
            (ts < ts.shift(1)).fill_null(False),
            (),
            "sort the rows oldest first (df.sort('ts')); the source may be newest-first",
            context="previous",
        ),
        _Check(
            "timestamps outside NSE sessions",
            ts.is_not_null() & ~pl.col(_IN_SESSION),
            (),
            "keep only bars from 09:15 to 15:29 IST on trading days; bars shifted by 5h30 mean "
            "the timezone is wrong (pass the file's timezone to the importer)",
        ),
        _Check(grid_rule, ts.is_not_null() & pl.col(_IN_SESSION) & ~pl.col(_ON_GRID), (), grid_fix),
    ]


def _identity_failures(frame: pl.DataFrame) -> list[RuleFailure]:
    failures = []
    for column in ("symbol", "interval"):
        if _uniform(frame, column):
            continue
        counts = frame[column].value_counts(sort=True)
        if counts.height > 1:
            listed = clip_list(
                [
                    f"{value} ({number} rows)"
                    for value, number in counts.head(NAMES_SHOWN).iter_rows()
                ]
            )
            if counts.height > NAMES_SHOWN:
                listed += f" and {counts.height - NAMES_SHOWN:,} more"
            failures.append(
                RuleFailure(
                    f"more than one {column} in the frame: {listed}",
                    frame.height - int(counts["count"][0]),
                    (),
                    f"write one {column} per frame (df.partition_by({column!r}))",
                )
            )
    symbol = frame["symbol"][0]
    if symbol is None or not SYMBOL_PATTERN.match(symbol):
        failures.append(
            RuleFailure(
                f"symbol {clip(str(symbol))!r} is not a valid name",
                None,
                (),
                "use letters, digits and & _ . - only, e.g. NIFTY or BANKNIFTY",
            )
        )
    interval = frame["interval"][0]
    if interval not in INTERVALS:
        close = difflib.get_close_matches(clip(str(interval)), INTERVALS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        failures.append(
            RuleFailure(
                f"unknown interval {clip(str(interval))!r}{hint}",
                None,
                (),
                f"use one of {', '.join(INTERVALS)}",
            )
        )
    return failures


def _session_masks(
    frame: pl.DataFrame, calendar: NSECalendar, interval: str
) -> tuple[np.ndarray, np.ndarray]:
    """(inside a session, on the interval's grid) per row."""
    micros = frame["ts"].to_physical().fill_null(0).to_numpy()
    in_session = calendar.in_session_mask(micros.astype("datetime64[us]"))
    since_open = (micros + _IST_OFFSET_US) % _US_PER_DAY - OPEN_MINUTE * _US_PER_MINUTE
    if interval == "1d":
        return in_session, since_open == 0
    return in_session, since_open % (INTERVAL_MINUTES.get(interval, 1) * _US_PER_MINUTE) == 0


def _describe_row(frame: pl.DataFrame, row: int, check: _Check) -> str:
    record = frame.row(row, named=True)
    ts = record["ts"]
    text = f"row {row} ({format_ist(ts) if ts is not None else 'no timestamp'})"
    if check.columns:
        text += ": " + " ".join(f"{column}={record[column]}" for column in check.columns)
    if check.context == "previous":
        text += f", after row {row - 1} at {format_ist(frame['ts'][row - 1])}"
    elif check.context == "first":
        first = frame.filter(pl.col("ts") == ts)[_ROW][0]
        text += f", same time as row {first}"
    return text

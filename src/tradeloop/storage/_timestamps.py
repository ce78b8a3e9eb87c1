"""Turn a file's timestamp column into tz-aware UTC bar open times, and say how it was read."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import polars as pl

from tradeloop.domain.market.calendar import SESSION_OPEN
from tradeloop.errors import DataValidationError

# Tried in order; the first that parses every value wins. Day-first before month-first: Indian
# sources write 02-01-2025 for 2 January.
AWARE_FORMATS: Final = (
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%d %H:%M:%S%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
)
NAIVE_FORMATS: Final = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)
DATE_FORMATS: Final = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d-%b-%Y", "%d %b %Y", "%Y%m%d")
_EPOCH_UNITS: Final = (  # (largest plausible magnitude today, unit name, to microseconds)
    (1e11, "seconds", 1_000_000.0),
    (1e14, "milliseconds", 1_000.0),
    (1e17, "microseconds", 1.0),
    (float("inf"), "nanoseconds", 0.001),
)
_UTC_US = pl.Datetime("us", "UTC")
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)
_EARLIEST_US: Final = 0
_LATEST_US: Final = (LATEST - EARLIEST) // timedelta(microseconds=1)


def parse_timestamps(
    source: pl.Series, zone: ZoneInfo, daily: bool, where: str
) -> tuple[pl.Series, list[str]]:
    """`source` as `Datetime(us, UTC)`, with notes on every assumption made.

    A time outside `EARLIEST`..`LATEST` (no bar is older, and later ones overflow dates and
    sizes downstream) is refused naming its rows, whatever the file's format.
    """
    parsed, notes = _parse(source, zone, daily, where)
    micros = parsed.to_physical()
    bad = (
        (source.is_not_null() & micros.is_null()) | (micros < _EARLIEST_US) | (micros >= _LATEST_US)
    )
    if bad.any():
        rows = pl.DataFrame({"value": source.cast(pl.String), "bad": bad}).with_row_index("row")
        rows = rows.filter("bad")
        shown = ", ".join(f"row {row} {text!r}" for row, text, _ in rows.head(5).iter_rows())
        raise DataValidationError(
            f"{where}: {rows.height} timestamp(s) not between {EARLIEST.year} and "
            f"{LATEST.year} ({notes[-1]}): {shown}. Fix or remove those rows; epoch numbers "
            "count seconds (or ms, us, ns) since 1970-01-01 UTC."
        )
    return parsed, notes


def _parse(
    source: pl.Series, zone: ZoneInfo, daily: bool, where: str
) -> tuple[pl.Series, list[str]]:
    dtype = source.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            note = f"timestamps carry their timezone ({dtype.time_zone}): kept"
            return source.dt.convert_time_zone("UTC").dt.cast_time_unit("us"), [note]
        return _localise(source.dt.cast_time_unit("us"), zone, where)
    if dtype == pl.Date:
        return _daily(source, zone, daily, where)
    if dtype.is_numeric():
        return _epoch(source)
    if dtype == pl.String:
        return _text(source.str.strip_chars(), zone, daily, where)
    raise DataValidationError(
        f"{where}: the timestamp column {source.name!r} has type {dtype}; expected text, "
        "epoch numbers or datetimes"
    )


def _localise(naive: pl.Series, zone: ZoneInfo, where: str) -> tuple[pl.Series, list[str]]:
    try:
        aware = naive.dt.replace_time_zone(zone.key, ambiguous="raise", non_existent="raise")
    except pl.exceptions.PolarsError as exc:
        raise DataValidationError(
            f"{where}: timestamps do not exist or are ambiguous in {zone.key} (a DST change): "
            f"pass the timezone the file was written in ({exc})"
        ) from exc
    note = (
        f"timestamps have no timezone: read as {zone.key} wall-clock time "
        "(pass --timezone / timezone= if the file uses another clock)"
    )
    return aware.dt.convert_time_zone("UTC").alias("ts"), [note]


def _daily(
    dates: pl.Series, zone: ZoneInfo, daily: bool, where: str
) -> tuple[pl.Series, list[str]]:
    if not daily:
        raise DataValidationError(
            f"{where}: the timestamps are dates without a time of day; import them with "
            "--interval 1d, or provide a time column"
        )
    opens = dates.dt.combine(time(SESSION_OPEN.hour, SESSION_OPEN.minute), time_unit="us")
    aware = opens.dt.replace_time_zone("Asia/Kolkata").dt.convert_time_zone("UTC").alias("ts")
    note = "dates without a time: each daily bar labelled with its session open, 09:15 IST"
    if zone.key != "Asia/Kolkata":
        note += f" (the timezone {zone.key} does not apply to dates)"
    return aware, [note]


def _epoch(values: pl.Series) -> tuple[pl.Series, list[str]]:
    numbers = values.cast(pl.Float64).fill_nan(None)  # a missing stamp stays missing (null)
    magnitude = numbers.abs().max()
    largest = float(magnitude) if isinstance(magnitude, int | float) else 0.0
    _, unit, to_micros = next(entry for entry in _EPOCH_UNITS if largest < entry[0])
    micros = (numbers * to_micros).round().cast(pl.Int64, strict=False)  # beyond int64: null
    return micros.cast(_UTC_US).alias("ts"), [f"timestamps are epoch {unit} (UTC by definition)"]


def _text(text: pl.Series, zone: ZoneInfo, daily: bool, where: str) -> tuple[pl.Series, list[str]]:
    present = text.drop_nulls()
    for format_ in AWARE_FORMATS:
        parsed = _try(text, present, format_)
        if parsed is not None:
            note = f"timestamps parsed as {format_} with their own UTC offset"
            return parsed.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("ts"), [note]
    for format_ in NAIVE_FORMATS:
        parsed = _try(text, present, format_)
        if parsed is not None:
            localised, notes = _localise(parsed, zone, where)
            return localised, [f"timestamps parsed as {format_}", *notes]
    for format_ in DATE_FORMATS:
        if present.str.to_date(format_, strict=False).null_count() == 0:
            dates, notes = _daily(text.str.to_date(format_, strict=False), zone, daily, where)
            return dates, [f"dates parsed as {format_}", *notes]
    examples = ", ".join(repr(value) for value in present.head(3).to_list())
    raise DataValidationError(
        f"{where}: cannot read timestamps such as {examples}. Use ISO 8601 "
        "(2025-01-02 09:15:00, optionally +05:30), DD-MM-YYYY HH:MM, or epoch seconds"
    )


def _try(text: pl.Series, present: pl.Series, format_: str) -> pl.Series | None:
    try:
        if present.str.to_datetime(format_, strict=False, time_unit="us").null_count():
            return None
        return text.str.to_datetime(format_, strict=False, time_unit="us")
    except pl.exceptions.PolarsError:
        return None

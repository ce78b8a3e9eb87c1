"""Read a daily implied-volatility file (CSV or Parquet) into a validated `(day, iv)` frame.

`read_iv_file` is what `tradeloop data iv import` writes through `VolatilityStore.write`: the
day column (dates, timestamps as their IST day, or text such as 2025-01-02 or NSE's
02-Jan-2025) and the iv column (numbers, text with thousands commas) are found by name,
ignoring case and surrounding spaces, and every row that does not read is refused by number.
The values are returned as annualised fractions in the unit the user named (`percent` values
are divided by 100); no unit, or a typical value that contradicts the named one (below 1% or
above 300% a year), is refused with the remedy. The store then validates the rows themselves.

Row numbers in errors count data rows from 0 (CSV line = row + 2); the messages name the
`tradeloop data iv import` options that fix them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import polars as pl

from tradeloop.domain.market.refusals import clip, clip_list
from tradeloop.errors import DataValidationError, NotFoundError, UserError
from tradeloop.storage._files import did_you_mean
from tradeloop.storage.importer import CSV_SUFFIXES, NULL_MARKERS, PARQUET_SUFFIXES
from tradeloop.storage.volatility import MAX_PLAUSIBLE_IV

IvUnit = Literal["percent", "decimal"]
IV_DATE_FORMATS: Final = ("%Y-%m-%d", "%d-%m-%Y", "%d-%b-%Y")
"""Text days: ISO first; NSE's India VIX downloads write 02-Jan-2025."""
LOWEST_PLAUSIBLE_MEDIAN_IV: Final = 0.01
"""1% a year: a typical day below it means the values were divided once too often."""
ROWS_NOTE: Final = "(rows count the file's data rows from 0; in a CSV, line = row + 2)"


def read_iv_file(
    path: Path, *, day_column: str = "day", iv_column: str = "iv", unit: IvUnit | None
) -> pl.DataFrame:
    """The file's `(day, iv)` rows, iv as annualised fractions; refused whole on any bad row,
    an unknown column, no `unit`, or a typical value implausible in that unit."""
    raw = _read(path)
    if raw.is_empty():
        raise DataValidationError(f"{path}: no data rows, nothing was imported")
    days = _days(raw[_column(raw, day_column, "--day-column", path)], path)
    values = _numbers(raw[_column(raw, iv_column, "--iv-column", path)], path)
    return pl.DataFrame({"day": days, "iv": _in_decimal(values, unit, path)})


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise NotFoundError(f"file {path} does not exist (or is not a file): check the path")
    name = path.name.lower()
    try:
        if name.endswith(CSV_SUFFIXES):
            return pl.read_csv(
                path, try_parse_dates=True, null_values=NULL_MARKERS, infer_schema_length=None
            )
        if name.endswith(PARQUET_SUFFIXES):
            return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataValidationError(f"cannot read {path}: {clip(str(exc), 300)}") from exc
    raise DataValidationError(
        f"{path}: unsupported file type; import a CSV ({', '.join(CSV_SUFFIXES)}) or Parquet "
        f"({', '.join(PARQUET_SUFFIXES)}) file"
    )


def _column(raw: pl.DataFrame, wanted: str, option: str, path: Path) -> str:
    """The file's column named `wanted`, ignoring case and surrounding spaces (NSE writes
    "Date ")."""
    matches = [column for column in raw.columns if column.strip().lower() == wanted.lower()]
    if len(matches) == 1:
        return matches[0]
    found = "several columns" if matches else "no column"
    raise DataValidationError(
        f"{path}: {found} named {wanted!r} ({option}). Columns found: {clip_list(raw.columns)}. "
        f"Pass {option} with the file's column name.{did_you_mean(wanted, raw.columns)} "
        "Nothing was imported."
    )


def _days(raw: pl.Series, path: Path) -> pl.Series:
    """Each row's day: dates as they are, timestamps as their IST date, text as a date."""
    dtype = raw.dtype
    if dtype == pl.Date:
        return raw.alias("day")
    if isinstance(dtype, pl.Datetime):
        aware = raw if dtype.time_zone else raw.dt.replace_time_zone("Asia/Kolkata")
        return aware.dt.convert_time_zone("Asia/Kolkata").dt.date().alias("day")
    if dtype != pl.String:
        raise DataValidationError(
            f"{path}: the day column {raw.name!r} has type {dtype}; expected dates (YYYY-MM-DD) "
            "or timestamps. Nothing was imported."
        )
    text = raw.str.strip_chars()
    parsed = min(
        (text.str.to_date(format_, strict=False) for format_ in IV_DATE_FORMATS),
        key=lambda candidate: candidate.null_count(),
    )
    _refuse_rows(
        text, text.is_not_null() & parsed.is_null(), path, "not a date", "write YYYY-MM-DD"
    )
    return parsed.alias("day")


def _numbers(raw: pl.Series, path: Path) -> pl.Series:
    if raw.dtype.is_numeric() or raw.dtype == pl.Null:
        return raw.cast(pl.Float64).alias("iv")
    text = raw.cast(pl.String).str.strip_chars()
    parsed = text.str.replace_all(",", "").cast(pl.Float64, strict=False)
    _refuse_rows(text, text.is_not_null() & parsed.is_null(), path, "not a number", "fix them")
    return parsed.alias("iv")


def _refuse_rows(values: pl.Series, bad: pl.Series, path: Path, problem: str, fix: str) -> None:
    if not bad.any():
        return
    rows = pl.DataFrame({"value": values, "bad": bad}).with_row_index("row").filter("bad")
    shown = ", ".join(f"row {row} {clip(str(text))!r}" for row, text, _ in rows.head(5).iter_rows())
    raise DataValidationError(
        f"{path}: nothing was imported. Column {values.name!r} has {rows.height} value(s) "
        f"{problem}: {shown}. {fix[0].upper()}{fix[1:]} or remove those rows.\n{ROWS_NOTE}"
    )


def _in_decimal(values: pl.Series, unit: IvUnit | None, path: Path) -> pl.Series:
    """The values as annualised fractions, in the unit the user chose; refused when no unit was
    chosen, or when the typical value contradicts the chosen one (1% to 300% a year)."""
    percent = unit == "percent"
    iv = values / 100 if percent else values
    positive = iv.filter(iv.is_finite() & (iv > 0))
    median = positive.median() if positive.len() else None
    if unit is None:
        raise UserError(_unit_refusal(path, median))
    if not isinstance(median, float):
        return iv  # every value is missing or not above zero: the store names those rows
    given = f"--{unit}"
    if median > MAX_PLAUSIBLE_IV:
        hint = "check --iv-column names the implied volatility" if percent else "pass --percent"
        raise UserError(
            f"{path}: with {given} the median iv is {median:g} ({median:.0%} a year), "
            f"implausibly high; the values look like percent: {hint}. Nothing was imported."
        )
    if median < LOWEST_PLAUSIBLE_MEDIAN_IV:
        hint = (
            "the values look like decimals already: pass --decimal"
            if percent
            else "check --iv-column names the implied volatility"
        )
        raise UserError(
            f"{path}: with {given} the median iv is {median:g} ({median:.2%} a year), "
            f"implausibly low: {hint}. Nothing was imported."
        )
    return iv


def _unit_refusal(path: Path, median: object) -> str:
    if isinstance(median, float) and median > MAX_PLAUSIBLE_IV:
        seen = f"the median value is {median:g}: looks like percent (India VIX is): pass --percent"
    elif isinstance(median, float) and median < LOWEST_PLAUSIBLE_MEDIAN_IV:
        seen = (
            f"the median value is {median:g}, below 1% a year even as a decimal: check "
            "--iv-column names the implied volatility, then pass --decimal or --percent"
        )
    else:
        seen = (
            "pass --percent if 14.2 means 14.2% a year (India VIX is in percent), --decimal if "
            "0.142 does"
        )
    return f"{path}: the unit of the values is not given; {seen}. Nothing was imported."

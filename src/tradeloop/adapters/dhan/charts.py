"""Dhan's chart answers as candle frames: the arrays checked field by field, the stamps mapped.

Dhan answers `/charts/historical` and `/charts/intraday` with parallel arrays `open`, `high`,
`low`, `close`, `volume` and `timestamp` (epoch seconds). `candle_frame` turns them into the
candle frame (`domain.market.candles`), keeping only rows of the window's days; the candle store
validates prices and times on write. An answer that is not such arrays raises
`DhanPayloadError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime

import polars as pl

from tradeloop.adapters.redaction import redact
from tradeloop.domain.market.calendar import IST, ist_datetime
from tradeloop.domain.market.candles import empty_candles
from tradeloop.domain.market.fetch_plan import FetchWindow
from tradeloop.domain.market.session import OPEN as SESSION_OPEN
from tradeloop.errors import OperationalError

FIELDS = ("open", "high", "low", "close", "volume", "timestamp")


class DhanPayloadError(OperationalError):
    """Dhan answered 200 with a body that is not candles; the message names the field."""


def candle_frame(
    data: object, symbol: str, interval: str, window: FetchWindow, *, daily: bool, what: str
) -> pl.DataFrame:
    """Dhan's arrays as a candle frame (rows of the window's days only); DhanPayloadError names
    the field that is missing, of the wrong length or not numbers."""
    if isinstance(data, Mapping) and not data:
        return empty_candles()
    if not isinstance(data, Mapping):
        raise DhanPayloadError(
            f"Dhan's answer for {what} is not an object of arrays: got {_shown(data)}"
        )
    columns: dict[str, list[float]] = {}
    for field in FIELDS:
        if field not in data:
            raise DhanPayloadError(
                f"Dhan's answer for {what} has no {field!r} array (fields: "
                f"{', '.join(sorted(map(str, data))) or 'none'}); nothing of it was stored"
            )
        columns[field] = _numbers(data[field], field, what)
    lengths = {field: len(values) for field, values in columns.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{field} {count}" for field, count in lengths.items())
        raise DhanPayloadError(
            f"Dhan's answer for {what} has arrays of different lengths ({shown}); "
            "nothing of it was stored"
        )
    if not columns["timestamp"]:
        return empty_candles()
    stamps = [datetime.fromtimestamp(value, UTC) for value in columns["timestamp"]]
    if daily:
        # A daily candle is stamped at midnight IST; tradeloop keeps it at the session open.
        stamps = [ist_datetime(stamp.astimezone(IST).date(), SESSION_OPEN) for stamp in stamps]
    keep = [window.first_day <= _ist_day(stamp) <= window.last_day for stamp in stamps]
    frame = pl.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "ts": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")),
            **{field: columns[field] for field in ("open", "high", "low", "close", "volume")},
            "oi": pl.Series([None] * len(stamps), dtype=pl.Int64()),
        },
    )
    return frame.filter(pl.Series(keep, dtype=pl.Boolean()))


def _numbers(values: object, field: str, what: str) -> list[float]:
    if not isinstance(values, list):
        raise DhanPayloadError(
            f"Dhan's answer for {what}: field {field!r} is not an array (got {_shown(values)})"
        )
    for index, value in enumerate(values):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise DhanPayloadError(
                f"Dhan's answer for {what}: field {field!r} holds {_shown(value)} at index "
                f"{index}, not a finite number; nothing of it was stored"
            )
    return [float(value) for value in values]


def _ist_day(stamp: datetime) -> date:
    return stamp.astimezone(IST).date()


def _shown(value: object) -> str:
    text = redact(repr(value))
    return text if len(text) <= 80 else text[:80] + "…"

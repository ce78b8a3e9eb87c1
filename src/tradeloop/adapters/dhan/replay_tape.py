"""The packets a replay of stored 1m candles sends, in exchange-time order, for every mode.

A `ReplayTape` is built once from the candles of each instrument (`from_candles`): four ticks a
candle (`domain.market.ticks.ticks_from_candles`: open, the two extremes in the order the path
implies, close, at +0/+15/+30/+45 s), merged over the instruments by exchange time (instruments
in the order given when several tick in the same second). `packet(event, mode)` is the wire
bytes of one tick as Dhan sends it for a subscription of that mode:

* ticker: last price and last trade time;
* quote: also the quantity of this tick (`last_quantity`, a u16 on the wire, so capped at
  65,535), the **cumulative volume of the day** (u32; the ticks' volumes added up from the first
  tick of the IST day, which is what a feed client differences to get each tick's quantity), the
  day's volume-weighted average price, open, high and low so far, and the previous close (0 when
  unknown); buy and sell quantities are 0;
* full: the quote's fields plus the open interest (the candle's, carried from its close tick on;
  0 until the first one, and always 0 for an index) and five empty depth levels.

Prices go out as float32, as Dhan's do; `BarBuilder` rounds them back to the stored 0.01.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

import polars as pl

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_codec import DepthLevel, FeedMode, Full, Instrument, Quote
from tradeloop.domain.market.calendar import IST_OFFSET
from tradeloop.domain.market.ticks import ticks_from_candles

MAX_LAST_QUANTITY: Final = 2**16 - 1
MAX_CUMULATIVE_VOLUME: Final = 2**32 - 1
_EMPTY_DEPTH: Final = tuple(DepthLevel(0, 0, 0, 0, 0.0, 0.0) for _ in range(5))


class TapeEvent(NamedTuple):
    """One tick of one instrument: everything its packets carry."""

    time: int  # exchange time, epoch seconds (UTC)
    instrument: Instrument
    price: float
    quantity: int  # traded by this tick
    day_volume: int  # cumulative for the IST day, this tick included
    average_price: float
    day_open: float
    day_high: float
    day_low: float
    open_interest: int


@dataclass(frozen=True, slots=True)
class ReplayTape:
    events: tuple[TapeEvent, ...]
    previous_close: Mapping[Instrument, float]

    @classmethod
    def from_candles(
        cls,
        candles: Mapping[Instrument, pl.DataFrame],
        previous_close: Mapping[Instrument, float] | None = None,
    ) -> ReplayTape:
        """The tape of each instrument's 1m candles (`CANDLE_SCHEMA`, one symbol each)."""
        frames = [
            _instrument_ticks(index, frame)
            for index, frame in enumerate(candles.values())
            if not frame.is_empty()
        ]
        if not frames:
            return cls((), dict(previous_close or {}))
        instruments = list(candles)
        merged = pl.concat(frames).sort("time", "instrument", maintain_order=True)
        events = tuple(
            TapeEvent(row[0], instruments[row[1]], *row[2:]) for row in merged.iter_rows()
        )
        return cls(events, dict(previous_close or {}))

    def __len__(self) -> int:
        return len(self.events)

    @property
    def instruments(self) -> set[Instrument]:
        return {event.instrument for event in self.events}

    def packet(self, event: TapeEvent, mode: FeedMode) -> bytes:
        """The wire bytes of `event` for a subscription in `mode`."""
        segment, security_id = event.instrument
        if mode is FeedMode.TICKER:
            return feed_codec.encode_ticker(segment, security_id, event.price, event.time)
        previous_close = self.previous_close.get(event.instrument, 0.0)
        quantity = min(event.quantity, MAX_LAST_QUANTITY)
        if mode is FeedMode.QUOTE:
            return feed_codec.encode_quote(
                Quote(segment, security_id, event.price, quantity, event.time,
                      event.average_price, event.day_volume, 0, 0, event.day_open,
                      previous_close, event.day_high, event.day_low)
            )  # fmt: skip
        return feed_codec.encode_full(
            Full(segment, security_id, event.price, quantity, event.time, event.average_price,
                 event.day_volume, 0, 0, event.open_interest, event.open_interest,
                 event.open_interest, event.day_open, previous_close, event.day_high,
                 event.day_low, _EMPTY_DEPTH)
        )  # fmt: skip


def _instrument_ticks(index: int, candles: pl.DataFrame) -> pl.DataFrame:
    ticks = ticks_from_candles(candles)
    day = (pl.col("ts") + pl.duration(seconds=int(IST_OFFSET.total_seconds()))).dt.date()
    frame = ticks.with_columns(day=day).select(
        time=pl.col("ts").dt.epoch("s"),
        instrument=pl.lit(index, dtype=pl.Int64),
        price=pl.col("price"),
        quantity=pl.col("volume"),
        day_volume=pl.col("volume").cum_sum().over("day"),
        traded_value=(pl.col("price") * pl.col("volume")).cum_sum().over("day"),
        day_open=pl.col("price").first().over("day"),
        day_high=pl.col("price").cum_max().over("day"),
        day_low=pl.col("price").cum_min().over("day"),
        open_interest=pl.col("oi").forward_fill().fill_null(0),
    )
    biggest = frame.get_column("day_volume").max()
    if isinstance(biggest, int) and biggest > MAX_CUMULATIVE_VOLUME:
        symbol = candles.get_column("symbol")[0]
        raise ValueError(
            f"{symbol}: a day's volume reaches {biggest:,}, more than the feed's u32 volume "
            f"field holds ({MAX_CUMULATIVE_VOLUME:,}); the candles' volume is not a day's"
        )
    average = (
        pl.when(pl.col("day_volume") > 0)
        .then(pl.col("traded_value") / pl.col("day_volume"))
        .otherwise(pl.col("price"))
    )
    return frame.with_columns(average_price=average).select(
        "time", "instrument", "price", "quantity", "day_volume", "average_price",
        "day_open", "day_high", "day_low", "open_interest",
    )  # fmt: skip

"""Build 1m bars from one instrument's ticks, exactly as the candle store defines them.

A bar is the minute [ts, ts + 60 s) of exchange time, labelled by its start (`ts`, tz-aware
UTC; IST is UTC+05:30, whole minutes, so the UTC minute is the IST minute and bars line up with
09:15 IST). Only minutes of an NSE session make bars: 09:15–15:29 IST of a trading day, as
`validation.py` and `resample.py` require. A bar holds:

* **open**: the price of its earliest tick by exchange time (the first to arrive among equal
  times); **close**: the price of its latest tick (the last to arrive among equal times). For
  ticks arriving in order this is first and last; a tick that arrives a little out of order still
  lands where its exchange time puts it;
* **high / low**: the largest / smallest price, so high >= max(open, close) and
  low <= min(open, close) by construction;
* **volume**: the sum of the ticks' traded quantities (0 for an index: Dhan sends none);
* **oi**: the open interest of the latest tick that carries one, else null.

A minute without any tick makes no bar: nothing is forward-filled and no price is invented.

**Closing on time.** The builder keeps a *watermark*: the latest exchange time it has seen, from
ticks and from `on_time(now)`. The bar of minute M closes — is returned, once, and forgotten —
as soon as the watermark reaches M + 60 s + `grace`. So a tick of the next minute closes it, and
so does the clock when the market goes silent: `on_time(now)` is how a bar closes when no tick
follows it. `grace` (`DEFAULT_GRACE`, 2 s) gives ticks that arrive a little late (Dhan's
last-trade time has one-second resolution; packets of one second can straddle a minute) time to
count. `now` is on the exchange's clock: the wall clock for a live feed, the replay's clock for
a replay.

**Ticks not used**, each counted, none ever changing a returned bar:

* outside a session (pre-open, after 15:30, weekends, holidays): `dropped_outside_session`;
  they do not move the watermark;
* late: the tick's minute has already closed (M + 60 s + grace <= watermark): `dropped_late`.
  A closed bar is never reopened, and a silent minute already passed never gets a bar;
* not a price (NaN, infinite, <= 0) or a negative quantity: `dropped_invalid`.

**Prices** are rounded to `price_decimals` places as they arrive. Dhan's feed carries the last
traded price as a float32, which is not the stored float64: for NIFTY at 24,012.37 it decodes as
24,012.369140625. float32 keeps 24 significant bits, so below 2**17 = 131,072 its error is at
most 2**-8 = 0.0039 < 0.005, half a hundredth; rounding to 2 places then gives back the exact
stored price (index values are quoted in 0.01; option and future ticks of 0.05 are whole
hundredths too). `INDEX_PRICE_DECIMALS` is 2.

`bars_from_ticks(frame)` runs the same builder over a tick frame in row (arrival) order and
returns the bars in the candle store's schema: one rule, not a vectorised twin of it
(a year of ticks, ~375k, in about 1.5 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import polars as pl

from tradeloop.domain.market.calendar import IST_OFFSET, NSECalendar
from tradeloop.domain.market.candles import CANDLE_SCHEMA, empty_candles
from tradeloop.domain.market.session import CLOSE_MINUTE, OPEN_MINUTE

DEFAULT_GRACE: Final = timedelta(seconds=2)
"""How long after its minute ends a bar waits for late ticks before it closes."""
INDEX_PRICE_DECIMALS: Final = 2
"""Index values are quoted to 0.01; rounding a float32 LTP to 2 places restores them exactly."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)
_US_PER_MINUTE: Final = 60_000_000
_US_PER_DAY: Final = 86_400_000_000
_IST_OFFSET_US: Final = int(IST_OFFSET.total_seconds()) * 1_000_000
_EPOCH_DAY: Final = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Bar:
    """A closed 1m bar: `ts` is its minute's start, tz-aware UTC."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    oi: int | None


class _Building:
    """The open bar of one minute; times are exchange times in microseconds since the epoch."""

    __slots__ = (
        "close",
        "close_time",
        "high",
        "low",
        "oi",
        "oi_time",
        "open",
        "open_time",
        "volume",
    )

    def __init__(self, price: float, time_us: int, volume: int, oi: int | None) -> None:
        self.open = self.high = self.low = self.close = price
        self.open_time = self.close_time = self.oi_time = time_us
        self.volume = volume
        self.oi = oi

    def add(self, price: float, time_us: int, volume: int, oi: int | None) -> None:
        if time_us < self.open_time:
            self.open, self.open_time = price, time_us
        if time_us >= self.close_time:
            self.close, self.close_time = price, time_us
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.volume += volume
        if oi is not None and (self.oi is None or time_us >= self.oi_time):
            self.oi, self.oi_time = oi, time_us


class BarBuilder:
    """Streaming 1m bars for one instrument; see the module docstring for every rule."""

    def __init__(
        self,
        symbol: str,
        *,
        calendar: NSECalendar,
        price_decimals: int,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        if grace < timedelta(0) or grace >= timedelta(minutes=1):
            raise ValueError(f"grace={grace}: must be at least 0 and under a minute")
        self.symbol = symbol
        self._calendar = calendar
        self._decimals = price_decimals
        self._grace_us = grace // _ONE_US
        self._watermark_us: int | None = None
        self._building: dict[int, _Building] = {}
        self._trading_days: dict[int, bool] = {}
        self.dropped_outside_session = 0
        self.dropped_late = 0
        self.dropped_invalid = 0

    def on_tick(
        self, price: float, exchange_time: datetime, volume: int = 0, oi: int | None = None
    ) -> list[Bar]:
        """Take one tick (`volume`: the quantity it traded); return the bars it closed, oldest
        first (usually none, or the previous minute's bar)."""
        return self.on_tick_us(price, _to_us(exchange_time), volume, oi)

    def on_time(self, now: datetime) -> list[Bar]:
        """Advance the clock to `now` (exchange time); return the bars whose minute + grace has
        passed, oldest first: how a bar closes when no tick follows it."""
        return self._advance(_to_us(now))

    def flush(self) -> list[Bar]:
        """End of the stream: close every open bar now; later ticks of those minutes are late."""
        if not self._building:
            return []
        last_end = max(self._building) + _US_PER_MINUTE + self._grace_us
        return self._advance(last_end)

    @property
    def open_bars(self) -> int:
        """How many minutes have an open bar (0, 1, or 2 around a minute boundary)."""
        return len(self._building)

    def on_tick_us(
        self, price: float, time_us: int, volume: int = 0, oi: int | None = None
    ) -> list[Bar]:
        """`on_tick` with the exchange time in microseconds since the epoch (UTC)."""
        if not (0 < price < math.inf) or volume < 0:
            self.dropped_invalid += 1
            return []
        if not self._in_session(time_us):
            self.dropped_outside_session += 1
            return []
        minute = time_us - time_us % _US_PER_MINUTE
        watermark = self._watermark_us
        if watermark is not None and minute + _US_PER_MINUTE + self._grace_us <= watermark:
            self.dropped_late += 1
            return []
        price = round(price, self._decimals)
        building = self._building.get(minute)
        if building is None:
            self._building[minute] = _Building(price, time_us, volume, oi)
        else:
            building.add(price, time_us, volume, oi)
        if watermark is not None and time_us <= watermark:
            return []
        return self._advance(time_us)

    def _advance(self, now_us: int) -> list[Bar]:
        if self._watermark_us is not None and now_us <= self._watermark_us:
            return []
        self._watermark_us = now_us
        due = now_us - _US_PER_MINUTE - self._grace_us
        if len(self._building) == 1:  # the usual case: one bar open, no sorting
            (minute,) = self._building
            return [self._close(minute)] if minute <= due else []
        closing = sorted(minute for minute in self._building if minute <= due)
        return [self._close(minute) for minute in closing]

    def _close(self, minute: int) -> Bar:
        building = self._building.pop(minute)
        return Bar(
            symbol=self.symbol,
            ts=_EPOCH + timedelta(microseconds=minute),
            open=building.open,
            high=building.high,
            low=building.low,
            close=building.close,
            volume=building.volume,
            oi=building.oi,
        )

    def _in_session(self, time_us: int) -> bool:
        local_us = time_us + _IST_OFFSET_US
        day, within = divmod(local_us, _US_PER_DAY)
        if not OPEN_MINUTE <= within // _US_PER_MINUTE < CLOSE_MINUTE:
            return False
        trading = self._trading_days.get(day)
        if trading is None:
            trading = self._calendar.is_trading_day(_EPOCH_DAY + timedelta(days=day))
            self._trading_days[day] = trading
        return trading


def bars_from_ticks(
    ticks: pl.DataFrame,
    *,
    calendar: NSECalendar,
    price_decimals: int,
    grace: timedelta = DEFAULT_GRACE,
) -> pl.DataFrame:
    """1m bars (`CANDLE_SCHEMA`, sorted by `ts`) from a tick frame of one symbol (`TICK_SCHEMA`
    of `ticks.py`; `oi` optional) taken in row order, closed at the end of the frame."""
    if ticks.is_empty():
        return empty_candles()
    symbols = ticks.get_column("symbol").unique().to_list()
    if len(symbols) != 1:
        raise ValueError(f"bars_from_ticks needs the ticks of one symbol, got {symbols}")
    builder = BarBuilder(symbols[0], calendar=calendar, price_decimals=price_decimals, grace=grace)
    times = ticks.get_column("ts").dt.convert_time_zone("UTC").dt.epoch("us").to_list()
    prices = ticks.get_column("price").cast(pl.Float64).to_list()
    volumes = ticks.get_column("volume").to_list()
    ois = ticks.get_column("oi").to_list() if "oi" in ticks.columns else [None] * ticks.height
    bars: list[Bar] = []
    for price, time_us, volume, oi in zip(prices, times, volumes, ois, strict=True):
        bars.extend(builder.on_tick_us(price, time_us, volume, oi))
    bars.extend(builder.flush())
    return bars_frame(bars)


def bars_frame(bars: list[Bar]) -> pl.DataFrame:
    """Closed bars as a candle frame (`CANDLE_SCHEMA`, interval "1m"), sorted by `ts`."""
    if not bars:
        return empty_candles()
    return pl.DataFrame(
        {
            "symbol": [bar.symbol for bar in bars],
            "interval": ["1m"] * len(bars),
            "ts": [bar.ts for bar in bars],
            "open": [bar.open for bar in bars],
            "high": [bar.high for bar in bars],
            "low": [bar.low for bar in bars],
            "close": [bar.close for bar in bars],
            "volume": [bar.volume for bar in bars],
            "oi": [bar.oi for bar in bars],
        },
        schema=CANDLE_SCHEMA,
    ).sort("ts", maintain_order=True)


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: ticks and clocks must be tz-aware")
    return (moment - _EPOCH) // _ONE_US

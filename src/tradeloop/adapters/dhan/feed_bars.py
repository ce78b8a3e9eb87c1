"""Closed 1m bars from the packets of a `DhanFeedClient`: one `BarBuilder` per instrument.

Pass `FeedBars.on_packet` as the client's `on_packet`. Each ticker, quote or full packet is one
tick at its last trade time; the tick's traded quantity comes from the packet:

* ticker: none (0): Dhan's ticker packet carries no volume, so subscribe in quote (or full)
  mode where bars need volume;
* quote and full: the increase of the day's cumulative volume since this instrument's previous
  packet. The first packet of an instrument on an IST day counts its whole cumulative volume
  when it is a trade of the opening minute (09:15, so the day's volume so far is its own),
  else its `last_quantity` (what came before it was not seen). A cumulative volume that goes
  down (a new day, a restarted replay) starts the count again from it.

Full packets carry the open interest: a value above 0 rides on the tick, 0 (an index, or none
yet) is no open interest. Other packets (previous close, market status, disconnect) make no tick.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from tradeloop.adapters.dhan.feed_codec import Full, Instrument, Packet, Quote, Tick
from tradeloop.domain.market.bars import DEFAULT_GRACE, Bar, BarBuilder
from tradeloop.domain.market.calendar import IST_OFFSET, NSECalendar
from tradeloop.domain.market.session import OPEN_MINUTE

_US_PER_SECOND: Final = 1_000_000
_IST_OFFSET_S: Final = int(IST_OFFSET.total_seconds())
_SECONDS_PER_DAY: Final = 86_400

BarHook = Callable[[Instrument, Bar], None]


class FeedBars:
    """Bars per instrument (those named in `symbols`; packets of others are ignored)."""

    def __init__(
        self,
        symbols: Mapping[Instrument, str],
        *,
        calendar: NSECalendar,
        price_decimals: int,
        grace: timedelta = DEFAULT_GRACE,
        on_bar: BarHook | None = None,
    ) -> None:
        self.builders = {
            instrument: BarBuilder(
                symbol, calendar=calendar, price_decimals=price_decimals, grace=grace
            )
            for instrument, symbol in symbols.items()
        }
        self._on_bar = on_bar
        self._volume_seen: dict[Instrument, tuple[int, int]] = {}  # (IST day, cumulative)
        self.bars: dict[Instrument, list[Bar]] = {instrument: [] for instrument in symbols}

    def on_packet(self, packet: Packet, received_at: datetime) -> None:
        """A `DhanFeedClient` packet hook: feed the tick, keep (and hand on) closed bars."""
        if not isinstance(packet, Tick | Quote | Full):
            return
        instrument = (packet.segment, packet.security_id)
        builder = self.builders.get(instrument)
        if builder is None:
            return
        quantity = 0 if isinstance(packet, Tick) else self._quantity(instrument, packet)
        open_interest = packet.open_interest or None if isinstance(packet, Full) else None
        closed = builder.on_tick_us(
            packet.last_price,
            packet.last_trade_time * _US_PER_SECOND,
            quantity,
            open_interest,
        )
        self._keep(instrument, closed)

    def on_time(self, now: datetime) -> None:
        """Close the bars whose minute (plus grace) has passed at `now`, exchange time."""
        for instrument, builder in self.builders.items():
            self._keep(instrument, builder.on_time(now))

    def flush(self) -> None:
        """The end of the stream: close every open bar."""
        for instrument, builder in self.builders.items():
            self._keep(instrument, builder.flush())

    def _keep(self, instrument: Instrument, closed: list[Bar]) -> None:
        for bar in closed:
            self.bars[instrument].append(bar)
            if self._on_bar is not None:
                self._on_bar(instrument, bar)

    def _quantity(self, instrument: Instrument, packet: Quote | Full) -> int:
        local = packet.last_trade_time + _IST_OFFSET_S
        day = local // _SECONDS_PER_DAY
        seen = self._volume_seen.get(instrument)
        self._volume_seen[instrument] = (day, packet.volume)
        if seen is not None and seen[0] == day and packet.volume >= seen[1]:
            return packet.volume - seen[1]
        if seen is not None and seen[0] == day:  # the cumulative volume went down: a restart
            return packet.volume
        opening_minute = (local % _SECONDS_PER_DAY) // 60 == OPEN_MINUTE
        return packet.volume if opening_minute else packet.last_quantity

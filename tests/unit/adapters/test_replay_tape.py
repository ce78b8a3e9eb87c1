"""The replay's packets (`ReplayTape`) and the bars a client rebuilds from packets (`FeedBars`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_bars import FeedBars
from tradeloop.adapters.dhan.feed_codec import FeedMode, Full, Quote, Tick
from tradeloop.adapters.dhan.replay import ReplayFeedServer
from tradeloop.adapters.dhan.replay_tape import MAX_LAST_QUANTITY, ReplayTape
from tradeloop.cli.feed import CONTROLS_HELP, control
from tradeloop.domain.market.bars import INDEX_PRICE_DECIMALS, bars_frame
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.market.synthetic import generate_market

CALENDAR = NSECalendar.default()
NIFTY = (0, 13)
OPTION = (2, 35001)
MONDAY, TUESDAY = date(2025, 3, 3), date(2025, 3, 4)
RECEIVED = datetime(2025, 3, 3, 4, 0, tzinfo=UTC)


def candles(
    symbol: str, rows: Sequence[tuple[date, time, float, float, float, float, int, int | None]]
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": [symbol] * len(rows),
            "interval": ["1m"] * len(rows),
            "ts": [ist_datetime(day, at) for day, at, *_ in rows],
            "open": [row[2] for row in rows],
            "high": [row[3] for row in rows],
            "low": [row[4] for row in rows],
            "close": [row[5] for row in rows],
            "volume": [row[6] for row in rows],
            "oi": [row[7] for row in rows],
        },
        schema=CANDLE_SCHEMA,
    )


def decoded(tape: ReplayTape, mode: FeedMode) -> list[feed_codec.Packet]:
    return [feed_codec.decode(tape.packet(event, mode))[0] for event in tape.events]


def test_quote_packets_carry_the_cumulative_day_volume_and_the_day_so_far() -> None:
    frame = candles(
        "NIFTY",
        [
            (MONDAY, time(9, 15), 100.0, 104.0, 99.0, 103.0, 400_000, None),
            (MONDAY, time(9, 16), 103.0, 103.5, 98.0, 98.5, 8, None),
            (TUESDAY, time(9, 15), 200.0, 201.0, 199.0, 200.5, 4, None),
        ],
    )
    tape = ReplayTape.from_candles({NIFTY: frame}, previous_close={NIFTY: 97.25})
    quotes = decoded(tape, FeedMode.QUOTE)
    assert all(isinstance(quote, Quote) for quote in quotes)
    assert [quote.last_price for quote in quotes[:4]] == [100.0, 99.0, 104.0, 103.0]
    assert [quote.volume for quote in quotes] == [
        100_000, 200_000, 300_000, 400_000, 400_002, 400_004, 400_006, 400_008,
        1, 2, 3, 4,  # a new IST day starts its own count
    ]  # fmt: skip
    assert quotes[0].last_quantity == MAX_LAST_QUANTITY  # 100,000 does not fit a u16
    assert quotes[4].last_quantity == 2
    fifth = quotes[5]  # 09:16 +15 s: the high of 103.5 comes after the low on a down bar
    assert isinstance(fifth, Quote)
    assert (fifth.open, fifth.high, fifth.low, fifth.close) == (100.0, 104.0, 99.0, 97.25)
    assert isinstance(quotes[8], Quote) and quotes[8].open == 200.0 and quotes[8].low == 200.0
    assert quotes[0].average_price == 100.0
    assert [quote.last_trade_time for quote in quotes[:2]] == [
        int(ist_datetime(MONDAY, time(9, 15)).timestamp()),
        int(ist_datetime(MONDAY, time(9, 15, 15)).timestamp()),
    ]


def test_ticks_of_several_instruments_are_merged_by_exchange_time() -> None:
    minute = [(MONDAY, time(9, 15), 100.0, 101.0, 99.0, 100.5, 4, None)]
    later = [(MONDAY, time(9, 16), 50.0, 51.0, 49.0, 50.5, 4, 7)]
    tape = ReplayTape.from_candles(
        {OPTION: candles("NIFTY-OPT", later), NIFTY: candles("NIFTY", minute)}
    )
    assert [event.instrument for event in tape.events] == [NIFTY] * 4 + [OPTION] * 4
    assert tape.instruments == {NIFTY, OPTION}
    assert isinstance(decoded(tape, FeedMode.TICKER)[0], Tick)


def test_full_packets_carry_the_open_interest_from_its_candle_close_on() -> None:
    rows = [
        (MONDAY, time(9, 15), 100.0, 101.0, 99.0, 100.5, 4, 700),
        (MONDAY, time(9, 16), 100.5, 101.0, 99.0, 100.0, 4, 900),
    ]
    fulls = decoded(ReplayTape.from_candles({OPTION: candles("OPT", rows)}), FeedMode.FULL)
    assert all(isinstance(full, Full) for full in fulls)
    assert [full.open_interest for full in fulls if isinstance(full, Full)] == [
        0, 0, 0, 700, 700, 700, 700, 900,
    ]  # fmt: skip
    bars = FeedBars({OPTION: "OPT"}, calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS)
    for full in fulls:
        bars.on_packet(full, RECEIVED)
    bars.flush()
    assert bars_frame(bars.bars[OPTION]).equals(candles("OPT", rows))


def quote(price: float, at: time, volume: int, last_quantity: int) -> Quote:
    moment = int(ist_datetime(MONDAY, at).timestamp())
    return Quote(0, 13, price, last_quantity, moment, price, volume, 0, 0, price, 0, price, price)


def test_a_first_packet_after_the_opening_minute_counts_only_its_last_quantity() -> None:
    bars = FeedBars({NIFTY: "NIFTY"}, calendar=CALENDAR, price_decimals=2)
    bars.on_packet(quote(100.0, time(11, 0, 5), 5_000_000, 75), RECEIVED)  # joined mid-day
    bars.on_packet(quote(100.5, time(11, 0, 20), 5_000_150, 150), RECEIVED)
    bars.on_packet(quote(100.2, time(11, 0, 40), 40, 40), RECEIVED)  # a restart: count again
    bars.flush()
    (bar,) = bars.bars[NIFTY]
    assert bar.volume == 75 + 150 + 40
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 100.5, 100.0, 100.2)


def test_a_first_packet_in_the_opening_minute_counts_the_whole_day_volume() -> None:
    bars = FeedBars({NIFTY: "NIFTY"}, calendar=CALENDAR, price_decimals=2)
    bars.on_packet(quote(100.0, time(9, 15, 15), 300_000, MAX_LAST_QUANTITY), RECEIVED)
    bars.on_packet(
        Tick(0, 13, 101.0, int(ist_datetime(MONDAY, time(9, 15, 30)).timestamp())), RECEIVED
    )
    bars.on_packet(quote(99.0, time(9, 16, 5), 300_010, 10), RECEIVED)  # a ticker has no volume
    bars.on_packet(Tick(0, 99, 1.0, 0), RECEIVED)  # not subscribed here: ignored
    bars.flush()
    assert [bar.volume for bar in bars.bars[NIFTY]] == [300_000, 10]


def test_a_synthetic_day_through_the_packets_gives_back_its_bars() -> None:
    stored = generate_market("NIFTY", days=1, start=MONDAY).candles
    tape = ReplayTape.from_candles({NIFTY: stored})
    bars = FeedBars({NIFTY: "NIFTY"}, calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS)
    for packet in decoded(tape, FeedMode.QUOTE):
        bars.on_packet(packet, RECEIVED)
    bars.flush()
    assert bars_frame(bars.bars[NIFTY]).equals(stored)


def test_the_typed_controls_of_the_replay_command() -> None:
    async def scenario() -> None:
        server = ReplayFeedServer(ReplayTape.from_candles({}), speed=60)
        for line in ("drop", "silence 2.5", "resume", "silence 1", "DISCONNECT 807"):
            action = control(server, line)
            assert not isinstance(action, str), line
            await action
        assert server._silent_until > 0  # the silence was scheduled
        for line in ("silence", "silence -1", "disconnect soon", "explode", "help"):
            assert control(server, line) == CONTROLS_HELP, line
        assert control(server, "   ") == ""

    asyncio.run(scenario())


def test_a_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed=-1"):
        ReplayFeedServer(ReplayTape.from_candles({}), speed=-1)

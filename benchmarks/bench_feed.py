"""Feed decoding speed: `feed_codec.decode` against the dhanhq SDK's own `MarketFeed` decoder.

Both decode the same WebSocket messages, one packet each (as Dhan sends them), in a mix like a
live session's: mostly ticker and quote packets, some full packets, a few OI and previous-close
packets. The SDK's decoder is `MarketFeed.process_data`, called on an instance made without
connecting (it needs nothing of the instance but its methods). It returns dicts with formatted
strings; ours returns typed packets with the raw float32 prices.

Reported: packets decoded per second for each, overall and per packet type, and the ratio
(target: ours >= 5x the SDK). Timings are medians of runs taken in turns (ours, SDK, ours, ...).
No assertions: this prints, it does not judge.

Tick-to-bar-close latency at replay speed (`--latency`, or after the decoding table): the replay
server (`adapters/dhan/replay.py`, on loopback, in its own thread and event loop, as a separate
feed would be) plays synthetic NIFTY and BANKNIFTY minutes in quote mode; the real
`DhanFeedClient` decodes them and `FeedBars` builds the bars. Two ways a bar closes, each timed
per closed bar, reported as p50 / p99 / max in milliseconds of real time:

* on ticks only: the bar of minute M closes when its instrument's first tick at or after
  M + 60 s + grace arrives (the replay ticks at +0/+15/+30/+45 s, so the tick at M + 75 s);
  measured from the moment the server sent that tick until `BarBuilder` returned the bar;
* on the clock: the client also calls `on_time` with the replay's exchange clock every
  `CLOCK_STEP` s of real time, so the bar closes when M + 60 s + grace passes; measured from
  that instant (on the server's timeline) until the bar was returned. This is what a live
  session does with the wall clock; the figure is dominated by the clock step.

Both include loopback, the client's decode and the bar builder, and share two cores with the
server thread.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from dhanhq.marketfeed import MarketFeed
from pydantic import SecretStr

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed import DhanFeedClient, ReconnectPolicy
from tradeloop.adapters.dhan.feed_bars import FeedBars
from tradeloop.adapters.dhan.feed_codec import (
    DepthLevel,
    FeedMode,
    Full,
    Instrument,
    MarketStatus,
    Packet,
    Quote,
)
from tradeloop.adapters.dhan.replay import ReplayFeedServer
from tradeloop.adapters.dhan.replay_tape import ReplayTape, TapeEvent
from tradeloop.clock import SystemClock
from tradeloop.domain.market.bars import DEFAULT_GRACE, INDEX_PRICE_DECIMALS, Bar
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.quotes import LtpCache
from tradeloop.domain.market.synthetic import generate_market

MESSAGES = 200_000
ROUNDS = 5
MIX = {"ticker": 0.45, "quote": 0.35, "full": 0.15, "oi": 0.03, "prev_close": 0.02}


def build_messages(count: int, rng: random.Random) -> dict[str, list[bytes]]:
    def ticker() -> bytes:
        return feed_codec.encode_ticker(
            2, rng.randrange(35000, 60000), rng.uniform(20000, 26000), 1741608945
        )

    def quote() -> bytes:
        price = rng.uniform(20000, 26000)
        return feed_codec.encode_quote(
            Quote(2, rng.randrange(35000, 60000), price, 75, 1741608945, price, 8_500_000,
                  2_100_000, 3_200_000, price, price, price + 50, price - 50)
        )  # fmt: skip

    def full() -> bytes:
        price = rng.uniform(20000, 26000)
        depth = tuple(DepthLevel(1000, 800, 40, 30, price - n, price + n) for n in range(5))
        return feed_codec.encode_full(
            Full(2, rng.randrange(35000, 60000), price, 75, 1741608945, price, 9_000_000, 111,
                 222, 150_000, 160_000, 140_000, price, price, price + 50, price - 50, depth)
        )  # fmt: skip

    def oi() -> bytes:
        return feed_codec.encode_open_interest(2, rng.randrange(35000, 60000), 4_200_000)

    def prev_close() -> bytes:
        return feed_codec.encode_prev_close(2, rng.randrange(35000, 60000), 22100.5, 987654)

    makers: dict[str, Callable[[], bytes]] = {
        "ticker": ticker, "quote": quote, "full": full, "oi": oi, "prev_close": prev_close,
    }  # fmt: skip
    return {
        kind: [makers[kind]() for _ in range(int(count * share))] for kind, share in MIX.items()
    }


def rate(decoder: Callable[[bytes], object], messages: list[bytes]) -> float:
    start = time.perf_counter()
    for message in messages:
        decoder(message)
    return len(messages) / (time.perf_counter() - start)


def compare(messages: list[bytes], sdk: MarketFeed) -> tuple[float, float]:
    ours, theirs = [], []
    for _ in range(ROUNDS):
        ours.append(rate(feed_codec.decode, messages))
        theirs.append(rate(sdk.process_data, messages))
    return statistics.median(ours), statistics.median(theirs)


# -- tick-to-bar-close latency ---------------------------------------------------------------

SYMBOLS: dict[Instrument, str] = {(0, 13): "NIFTY", (0, 25): "BANKNIFTY"}
LATENCY_RUNS = ((60.0, 20), (600.0, 120))  # (speed, market minutes)
CLOCK_STEP = 0.005
CALENDAR = NSECalendar.default()


class ServerThread:
    """A replay server running in its own thread and event loop."""

    def __init__(self, tape: ReplayTape, speed: float) -> None:
        self.sent: dict[tuple[Instrument, int], float] = {}
        self._loop = asyncio.new_event_loop()
        self.server = ReplayFeedServer(tape, speed=speed, on_send=self._record)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _record(self, event: TapeEvent, sent_at: float) -> None:
        self.sent[(event.instrument, event.time)] = sent_at  # loop.time() is time.monotonic()

    def __enter__(self) -> ReplayFeedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result()
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()


def _minute_end(bar: Bar) -> float:
    return (bar.ts + timedelta(minutes=1) + DEFAULT_GRACE).timestamp()


async def _session(
    server: ReplayFeedServer, sent: dict[tuple[Instrument, int], float], on_clock: bool
) -> list[float]:
    latencies: list[float] = []
    closing: list[tuple[Instrument, int]] = []
    ended = asyncio.Event()

    def on_bar(instrument: Instrument, bar: Bar) -> None:
        now = time.monotonic()
        if on_clock:  # from the instant the minute + grace passed on the replay's clock
            anchor = server.market_time(now)
            if anchor is not None:
                latencies.append((anchor - _minute_end(bar)) / server.speed)
        elif closing:  # from the send of the tick being processed
            latencies.append(now - sent[closing[-1]])

    bars = FeedBars(SYMBOLS, calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS,
                    on_bar=on_bar)  # fmt: skip

    def on_packet(packet: Packet, received_at: datetime) -> None:
        if isinstance(packet, MarketStatus):
            ended.set()
        elif isinstance(packet, Quote):
            closing.append(((packet.segment, packet.security_id), packet.last_trade_time))
        bars.on_packet(packet, received_at)

    cache = LtpCache(stale_after=timedelta(seconds=5), is_market_open=lambda _now: True)
    client = DhanFeedClient(client_id="bench", access_token=SecretStr("bench-token"),
                            cache=cache, clock=SystemClock(), policy=ReconnectPolicy(),
                            base_url=server.url, on_packet=on_packet)  # fmt: skip
    await client.subscribe(list(SYMBOLS), FeedMode.QUOTE)
    run = asyncio.create_task(client.run())
    while not ended.is_set() and not run.done():
        if on_clock:
            market = server.market_time(time.monotonic())
            if market is not None:
                bars.on_time(datetime.fromtimestamp(market, UTC))
        await asyncio.wait({run}, timeout=CLOCK_STEP)
    await client.close()
    await run
    return latencies


def latency(speed: float, minutes: int, on_clock: bool) -> list[float]:
    tape = ReplayTape.from_candles(
        {
            instrument: generate_market(symbol, days=1, start=date(2025, 3, 3)).candles.head(
                minutes
            )
            for instrument, symbol in SYMBOLS.items()
        }
    )
    runner = ServerThread(tape, speed)
    with runner as server:
        return asyncio.run(_session(server, runner.sent, on_clock))


def report_latency() -> None:
    print("\ntick-to-bar-close latency, replay over loopback, quote mode, NIFTY + BANKNIFTY")
    print(f"{'speed':>6}{'minutes':>9}{'closes on':>11}{'bars':>6}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}")  # fmt: skip
    for speed, minutes in LATENCY_RUNS:
        for on_clock in (False, True):
            found = sorted(latency(speed, minutes, on_clock))
            p50 = statistics.median(found)
            p99 = found[min(len(found) - 1, round(0.99 * (len(found) - 1)))]
            print(f"{speed:>6g}{minutes:>9}{'clock' if on_clock else 'tick':>11}{len(found):>6}"
                  f"{p50 * 1000:>9.2f}{p99 * 1000:>9.2f}{found[-1] * 1000:>9.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", action="store_true", help="only the latency measurement")
    if not parser.parse_args().latency:
        report_decoding()
    report_latency()


def report_decoding() -> None:
    rng = random.Random(15)
    by_kind = build_messages(MESSAGES, rng)
    mixed = [message for messages in by_kind.values() for message in messages]
    rng.shuffle(mixed)
    sdk = MarketFeed.__new__(MarketFeed)  # no connection, no event loop: just the decoder
    assert len(feed_codec.decode(mixed[0])) == 1 and sdk.process_data(mixed[0]) is not None

    print(f"feed decoding, {len(mixed):,} one-packet messages, median of {ROUNDS} runs")
    print(f"{'packets':<12}{'ours /s':>14}{'dhanhq SDK /s':>16}{'ratio':>9}")
    for kind, messages in [("mixed", mixed), *by_kind.items()]:
        ours, theirs = compare(messages, sdk)
        print(f"{kind:<12}{ours:>14,.0f}{theirs:>16,.0f}{ours / theirs:>8.1f}x")


if __name__ == "__main__":
    main()

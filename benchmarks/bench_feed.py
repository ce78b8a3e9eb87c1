"""Feed decoding speed: `feed_codec.decode` against the dhanhq SDK's own `MarketFeed` decoder.

Both decode the same WebSocket messages, one packet each (as Dhan sends them), in a mix like a
live session's: mostly ticker and quote packets, some full packets, a few OI and previous-close
packets. The SDK's decoder is `MarketFeed.process_data`, called on an instance made without
connecting (it needs nothing of the instance but its methods). It returns dicts with formatted
strings; ours returns typed packets with the raw float32 prices.

Reported: packets decoded per second for each, overall and per packet type, and the ratio
(target: ours >= 5x the SDK). Timings are medians of runs taken in turns (ours, SDK, ours, ...).
No assertions: this prints, it does not judge.

Tick-to-bar-close latency at replay speed is measured with the bar builder and replay server.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from dhanhq.marketfeed import MarketFeed

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_codec import DepthLevel, Full, Quote

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


def main() -> None:
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

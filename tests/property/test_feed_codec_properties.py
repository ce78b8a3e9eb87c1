"""encode -> decode gives back every packet, alone or several in one message."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_codec import (
    DepthLevel,
    Disconnect,
    Full,
    MarketStatus,
    OpenInterest,
    Packet,
    PrevClose,
    Quote,
    Tick,
)

segments = st.sampled_from([int(segment) for segment in feed_codec.ExchangeSegment])
ids = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
u32 = st.integers(0, 2**32 - 1)
prices = st.floats(0, 1e6, allow_nan=False).map(
    lambda value: float(struct.unpack("<f", struct.pack("<f", value))[0])
)

ticks = st.builds(Tick, segments, ids, prices, u32)
prev_closes = st.builds(PrevClose, segments, ids, prices, u32)
open_interests = st.builds(OpenInterest, segments, ids, u32)
statuses = st.builds(MarketStatus, segments, ids)
disconnects = st.builds(Disconnect, segments, ids, u16)
quotes = st.builds(
    Quote, segments, ids, prices, u16, u32, prices, u32, u32, u32, prices, prices, prices, prices
)
levels = st.builds(DepthLevel, u32, u32, u16, u16, prices, prices)
fulls = st.builds(
    Full, segments, ids, prices, u16, u32, prices, u32, u32, u32, u32, u32, u32,
    prices, prices, prices, prices, st.tuples(levels, levels, levels, levels, levels),
)  # fmt: skip
packets = st.one_of(ticks, prev_closes, open_interests, statuses, disconnects, quotes, fulls)


@given(packets)
def test_encode_then_decode_gives_the_packet_back(packet: Packet) -> None:
    assert feed_codec.decode(feed_codec.encode(packet)) == [packet]


@given(st.lists(packets, max_size=20))
def test_a_message_of_many_packets_decodes_to_all_of_them(batch: list[Packet]) -> None:
    message = b"".join(feed_codec.encode(packet) for packet in batch)
    assert feed_codec.decode(message) == batch


@given(
    st.lists(st.tuples(segments, ids), max_size=1200), st.sampled_from(list(feed_codec.FeedMode))
)
def test_subscribe_messages_carry_every_instrument_once_at_most_100_each(
    instruments: list[tuple[int, int]], mode: feed_codec.FeedMode
) -> None:
    parsed = [feed_codec.parse_request(m) for m in feed_codec.subscribe_messages(instruments, mode)]
    assert all(code == int(mode) and 0 < len(batch) <= 100 for code, batch in parsed)
    assert [item for _, batch in parsed for item in batch] == instruments

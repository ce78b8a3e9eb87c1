"""Dhan v2 feed packets decoded from bytes written field by field from Dhan's documented layout.

Every packet here is built with `int.to_bytes` / a one-field `struct.pack_into` at the offset
https://dhanhq.co/docs/v2/live-market-feed/ gives (its tables count bytes from 1; offsets here
count from 0), never with the codec's own formats.
"""

from __future__ import annotations

import json
import struct

import pytest

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_codec import (
    DepthLevel,
    Disconnect,
    ExchangeSegment,
    FeedMode,
    FeedProtocolError,
    Full,
    MarketStatus,
    OpenInterest,
    PrevClose,
    Quote,
    SubscriptionLimitError,
    Tick,
    decode,
)


def f32(value: float) -> float:
    """`value` as float32 reads it back (what the wire carries)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def put_u8(buffer: bytearray, offset: int, value: int) -> None:
    buffer[offset] = value


def put_u16(buffer: bytearray, offset: int, value: int) -> None:
    buffer[offset : offset + 2] = value.to_bytes(2, "little")


def put_u32(buffer: bytearray, offset: int, value: int) -> None:
    buffer[offset : offset + 4] = value.to_bytes(4, "little")


def put_f32(buffer: bytearray, offset: int, value: float) -> None:
    struct.pack_into("<f", buffer, offset, value)


def header(size: int, code: int, segment: int, security_id: int) -> bytearray:
    buffer = bytearray(size)
    put_u8(buffer, 0, code)  # byte 1: feed response code
    put_u16(buffer, 1, size)  # bytes 2-3: message length
    put_u8(buffer, 3, segment)  # byte 4: exchange segment
    put_u32(buffer, 4, security_id)  # bytes 5-8: security id
    return buffer


def test_ticker_packet_fields_at_documented_offsets() -> None:
    packet = header(16, 2, 2, 52432)
    put_f32(packet, 8, 24567.85)  # bytes 9-12 LTP
    put_u32(packet, 12, 1741608945)  # bytes 13-16 LTT
    assert decode(bytes(packet)) == [Tick(2, 52432, f32(24567.85), 1741608945)]


def test_prev_close_packet_fields_at_documented_offsets() -> None:
    packet = header(16, 6, 0, 13)
    put_f32(packet, 8, 22100.5)  # bytes 9-12 previous close
    put_u32(packet, 12, 987654)  # bytes 13-16 previous OI
    assert decode(bytes(packet)) == [PrevClose(0, 13, 22100.5, 987654)]


def test_open_interest_packet_fields_at_documented_offsets() -> None:
    packet = header(12, 5, 2, 35001)
    put_u32(packet, 8, 4_200_000)  # bytes 9-12 OI
    assert decode(bytes(packet)) == [OpenInterest(2, 35001, 4_200_000)]


def test_market_status_packet_is_the_header_alone() -> None:
    assert decode(bytes(header(8, 7, 1, 0))) == [MarketStatus(1, 0)]


def quote_bytes() -> bytearray:
    packet = header(50, 4, 2, 52432)
    put_f32(packet, 8, 24567.85)  # 9-12 LTP
    put_u16(packet, 12, 150)  # 13-14 LTQ
    put_u32(packet, 14, 1741608945)  # 15-18 LTT
    put_f32(packet, 18, 24520.3)  # 19-22 ATP
    put_u32(packet, 22, 8_500_000)  # 23-26 volume
    put_u32(packet, 26, 2_100_000)  # 27-30 total sell quantity
    put_u32(packet, 30, 3_200_000)  # 31-34 total buy quantity
    put_f32(packet, 34, 24450.0)  # 35-38 open
    put_f32(packet, 38, 24380.5)  # 39-42 close
    put_f32(packet, 42, 24590.0)  # 43-46 high
    put_f32(packet, 46, 24410.0)  # 47-50 low
    return packet


def test_quote_packet_fields_at_documented_offsets() -> None:
    assert decode(bytes(quote_bytes())) == [
        Quote(
            segment=2,
            security_id=52432,
            last_price=f32(24567.85),
            last_quantity=150,
            last_trade_time=1741608945,
            average_price=f32(24520.3),
            volume=8_500_000,
            total_sell_quantity=2_100_000,
            total_buy_quantity=3_200_000,
            open=24450.0,
            close=24380.5,
            high=24590.0,
            low=24410.0,
        )
    ]


def test_full_packet_fields_and_five_depth_levels_at_documented_offsets() -> None:
    packet = header(162, 8, 2, 52432)
    put_f32(packet, 8, 24567.85)  # 9-12 LTP
    put_u16(packet, 12, 75)  # 13-14 LTQ
    put_u32(packet, 14, 1741608945)  # 15-18 LTT
    put_f32(packet, 18, 24520.25)  # 19-22 ATP
    put_u32(packet, 22, 9_000_000)  # 23-26 volume
    put_u32(packet, 26, 111)  # 27-30 total sell quantity
    put_u32(packet, 30, 222)  # 31-34 total buy quantity
    put_u32(packet, 34, 150_000)  # 35-38 OI
    put_u32(packet, 38, 160_000)  # 39-42 highest OI of the day
    put_u32(packet, 42, 140_000)  # 43-46 lowest OI of the day
    put_f32(packet, 46, 24450.0)  # 47-50 open
    put_f32(packet, 50, 24380.5)  # 51-54 close
    put_f32(packet, 54, 24590.0)  # 55-58 high
    put_f32(packet, 58, 24410.0)  # 59-62 low
    levels = []
    for level in range(5):  # 63-162: five 20-byte depth levels
        base = 62 + 20 * level
        put_u32(packet, base + 0, 1000 + level)  # bid quantity
        put_u32(packet, base + 4, 800 + level)  # ask quantity
        put_u16(packet, base + 8, 40 + level)  # bid orders
        put_u16(packet, base + 10, 30 + level)  # ask orders
        put_f32(packet, base + 12, 24565.0 - level)  # bid price
        put_f32(packet, base + 16, 24570.0 + level)  # ask price
        levels.append(
            DepthLevel(
                1000 + level, 800 + level, 40 + level, 30 + level, 24565.0 - level, 24570.0 + level
            )
        )
    [full] = decode(bytes(packet))
    assert full == Full(
        2, 52432, f32(24567.85), 75, 1741608945, 24520.25, 9_000_000, 111, 222,
        150_000, 160_000, 140_000, 24450.0, 24380.5, 24590.0, 24410.0, tuple(levels),
    )  # fmt: skip


def test_disconnect_packet_reason_at_documented_offset() -> None:
    packet = header(10, 50, 0, 0)
    put_u16(packet, 8, 807)  # bytes 9-10 disconnection reason code
    [disconnect] = decode(bytes(packet))
    assert disconnect == Disconnect(0, 0, 807)
    assert "renew" in disconnect.reason_text


def test_one_message_with_several_packets_decodes_them_all_in_order() -> None:
    ticker = header(16, 2, 1, 1333)
    put_f32(ticker, 8, 1500.5)
    put_u32(ticker, 12, 1)
    oi = header(12, 5, 2, 7)
    put_u32(oi, 8, 9)
    message = bytes(ticker + quote_bytes() + oi)
    assert [type(packet) for packet in decode(message)] == [Tick, Quote, OpenInterest]


def test_unknown_packet_with_a_length_is_skipped() -> None:
    unknown = header(12, 1, 0, 13)  # index packet: no documented layout
    ticker = header(16, 2, 0, 13)
    put_f32(ticker, 8, 22000.0)
    assert decode(bytes(unknown + ticker)) == [Tick(0, 13, 22000.0, 0)]


def test_truncated_packet_is_a_protocol_error() -> None:
    with pytest.raises(FeedProtocolError, match="truncated"):
        decode(bytes(quote_bytes()[:30]))


def test_encode_writes_the_documented_bytes() -> None:
    assert feed_codec.encode_quote(decode(bytes(quote_bytes()))[0]) == bytes(quote_bytes())  # type: ignore[arg-type]
    packet = header(10, 50, 1, 5)
    put_u16(packet, 8, 808)
    assert feed_codec.encode_disconnect(1, 5, 808) == bytes(packet)


def test_subscribe_messages_carry_at_most_100_instruments_each() -> None:
    instruments = [(int(ExchangeSegment.NSE_FNO), 40000 + n) for n in range(250)]
    messages = [json.loads(m) for m in feed_codec.subscribe_messages(instruments, FeedMode.QUOTE)]
    assert [m["InstrumentCount"] for m in messages] == [100, 100, 50]
    assert all(m["RequestCode"] == 17 for m in messages)
    assert messages[0]["InstrumentList"][0] == {"ExchangeSegment": "NSE_FNO", "SecurityId": "40000"}
    sent = [item["SecurityId"] for m in messages for item in m["InstrumentList"]]
    assert sent == [str(40000 + n) for n in range(250)]


def test_unsubscribe_uses_the_mode_code_plus_one() -> None:
    for mode, code in [(FeedMode.TICKER, 16), (FeedMode.QUOTE, 18), (FeedMode.FULL, 22)]:
        [message] = feed_codec.unsubscribe_messages([(0, 13)], mode)
        assert json.loads(message)["RequestCode"] == code


def test_more_than_5000_instruments_are_refused_with_the_limit() -> None:
    with pytest.raises(SubscriptionLimitError, match="at most 5000"):
        feed_codec.subscribe_messages([(1, n) for n in range(5001)], FeedMode.TICKER)


def test_parse_request_reads_back_a_subscribe_message() -> None:
    [message] = feed_codec.subscribe_messages([(0, 13), (2, 35001)], FeedMode.FULL)
    assert feed_codec.parse_request(message) == (21, [(0, 13), (2, 35001)])

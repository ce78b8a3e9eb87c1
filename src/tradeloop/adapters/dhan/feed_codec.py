"""Dhan v2 live market feed: the wire format, both directions, with no I/O.

Requests are JSON (`subscribe_messages`, `unsubscribe_messages`); responses are little-endian
binary packets. One WebSocket message may carry several packets back to back; `decode` returns
them all. The `encode_*` functions write the same bytes (the local replay server speaks the feed
through them).

Layouts, from https://dhanhq.co/docs/v2/live-market-feed/ (checked against the dhanhq SDK's own
decoder, `dhanhq/marketfeed.py`); offsets are 0-based, every packet starts with the header::

    header       0 u8 response code | 1 u16 message length | 3 u8 exchange segment
                 4 u32 security id                                        (8 bytes)
    ticker   2   8 f32 last price | 12 u32 last trade time (epoch s)     (16 bytes)
    prev close 6 8 f32 previous close | 12 u32 previous open interest    (16 bytes)
    OI       5   8 u32 open interest                                     (12 bytes)
    market status 7  header only                                         (8 bytes)
    quote    4   8 f32 last price | 12 u16 last quantity | 14 u32 last trade time
                 18 f32 average price | 22 u32 volume | 26 u32 total sell quantity
                 30 u32 total buy quantity | 34 f32 open | 38 f32 close | 42 f32 high
                 46 f32 low                                              (50 bytes)
    full     8   8..33 as quote | 34 u32 open interest | 38 u32 OI day high
                 42 u32 OI day low | 46 f32 open | 50 f32 close | 54 f32 high | 58 f32 low
                 62 five depth levels of 20 bytes: u32 bid quantity, u32 ask quantity,
                 u16 bid orders, u16 ask orders, f32 bid price, f32 ask price   (162 bytes)
    disconnect 50  8 u16 reason code                                     (10 bytes)

The docs type the integers as int16/int32; the SDK reads them unsigned. They agree on every
non-negative value and quantities, times and ids are never negative, so they are read unsigned
(a volume above 2^31 stays right). `message length` is written as the whole packet's length;
`decode` does not trust it for known packets (their size is fixed) and uses it only to step over
a packet of a code it does not know.

Prices are float32 on the wire: a decoded price is the float32 value exactly (24567.85 arrives as
24567.849609375). Round to the instrument's tick size where a decimal price is needed.

Packets are `NamedTuple`s, not dataclasses: as immutable and typed, and about three times cheaper
to build, which is most of the cost of decoding a packet.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any, Final, NamedTuple

from tradeloop.errors import ConfigError, TradeloopError

MAX_INSTRUMENTS_PER_MESSAGE: Final = 100
MAX_INSTRUMENTS_PER_CONNECTION: Final = 5000
HEADER_SIZE: Final = 8
DEPTH_LEVELS: Final = 5


class ExchangeSegment(IntEnum):
    """Dhan's exchange segments (annexure): the JSON requests use the name, packets the number."""

    IDX_I = 0
    NSE_EQ = 1
    NSE_FNO = 2
    NSE_CURRENCY = 3
    BSE_EQ = 4
    MCX_COMM = 5
    BSE_CURRENCY = 7
    BSE_FNO = 8


class FeedMode(IntEnum):
    """A subscription mode; its value is the subscribe request code (unsubscribe is value + 1)."""

    TICKER = 15
    QUOTE = 17
    FULL = 21

    @property
    def unsubscribe_code(self) -> int:
        return int(self) + 1


class ResponseCode(IntEnum):
    TICKER = 2
    QUOTE = 4
    OPEN_INTEREST = 5
    PREV_CLOSE = 6
    MARKET_STATUS = 7
    FULL = 8
    DISCONNECT = 50


DISCONNECT_REQUEST_CODE: Final = 12

# Disconnect reason codes (annexure, "Data API error"), with who must act and how.
DISCONNECT_REASONS: Final[dict[int, str]] = {
    805: (
        "more than 5 feed connections are open for this client id; close the other feed "
        "connections (other scripts, terminals) before connecting again"
    ),
    806: "Data APIs are not subscribed; subscribe to Dhan Data APIs on web.dhan.co to continue",
    807: (
        "the access token has expired; renew it on web.dhan.co (My Profile > DhanHQ Trading "
        "APIs) and set TRADELOOP_DHAN_ACCESS_TOKEN"
    ),
    808: (
        "authentication failed: the client id or access token is invalid; check "
        "TRADELOOP_DHAN_CLIENT_ID and renew TRADELOOP_DHAN_ACCESS_TOKEN"
    ),
    809: (
        "the access token is invalid; generate a new one on web.dhan.co and set "
        "TRADELOOP_DHAN_ACCESS_TOKEN"
    ),
    810: "the client id is invalid; check TRADELOOP_DHAN_CLIENT_ID",
}


class FeedProtocolError(TradeloopError):
    """Bytes that are not a Dhan feed packet (truncated, or an unknown packet of no length)."""


class SubscriptionLimitError(ConfigError):
    """More instruments than one feed connection may carry."""


class DepthLevel(NamedTuple):
    bid_quantity: int
    ask_quantity: int
    bid_orders: int
    ask_orders: int
    bid_price: float
    ask_price: float


class Tick(NamedTuple):
    segment: int
    security_id: int
    last_price: float
    last_trade_time: int


class Quote(NamedTuple):
    segment: int
    security_id: int
    last_price: float
    last_quantity: int
    last_trade_time: int
    average_price: float
    volume: int
    total_sell_quantity: int
    total_buy_quantity: int
    open: float
    close: float
    high: float
    low: float


class OpenInterest(NamedTuple):
    segment: int
    security_id: int
    open_interest: int


class PrevClose(NamedTuple):
    segment: int
    security_id: int
    prev_close: float
    prev_open_interest: int


class MarketStatus(NamedTuple):
    segment: int
    security_id: int


class Full(NamedTuple):
    segment: int
    security_id: int
    last_price: float
    last_quantity: int
    last_trade_time: int
    average_price: float
    volume: int
    total_sell_quantity: int
    total_buy_quantity: int
    open_interest: int
    open_interest_high: int
    open_interest_low: int
    open: float
    close: float
    high: float
    low: float
    depth: tuple[DepthLevel, ...]


class Disconnect(NamedTuple):
    segment: int
    security_id: int
    reason: int

    @property
    def reason_text(self) -> str:
        return DISCONNECT_REASONS.get(self.reason, f"disconnect reason code {self.reason}")


Packet = Tick | Quote | OpenInterest | PrevClose | MarketStatus | Full | Disconnect

_HEADER = struct.Struct("<BHBI")
# Decoding formats skip the response code and message length ("xxx"): segment comes first.
_TICKER = struct.Struct("<xxxBIfI")
_QUOTE_BODY = "fHIfIIIffff"
_QUOTE = struct.Struct("<xxxBI" + _QUOTE_BODY)
_OI = struct.Struct("<xxxBII")
_STATUS = struct.Struct("<xxxBI")
_DEPTH_LEVEL = "IIHHff"
_FULL_HEAD = struct.Struct("<xxxBIfHIfIIIIIIffff")
_DEPTH = struct.Struct("<" + _DEPTH_LEVEL)
_FULL_SIZE = _FULL_HEAD.size + _DEPTH.size * DEPTH_LEVELS
_new_tuple = tuple.__new__
_DISCONNECT = struct.Struct("<xxxBIH")


def _unpack_full(buffer: bytes | bytearray | memoryview, offset: int = 0) -> tuple[Any, ...]:
    head = _FULL_HEAD.unpack_from(buffer, offset)
    start = offset + _FULL_HEAD.size
    levels = _DEPTH.iter_unpack(buffer[start : start + _DEPTH.size * DEPTH_LEVELS])
    return (*head, tuple([_new_tuple(DepthLevel, level) for level in levels]))


# response code -> (packet size, unpack, build): one dict lookup per packet.
_DECODERS: Final[dict[int, tuple[int, Callable[..., tuple[Any, ...]], Callable[[Any], Any]]]] = {
    ResponseCode.TICKER: (_TICKER.size, _TICKER.unpack_from, Tick._make),
    ResponseCode.QUOTE: (_QUOTE.size, _QUOTE.unpack_from, Quote._make),
    ResponseCode.FULL: (_FULL_SIZE, _unpack_full, Full._make),
    ResponseCode.PREV_CLOSE: (_TICKER.size, _TICKER.unpack_from, PrevClose._make),
    ResponseCode.OPEN_INTEREST: (_OI.size, _OI.unpack_from, OpenInterest._make),
    ResponseCode.MARKET_STATUS: (_STATUS.size, _STATUS.unpack_from, MarketStatus._make),
    ResponseCode.DISCONNECT: (_DISCONNECT.size, _DISCONNECT.unpack_from, Disconnect._make),
}


def decode(buffer: bytes | bytearray | memoryview) -> list[Packet]:
    """Every packet in one WebSocket binary message, in order.

    Raises `FeedProtocolError` for a truncated packet, or an unknown one whose header gives no
    usable length; a packet of an unknown code with a usable length is skipped.
    """
    if buffer:
        decoder = _DECODERS.get(buffer[0])
        if decoder is not None and len(buffer) == decoder[0]:  # the common case: one packet
            return [decoder[2](decoder[1](buffer))]
    return _decode_many(buffer)


def _decode_many(buffer: bytes | bytearray | memoryview) -> list[Packet]:
    packets: list[Packet] = []
    offset = 0
    end = len(buffer)
    while offset < end:
        code = buffer[offset]
        decoder = _DECODERS.get(code)
        if decoder is None:
            offset += _unknown_packet_size(buffer, offset, end)
            continue
        size, unpack, build = decoder
        if offset + size > end:
            raise FeedProtocolError(
                f"truncated feed packet: response code {code} needs {size} bytes, "
                f"{end - offset} left at offset {offset}"
            )
        packets.append(build(unpack(buffer, offset)))
        offset += size
    return packets


def _unknown_packet_size(buffer: bytes | bytearray | memoryview, offset: int, end: int) -> int:
    if offset + HEADER_SIZE > end:
        raise FeedProtocolError(
            f"truncated feed packet header at offset {offset} ({end - offset} bytes left)"
        )
    code, length, _segment, _security_id = _HEADER.unpack_from(buffer, offset)
    if length < HEADER_SIZE or offset + length > end:
        raise FeedProtocolError(
            f"unknown feed response code {code} with unusable message length {length} "
            f"at offset {offset}"
        )
    return int(length)


# --- encoding (the replay server and tests) -------------------------------------------------

_ENCODE_TICKER = struct.Struct("<BHBIfI")
_ENCODE_QUOTE = struct.Struct("<BHBI" + _QUOTE_BODY)
_ENCODE_OI = struct.Struct("<BHBII")
_ENCODE_FULL = struct.Struct("<BHBIfHIfIIIIIIffff" + _DEPTH_LEVEL * DEPTH_LEVELS)
_ENCODE_DISCONNECT = struct.Struct("<BHBIH")


def encode_ticker(segment: int, security_id: int, last_price: float, last_trade_time: int) -> bytes:
    return _ENCODE_TICKER.pack(
        ResponseCode.TICKER, _ENCODE_TICKER.size, segment, security_id, last_price, last_trade_time
    )


def encode_prev_close(
    segment: int, security_id: int, prev_close: float, prev_open_interest: int = 0
) -> bytes:
    return _ENCODE_TICKER.pack(
        ResponseCode.PREV_CLOSE,
        _ENCODE_TICKER.size,
        segment,
        security_id,
        prev_close,
        prev_open_interest,
    )


def encode_open_interest(segment: int, security_id: int, open_interest: int) -> bytes:
    return _ENCODE_OI.pack(
        ResponseCode.OPEN_INTEREST, _ENCODE_OI.size, segment, security_id, open_interest
    )


def encode_market_status(segment: int, security_id: int) -> bytes:
    return _HEADER.pack(ResponseCode.MARKET_STATUS, HEADER_SIZE, segment, security_id)


def encode_quote(quote: Quote) -> bytes:
    return _ENCODE_QUOTE.pack(ResponseCode.QUOTE, _ENCODE_QUOTE.size, *quote)


def encode_full(full: Full) -> bytes:
    if len(full.depth) != DEPTH_LEVELS:
        raise ValueError(
            f"a full packet carries {DEPTH_LEVELS} depth levels, got {len(full.depth)}"
        )
    depth = [value for level in full.depth for value in level]
    return _ENCODE_FULL.pack(ResponseCode.FULL, _ENCODE_FULL.size, *full[:-1], *depth)


def encode_disconnect(segment: int, security_id: int, reason: int) -> bytes:
    return _ENCODE_DISCONNECT.pack(
        ResponseCode.DISCONNECT, _ENCODE_DISCONNECT.size, segment, security_id, reason
    )


def encode(packet: Packet) -> bytes:
    """The wire bytes of any decoded packet (`decode(encode(p)) == [p]` for float32 prices)."""
    if isinstance(packet, Tick):
        return encode_ticker(*packet)
    if isinstance(packet, Quote):
        return encode_quote(packet)
    if isinstance(packet, Full):
        return encode_full(packet)
    if isinstance(packet, PrevClose):
        return encode_prev_close(*packet)
    if isinstance(packet, OpenInterest):
        return encode_open_interest(*packet)
    if isinstance(packet, MarketStatus):
        return encode_market_status(*packet)
    return encode_disconnect(*packet)


# --- requests -------------------------------------------------------------------------------

Instrument = tuple[int, int]
"""(exchange segment code, security id)."""


def subscribe_messages(instruments: Sequence[Instrument], mode: FeedMode) -> list[str]:
    """JSON subscribe requests for `instruments`, at most 100 per message.

    Refuses more than 5,000 instruments (one connection's limit) with `SubscriptionLimitError`.
    """
    return _request_messages(instruments, int(mode))


def unsubscribe_messages(instruments: Sequence[Instrument], mode: FeedMode) -> list[str]:
    return _request_messages(instruments, mode.unsubscribe_code)


def disconnect_message() -> str:
    return json.dumps({"RequestCode": DISCONNECT_REQUEST_CODE})


def check_connection_limit(count: int) -> None:
    if count > MAX_INSTRUMENTS_PER_CONNECTION:
        raise SubscriptionLimitError(
            f"{count} instruments requested on one feed connection; Dhan allows at most "
            f"{MAX_INSTRUMENTS_PER_CONNECTION}. Subscribe fewer instruments, or split them over "
            "several feed clients (up to 5 connections per client id)."
        )


def _request_messages(instruments: Sequence[Instrument], request_code: int) -> list[str]:
    check_connection_limit(len(instruments))
    messages = []
    for start in range(0, len(instruments), MAX_INSTRUMENTS_PER_MESSAGE):
        batch = instruments[start : start + MAX_INSTRUMENTS_PER_MESSAGE]
        messages.append(
            json.dumps(
                {
                    "RequestCode": request_code,
                    "InstrumentCount": len(batch),
                    "InstrumentList": [
                        {
                            "ExchangeSegment": ExchangeSegment(segment).name,
                            "SecurityId": str(security_id),
                        }
                        for segment, security_id in batch
                    ],
                }
            )
        )
    return messages


def parse_request(message: str) -> tuple[int, list[Instrument]]:
    """(request code, instruments) of a JSON request: what a replay server needs to read."""
    body = json.loads(message)
    instruments = [
        (int(ExchangeSegment[item["ExchangeSegment"]]), int(item["SecurityId"]))
        for item in body.get("InstrumentList", [])
    ]
    return int(body["RequestCode"]), instruments

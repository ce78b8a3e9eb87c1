"""An asyncio client for Dhan's v2 live market feed (or the local replay of it).

`DhanFeedClient.run()`:

1. connects to `<base_url>?version=2&token=...&clientId=...&authType=2`;
2. sends every subscription it holds, at most 100 instruments per JSON message;
3. decodes each binary message (`feed_codec.decode`), writes ticker, quote and full prices into
   the `LtpCache` with the exchange time and the receive time (from the injected clock), and hands
   every packet to `on_packet`;
4. when the connection drops, waits (exponential backoff with jitter, capped) and goes back to 1,
   so every subscription is sent again;
5. stops for good, raising `FeedDisconnectedError` (a `ConfigError` naming the fix), when Dhan's
   disconnect packet gives a reason that no reconnect can cure (805-810: too many connections,
   no Data API subscription, an expired or invalid token, a bad client id); and raises
   `FeedUnavailableError` (transient) after `max_consecutive_failures` connections in a row
   that failed or closed before any data arrived.

The token is in the URL, and `websockets` logs the request line at DEBUG: the token is
registered with the process redactor (`adapters.redaction`), which scrubs every log record, and
errors are built from redacted text only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_codec import (
    Disconnect,
    FeedMode,
    Full,
    Instrument,
    Packet,
    Quote,
    Tick,
)
from tradeloop.adapters.redaction import redact, register_secret
from tradeloop.clock import Clock
from tradeloop.domain.market.quotes import LtpCache
from tradeloop.errors import ConfigError, TransientError

DHAN_FEED_URL = "wss://api-feed.dhan.co"
FATAL_DISCONNECT_REASONS = frozenset({805, 806, 807, 808, 809, 810})

log = logging.getLogger(__name__)


class FeedDisconnectedError(ConfigError):
    """Dhan closed the feed for a reason reconnecting cannot fix; the message names the fix."""

    def __init__(self, reason: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FeedUnavailableError(TransientError):
    """The feed could not be reached after the configured number of attempts."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff with jitter: attempt n waits min(cap, initial * factor**n) scaled by
    a random factor in [1 - jitter, 1]. Gives up after `max_consecutive_failures` connections
    in a row that failed or closed before any data (a connection that delivered data resets
    the count)."""

    initial_delay: float = 1.0
    max_delay: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    max_consecutive_failures: int = 20

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_delay, self.initial_delay * self.factor**attempt)
        return base * (1.0 - self.jitter * rng.random())


class DhanFeedClient:
    def __init__(
        self,
        *,
        client_id: str,
        access_token: SecretStr,
        cache: LtpCache,
        clock: Clock,
        policy: ReconnectPolicy,
        base_url: str = DHAN_FEED_URL,
        on_packet: Callable[[Packet, datetime], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not access_token.get_secret_value().strip():
            raise ConfigError(
                "the Dhan access token is empty; set TRADELOOP_DHAN_ACCESS_TOKEN to a token "
                "generated on web.dhan.co"
            )
        register_secret(access_token)
        self._client_id = client_id
        self._token = access_token
        self._base_url = base_url
        self.cache = cache
        self._clock = clock
        self._policy = policy
        self._on_packet = on_packet
        self._rng = rng or random.Random()
        self._subscriptions: dict[Instrument, FeedMode] = {}
        self._ws: ClientConnection | None = None
        self._stopping = False
        self.connections = 0
        self.packets = 0

    def __repr__(self) -> str:  # never the token
        return f"DhanFeedClient(base_url={self._base_url!r}, client_id={self._client_id!r})"

    @property
    def subscriptions(self) -> dict[Instrument, FeedMode]:
        return dict(self._subscriptions)

    def _url(self) -> str:
        query = urlencode(
            {
                "version": 2,
                "token": self._token.get_secret_value(),
                "clientId": self._client_id,
                "authType": 2,
            }
        )
        return f"{self._base_url}?{query}"

    async def subscribe(self, instruments: Iterable[Instrument], mode: FeedMode) -> None:
        """Hold these subscriptions (sent now if connected, and after every reconnect).

        Refuses to go past 5,000 instruments on the connection (`SubscriptionLimitError`)
        and then changes nothing.
        """
        wanted = [(int(segment), int(security_id)) for segment, security_id in instruments]
        added = {key for key in wanted if key not in self._subscriptions}
        feed_codec.check_connection_limit(len(self._subscriptions) + len(added))
        for key in wanted:
            self._subscriptions[key] = mode
        await self._send(feed_codec.subscribe_messages(wanted, mode))

    async def unsubscribe(self, instruments: Iterable[Instrument]) -> None:
        by_mode: dict[FeedMode, list[Instrument]] = {}
        for segment, security_id in instruments:
            key = (int(segment), int(security_id))
            mode = self._subscriptions.pop(key, None)
            if mode is not None:
                by_mode.setdefault(mode, []).append(key)
        for mode, keys in by_mode.items():
            await self._send(feed_codec.unsubscribe_messages(keys, mode))

    async def close(self) -> None:
        """Stop `run()`: tell Dhan we are leaving and close the connection."""
        self._stopping = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(WebSocketException):
                await ws.send(feed_codec.disconnect_message())
            await ws.close()

    async def run(self) -> None:
        """Connect, subscribe and receive until `close()`; reconnect after every drop."""
        failures = 0
        last_failure = "closed before any data"
        while not self._stopping:
            try:
                async with connect(self._url(), open_timeout=10, max_size=2**20) as ws:
                    self._ws = ws
                    self.connections += 1
                    with contextlib.suppress(WebSocketException):
                        # A failed send still leaves what the server sent first (a disconnect
                        # packet saying why) to be read below.
                        await self._send_all(ws)
                    async for message in ws:
                        if isinstance(message, bytes):
                            failures = 0  # data flowed: this was a working connection
                            self._receive(message)
                # Closed cleanly: counted too, or a server that accepts and closes at once
                # would be retried forever.
                failures += 1
                last_failure = "closed before any data"
            except FeedDisconnectedError:
                raise
            except InvalidURI as exc:
                raise ConfigError(
                    f"invalid feed URL {self._base_url!r}: {redact(str(exc))}"
                ) from None
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as exc:
                failures += 1
                last_failure = f"{type(exc).__name__}: {redact(str(exc))}"
                log.warning("feed connection failed: %s", last_failure)
            finally:
                self._ws = None
            if self._stopping:
                break
            if failures >= self._policy.max_consecutive_failures:
                raise FeedUnavailableError(
                    f"the market feed at {self._base_url} gave no data in {failures} connection "
                    f"attempts in a row (last: {last_failure}); check the network, or Dhan's "
                    "status, then start the feed again"
                )
            delay = self._policy.delay(failures, self._rng)
            log.info("feed reconnecting in %.2f s", delay)
            await asyncio.sleep(delay)

    async def _send_all(self, ws: ClientConnection) -> None:
        by_mode: dict[FeedMode, list[Instrument]] = {}
        for key, mode in self._subscriptions.items():
            by_mode.setdefault(mode, []).append(key)
        for mode, keys in by_mode.items():
            for message in feed_codec.subscribe_messages(keys, mode):
                await ws.send(message)

    async def _send(self, messages: list[str]) -> None:
        ws = self._ws
        if ws is None:
            return
        try:
            for message in messages:
                await ws.send(message)
        except WebSocketException:
            pass  # the connection dropped: run() reconnects and sends every subscription again

    def _receive(self, message: bytes) -> None:
        received_at = self._clock.now()
        for packet in feed_codec.decode(message):
            self.packets += 1
            if isinstance(packet, Tick | Quote | Full):
                self.cache.update(
                    (packet.segment, packet.security_id),
                    packet.last_price,
                    datetime.fromtimestamp(packet.last_trade_time, UTC),
                    received_at,
                )
            elif isinstance(packet, Disconnect):
                self._disconnected(packet)
            if self._on_packet is not None:
                self._on_packet(packet, received_at)

    def _disconnected(self, packet: Disconnect) -> None:
        if packet.reason in FATAL_DISCONNECT_REASONS:
            self._stopping = True
            raise FeedDisconnectedError(
                packet.reason,
                f"Dhan closed the market feed (reason {packet.reason}): {packet.reason_text}. "
                "The feed client stopped and will not reconnect until this is fixed.",
            )
        log.warning("Dhan closed the market feed: %s; reconnecting", packet.reason_text)

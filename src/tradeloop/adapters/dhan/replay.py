"""A local Dhan market feed: a `websockets` server on loopback that replays stored 1m candles.

It speaks the live feed's protocol (`feed_codec`), so `DhanFeedClient` connects to it exactly as
it connects to Dhan: the same URL query (`?version=2&token=...&clientId=...&authType=2`; a
request without them is refused with HTTP 400 naming what is missing; any token is accepted),
the same JSON subscribe and unsubscribe requests (ticker, quote, full), the same binary packets.

**The tape.** `ReplayTape` (`replay_tape.py`) holds the packets of every instrument the server
can replay, in exchange-time order. Playback starts when the first subscription arrives
(`start_delay` later, so a client's batched requests all land first) and follows one timeline
for all connections, as a live market does: a client that connects, or reconnects, late gets
the ticks from then on, and nothing of what it missed. Each tick goes to every connection
subscribed to its instrument, in the packet type of that subscription's mode; a subscription
to an instrument the tape does not hold is kept and gets nothing. When the tape ends, every
connection gets one market-status packet per instrument it subscribed, and stays open.

**Speed.** `speed` market seconds pass per real second: 60 plays a market minute a second,
1 is real time, 0 sends as fast as the connections take the packets.

**Faults**, for tests and for a person at `tradeloop feed replay`:

* `drop()`: every connection is cut without a close handshake or a disconnect packet (the
  transport is aborted), as a network failure does;
* `silence(seconds)`: nothing is sent for that many real seconds (or until `resume()`);
  connections stay open and the tape then resumes where it stopped (the ticks are delayed, not
  lost);
* `disconnect(reason)`: every connection gets Dhan's disconnect packet with `reason` (807: the
  token expired, ...) and is closed.

The token arrives in the request line, which `websockets` logs at DEBUG: the server logs through
an adapter that masks the `token=` value, so a replay never writes a client's token either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.http11 import Request, Response

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed_codec import FeedMode, Instrument
from tradeloop.adapters.dhan.replay_tape import ReplayTape, TapeEvent

LOOPBACK: Final = "127.0.0.1"
REQUIRED_QUERY: Final = {"version": "2", "token": None, "clientId": None, "authType": "2"}
_TOKEN_IN_URL = re.compile(r"(token=)[^&\s]+")
_MODES_BY_CODE: Final = {int(mode): mode for mode in FeedMode}
_UNSUBSCRIBE_CODES: Final = {mode.unsubscribe_code: mode for mode in FeedMode}

log = logging.getLogger(__name__)

SendHook = Callable[[TapeEvent, float], None]
"""Called as each tick is about to be sent, with the event and the `loop.time()` (benchmarks)."""


class _TokenMaskingLogger(logging.LoggerAdapter[logging.Logger]):
    """`websockets` logs the request line (with the token) at DEBUG: mask it before logging."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, _TOKEN_IN_URL.sub(r"\1***", text), **kwargs)


class _Connection:
    __slots__ = ("subscriptions", "websocket")

    def __init__(self, websocket: ServerConnection) -> None:
        self.websocket = websocket
        self.subscriptions: dict[Instrument, FeedMode] = {}


class ReplayFeedServer:
    """The replay feed; use it as `async with ReplayFeedServer(tape, speed=60) as server:`."""

    def __init__(
        self,
        tape: ReplayTape,
        *,
        speed: float,
        host: str = LOOPBACK,
        port: int = 0,
        start_delay: float = 0.05,
        on_send: SendHook | None = None,
    ) -> None:
        if not speed >= 0:
            raise ValueError(f"speed={speed}: pass 0 (as fast as possible) or a positive speed")
        self.tape = tape
        self.speed = float(speed)
        self._host = host
        self._requested_port = port
        self._start_delay = start_delay
        self._on_send = on_send
        self._server: Server | None = None
        self._player: asyncio.Task[None] | None = None
        self._live: set[_Connection] = set()
        self._silent_until = 0.0
        self._resumed = asyncio.Event()
        self._changed = asyncio.Condition()
        self.port = 0
        self.connection_subscriptions: list[dict[Instrument, FeedMode]] = []
        """One dict per accepted connection, in order: what it subscribed (kept up to date)."""
        self.packets_sent = 0
        self.position = 0
        """How many tape events have been played."""
        self.finished = asyncio.Event()
        self._anchor: tuple[float, int] | None = None  # (loop time, exchange time) of the start

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self._host,
            self._requested_port,
            process_request=self._check_request,
            logger=_TokenMaskingLogger(logging.getLogger("websockets.server")),
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        if self._server is None:
            raise RuntimeError("start() the replay server before serving")
        await self._server.serve_forever()

    @property
    def url(self) -> str:
        return f"ws://{self._host}:{self.port}"

    def market_time(self, at: float) -> float | None:
        """The tape's exchange time (epoch seconds) at loop time `at` (`loop.time()`, which is
        `time.monotonic()`): the replay's clock, for a client that closes bars on time. None
        before playback starts and at speed 0; during a silence it runs on, and steps back
        when the tape resumes."""
        if self._anchor is None or self.speed == 0:
            return None
        started, first_time = self._anchor
        return first_time + (at - started) * self.speed

    @property
    def connections(self) -> int:
        """Connections accepted so far (a reconnect is a new one)."""
        return len(self.connection_subscriptions)

    @property
    def open_connections(self) -> int:
        return len(self._live)

    # -- faults ------------------------------------------------------------------------------

    async def drop(self) -> None:
        """Cut every connection: no close handshake, no disconnect packet."""
        for connection in list(self._live):
            transport = connection.websocket.transport
            if transport is not None:
                transport.abort()
        log.info("replay: dropped %d connection(s)", len(self._live))

    async def silence(self, seconds: float) -> None:
        """Send nothing for `seconds` real seconds, then go on where the tape stopped."""
        if seconds < 0:
            raise ValueError(f"silence of {seconds} s: pass a duration of 0 or more")
        loop = asyncio.get_running_loop()
        self._silent_until = max(self._silent_until, loop.time() + seconds)
        self._resumed.clear()
        log.info("replay: silent for %.1f s", seconds)

    async def resume(self) -> None:
        """End a silence now."""
        self._silent_until = 0.0
        self._resumed.set()
        log.info("replay: resumed")

    async def disconnect(self, reason: int) -> None:
        """Send Dhan's disconnect packet with `reason` to every connection and close it."""
        packet = feed_codec.encode_disconnect(0, 0, reason)
        for connection in list(self._live):
            with contextlib.suppress(WebSocketException):
                await connection.websocket.send(packet)
            await connection.websocket.close()
        log.info("replay: disconnected every connection with reason %d", reason)

    # -- waiting (tests) ---------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds; checked after every connection and request."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- connections -------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        problems = []
        for name, expected in REQUIRED_QUERY.items():
            values = query.get(name)
            if not values or not values[0].strip():
                problems.append(f"{name} is missing")
            elif expected is not None and values[0] != expected:
                problems.append(f"{name} must be {expected}")
        if problems:
            return connection.respond(
                HTTPStatus.BAD_REQUEST,
                "connect as ?version=2&token=...&clientId=...&authType=2: "
                + "; ".join(problems)
                + "\n",
            )
        return None

    async def _handle(self, websocket: ServerConnection) -> None:
        connection = _Connection(websocket)
        self._live.add(connection)
        self.connection_subscriptions.append(connection.subscriptions)
        await self._notify()
        try:
            async for message in websocket:
                if isinstance(message, str):
                    await self._request(connection, message)
        except ConnectionClosed:
            pass
        finally:
            self._live.discard(connection)
            await self._notify()

    async def _request(self, connection: _Connection, message: str) -> None:
        try:
            code, instruments = feed_codec.parse_request(message)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("replay: ignored a request that is not Dhan's JSON (%s)", exc)
            return
        if code == feed_codec.DISCONNECT_REQUEST_CODE:
            await connection.websocket.close()
            return
        if code in _MODES_BY_CODE:
            mode = _MODES_BY_CODE[code]
            for instrument in instruments:
                connection.subscriptions[instrument] = mode
                await self._send_previous_close(connection, instrument)
            self._start_playing()
        elif code in _UNSUBSCRIBE_CODES:
            for instrument in instruments:
                connection.subscriptions.pop(instrument, None)
        else:
            log.warning("replay: ignored request code %d", code)
        await self._notify()

    async def _send_previous_close(self, connection: _Connection, instrument: Instrument) -> None:
        close = self.tape.previous_close.get(instrument)
        if close is not None:
            with contextlib.suppress(WebSocketException):
                await connection.websocket.send(feed_codec.encode_prev_close(*instrument, close))

    # -- playback ----------------------------------------------------------------------------

    def _start_playing(self) -> None:
        if self._player is None:
            self._player = asyncio.create_task(self._play(), name="replay-feed")

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self._start_delay)
        events = self.tape.events
        first_time = events[0].time if events else 0
        started = loop.time()
        self._anchor = (started, first_time)
        for event in events:
            if self.speed > 0:
                due = started + (event.time - first_time) / self.speed
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
            if self._silent_until > loop.time():  # silence: hold, then shift the schedule
                held_from = loop.time()
                await self._hold()
                started += loop.time() - held_from
                self._anchor = (started, first_time)
            if self._on_send is not None:
                self._on_send(event, loop.time())
            await self._broadcast(event)
            self.position += 1
        for connection in list(self._live):
            for instrument in connection.subscriptions:
                with contextlib.suppress(WebSocketException):
                    await connection.websocket.send(feed_codec.encode_market_status(*instrument))
        self.finished.set()
        await self._notify()
        log.info("replay: the tape ended after %d ticks", len(events))

    async def _hold(self) -> None:
        loop = asyncio.get_running_loop()
        while (left := self._silent_until - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resumed.wait(), left)

    async def _broadcast(self, event: TapeEvent) -> None:
        for connection in list(self._live):
            mode = connection.subscriptions.get(event.instrument)
            if mode is None:
                continue
            try:
                await connection.websocket.send(self.tape.packet(event, mode))
            except WebSocketException:
                continue  # it dropped: its handler forgets it
            self.packets_sent += 1

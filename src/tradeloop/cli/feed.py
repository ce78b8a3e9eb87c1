"""`tradeloop feed`: replay stored candles as Dhan's market feed, and watch a feed's prices."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.table import Table

from tradeloop.cli._common import console, err_console, fail, parse_day, settings

if TYPE_CHECKING:
    from tradeloop.adapters.dhan.feed import DhanFeedClient
    from tradeloop.adapters.dhan.feed_codec import Instrument, Packet
    from tradeloop.adapters.dhan.replay import ReplayFeedServer
    from tradeloop.adapters.dhan.replay_tape import ReplayTape
    from tradeloop.clock import Clock
    from tradeloop.domain.market.quotes import LtpCache

feed_app = typer.Typer(
    help="Market feed: replay stored candles as Dhan's feed on loopback, watch live prices.",
    no_args_is_help=True,
)
DEFAULT_SYMBOLS = ["NIFTY", "BANKNIFTY"]
CONTROLS_HELP = (
    "controls (type and press Enter): drop | silence SECONDS | resume | disconnect CODE "
    "(807: token expired) | help"
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(feed_app, name="feed")


# -- replay -----------------------------------------------------------------------------------


@feed_app.command("replay")
def replay(
    symbols: list[str] = typer.Option(
        DEFAULT_SYMBOLS, "--symbol", help="Index to replay; repeat for several."
    ),
    day: str = typer.Option(..., "--date", help="IST session to replay (YYYY-MM-DD)."),
    speed: float = typer.Option(
        60.0,
        min=0.0,
        help="Market seconds per real second: 60 plays a minute a second, 1 is real time, "
        "0 as fast as the clients take it.",
    ),
    port: int = typer.Option(0, min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one."),
) -> None:
    """Serve stored 1m candles of one day as Dhan's market feed on 127.0.0.1 (Ctrl-C stops)."""
    from tradeloop.app import feed

    session = parse_day(day, "--date")
    assert session is not None  # a required option
    tape = feed.replay_tape(settings(), symbols, session)
    try:
        asyncio.run(_serve(tape, speed, port, session.isoformat()))
    except KeyboardInterrupt:
        console.print("replay stopped")


async def _serve(tape: ReplayTape, speed: float, port: int, day: str) -> None:
    from tradeloop.adapters.dhan.replay import ReplayFeedServer

    server = ReplayFeedServer(tape, speed=speed, port=port)
    try:
        await server.start()
    except OSError as exc:
        raise fail(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); pass another --port, "
            "or --port 0 for a free one"
        ) from None
    try:
        pace = "as fast as possible" if speed == 0 else f"at speed {speed:g}"
        console.print(f"replaying {day}, {len(tape):,} ticks {pace}, from the first subscription")
        console.print(f"feed URL: {server.url}", highlight=False, soft_wrap=True)
        console.print(f"watch it: tradeloop feed watch --replay {server.url}", highlight=False)
        if sys.stdin.isatty():
            console.print(CONTROLS_HELP, highlight=False)
            _read_controls(server, asyncio.get_running_loop())
        ended = asyncio.create_task(_announce_end(server))
        try:
            await server.serve_forever()
        finally:
            ended.cancel()
    finally:
        await server.stop()


async def _announce_end(server: ReplayFeedServer) -> None:
    await server.finished.wait()
    console.print(f"the tape ended ({server.position:,} ticks played); still serving, Ctrl-C stops")


def control(server: ReplayFeedServer, line: str) -> Coroutine[Any, Any, None] | str:
    """The server action a typed control line asks for, or the text to answer it with."""
    words = line.split()
    if not words:
        return ""
    command, arguments = words[0].lower(), words[1:]
    try:
        if command == "drop" and not arguments:
            return server.drop()
        if command == "silence" and len(arguments) == 1 and float(arguments[0]) >= 0:
            return server.silence(float(arguments[0]))
        if command == "resume" and not arguments:
            return server.resume()
        if command == "disconnect" and len(arguments) == 1:
            return server.disconnect(int(arguments[0]))
    except ValueError:
        pass
    return CONTROLS_HELP


def _read_controls(server: ReplayFeedServer, loop: asyncio.AbstractEventLoop) -> None:
    def read() -> None:
        for line in sys.stdin:
            action = control(server, line)
            if isinstance(action, str):
                if action:
                    err_console.print(action, highlight=False)
            else:
                asyncio.run_coroutine_threadsafe(action, loop)

    threading.Thread(target=read, name="replay-controls", daemon=True).start()


# -- watch ------------------------------------------------------------------------------------


@dataclass
class _Reference:
    """What a price's change is measured from: the previous close, else the day's open."""

    previous_close: float | None = None
    day_open: float | None = None

    def of(self, packet: Packet) -> None:
        from tradeloop.adapters.dhan.feed_codec import Full, PrevClose, Quote

        if isinstance(packet, PrevClose) and packet.prev_close > 0:
            self.previous_close = packet.prev_close
        elif isinstance(packet, Quote | Full):
            if packet.close > 0:
                self.previous_close = packet.close
            if packet.open > 0:
                self.day_open = packet.open

    @property
    def price(self) -> float | None:
        return self.previous_close if self.previous_close is not None else self.day_open


@feed_app.command("watch")
def watch(
    replay_url: str | None = typer.Option(
        None, "--replay", help="Watch a replay: the ws:// URL `tradeloop feed replay` prints."
    ),
    live: bool = typer.Option(
        False, "--live", help="Watch Dhan's live feed (needs the Dhan credentials)."
    ),
    symbols: list[str] = typer.Option(
        DEFAULT_SYMBOLS, "--symbol", help="Index to watch; repeat for several."
    ),
    stale_after: float = typer.Option(
        5.0, min=0.1, help="Seconds without a tick after which a price is stale."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON snapshot, once every symbol has a price, and exit."
    ),
    timeout: float = typer.Option(
        10.0, min=0.1, help="With --json: seconds to wait for the prices."
    ),
) -> None:
    """A live-updating table of last prices (Ctrl-C stops), or one JSON snapshot."""
    from tradeloop.app import feed, stores
    from tradeloop.clock import SystemClock
    from tradeloop.domain.market.quotes import LtpCache

    if live == (replay_url is not None):
        raise typer.BadParameter(
            "pass exactly one of --replay ws://127.0.0.1:PORT (a local replay) or --live",
            param_hint="--replay / --live",
        )
    instruments = {feed.feed_instrument(symbol): symbol.strip().upper() for symbol in symbols}
    current = settings()
    calendar = stores.calendar(current)
    # A replay is a session in progress whatever the wall clock says; live follows the calendar.
    is_open = calendar.is_open if live else (lambda _now: True)
    cache = LtpCache(stale_after=timedelta(seconds=stale_after), is_market_open=is_open)
    clock = SystemClock()
    references = {instrument: _Reference() for instrument in instruments}

    def on_packet(packet: Packet, _received_at: datetime) -> None:
        reference = references.get((packet.segment, packet.security_id))
        if reference is not None:
            reference.of(packet)

    if live:
        client = feed.live_feed_client(current, cache=cache, clock=clock, on_packet=on_packet)
    else:
        assert replay_url is not None
        client = feed.replay_feed_client(replay_url, cache=cache, clock=clock, on_packet=on_packet)
    view = _View(instruments, references, cache, clock, is_open)
    try:
        asyncio.run(_watch(client, view, as_json, timeout))
    except KeyboardInterrupt:
        console.print("stopped watching")


@dataclass
class _View:
    instruments: dict[Instrument, str]
    references: dict[Instrument, _Reference]
    cache: LtpCache
    clock: Clock
    is_open: Any

    def rows(self) -> list[dict[str, Any]]:
        from tradeloop.domain.market.calendar import to_ist

        now = self.clock.now()
        market_open = bool(self.is_open(now))
        rows = []
        for instrument, symbol in self.instruments.items():
            last = self.cache.get(instrument)
            reference = self.references[instrument].price
            price = None if last is None else round(last.price, 2)
            change = None if price is None or reference is None else round(price - reference, 2)
            rows.append(
                {
                    "symbol": symbol,
                    "security_id": instrument[1],
                    "ltp": price,
                    "change": change,
                    "change_pct": None
                    if change is None or not reference
                    else round(100 * change / reference, 2),
                    "exchange_time": None
                    if last is None
                    else to_ist(last.exchange_time).isoformat(),
                    "age_seconds": None
                    if last is None
                    else round((now - last.received_at).total_seconds(), 1),
                    "stale": self.cache.stale(instrument, now, market_open),
                }
            )
        return rows

    def table(self, status: str) -> Table:
        table = Table(
            "symbol", "LTP", "change", "exchange time (IST)", "age", "stale",
            box=box.SIMPLE_HEAD, caption=status,
        )  # fmt: skip
        for row in self.rows():
            change = (
                ""
                if row["change"] is None
                else f"{row['change']:+,.2f} ({row['change_pct']:+.2f}%)"
            )
            table.add_row(
                row["symbol"],
                "—" if row["ltp"] is None else f"{row['ltp']:,.2f}",
                change,
                "" if row["exchange_time"] is None else row["exchange_time"][11:19],
                "" if row["age_seconds"] is None else f"{row['age_seconds']:.1f} s",
                "[bold red]STALE[/]" if row["stale"] else "",
            )
        return table


async def _watch(client: DhanFeedClient, view: _View, as_json: bool, timeout: float) -> None:
    from tradeloop.adapters.dhan.feed_codec import FeedMode
    from tradeloop.app.feed import stop_feed

    await client.subscribe(list(view.instruments), FeedMode.QUOTE)
    run = asyncio.create_task(client.run(), name="feed-client")
    try:
        if as_json:
            await _snapshot(run, view, timeout)
        else:
            await _live_table(run, client, view)
    finally:
        await stop_feed(client, run)


async def _snapshot(run: asyncio.Task[None], view: _View, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not run.done() and loop.time() < deadline:
        if all(instrument in view.cache for instrument in view.instruments):
            break
        await asyncio.wait({run}, timeout=0.05)
    if run.done():
        return  # _watch reports why the feed stopped
    rows = view.rows()
    print(json.dumps(rows, indent=2))
    if all(row["ltp"] is None for row in rows):
        raise fail(
            f"no price arrived within {timeout:g} s: is the feed running and are the "
            "symbols subscribed? (raise --timeout for a slow start)"
        )


async def _live_table(run: asyncio.Task[None], client: DhanFeedClient, view: _View) -> None:
    from rich.live import Live

    with Live(view.table("connecting"), console=console, refresh_per_second=4) as live:
        while not run.done():
            status = f"connections: {client.connections}, packets: {client.packets:,}"
            live.update(view.table(status + "; Ctrl-C stops"))
            await asyncio.wait({run}, timeout=0.25)

"""The pipeline end to end: a research run through Prefect, and a replayed paper day.

Both run in a temporary data directory under the repository's `.tmp/` (its own PREFECT_HOME,
analytics off, an empty config), removed at the end.

**Research** (issue 17, issue 19): a year of synthetic NIFTY minute bars (`generate_market`,
250 sessions, candles only: no IV is stored, so the option specs among the random ones are
skipped by the generate stage, as in issue 19's profile), then
`research_flow(ResearchParameters(symbols=["NIFTY"], random_count=1000, templates=[]))` against
a temporary Prefect server, the one `tradeloop research run` starts (`cli._prefect.prefect_api`).
Timed: the flow call's wall clock (generate, load candles, memory look-up, the evaluate
batches, the lockbox gate, deploy, artifacts, and every Prefect state change and log around
them). Inside it, the calls of `domain.research.evaluate_specs` (resample, compile with
indicators, walk-forward backtests, scoring) and `domain.research.gate_specs` (the lockbox
backtests) are timed by wrapping them in this process; the share outside them is
(wall − evaluate − gate) / wall, the orchestration and bookkeeping overhead (target < 20 %).
Not timed: synthesizing and storing the candles, starting the Prefect server, and a warm-up:
the same 1,000 specs on the last 15 sessions only (a different context key, so the timed run
reuses nothing from memory) first, so numba compiles are not counted.

**A replayed day** (issue 17): `app.manage.manage_paper_day(source="feed", speed=0)`, the day's
stored minutes served by the loopback replay of Dhan's feed as fast as it can, read by the feed
client, built into 1m bars and handed to a `TradingDay` trading a handful of index specs
(`random_specs`, options dropped) on a 30-session synthetic market in paper. Timed per order:
bar-to-order latency, from the moment the decision's closed 1m bar is handed to
`TradingDay.on_minute` to the return of `PositionManager.open` for the entry (the strategies'
signals on the close, sizing, the risk check, the ledger's write-ahead and the paper broker's
acceptance). Not timed: the feed's transport and bar building before the hand-over (at speed 0
the replay compresses the day, so wall time between ticks means nothing), exits, and the
warm-up day traded first (signal compilation).

No assertions: this prints, it does not judge.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
SYMBOL = "NIFTY"
YEAR_SESSIONS = 250
RANDOM_SPECS = 1_000
SEED = 7
WARM_UP_SESSIONS = 15
OVERHEAD_TARGET = 0.20
DAY_SESSIONS = 30
DAY_SPECS = 24  # random specs drawn; the index and future ones among them are traded
MANAGED_DAYS = (date(2025, 3, 3), *(date(2025, 3, 4) + timedelta(days=d) for d in (0, 1, 2, 6, 7)))
# the first is the warm-up


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@contextmanager
def data_directory(name: str) -> Iterator[Path]:
    """A fresh data directory with its own Prefect home, set in this process's environment."""
    scratch = REPOSITORY / ".tmp"
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-", dir=scratch) as folder:
        root = Path(folder)
        config = root / "empty.toml"
        config.write_text("", encoding="utf-8")
        (root / "data" / "prefect").mkdir(parents=True)
        saved = {key: os.environ.get(key) for key in ENVIRONMENT_KEYS}
        os.environ.update(
            {
                "TRADELOOP_DATA_DIR": str(root / "data"),
                "TRADELOOP_CONFIG": str(config),
                "PREFECT_HOME": str(root / "data" / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
        )
        os.environ.pop("PREFECT_API_URL", None)  # our own temporary server, not the user's
        os.environ.pop("TRADELOOP_DATABASE_URL", None)
        try:
            yield root
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


ENVIRONMENT_KEYS = (
    "TRADELOOP_DATA_DIR",
    "TRADELOOP_CONFIG",
    "TRADELOOP_DATABASE_URL",
    "PREFECT_HOME",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_API_URL",
)


class Stopwatch:
    """Wall time spent inside the wrapped functions, summed (they run one after another)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return timed


# -- research through Prefect ----------------------------------------------------------------


def research() -> None:
    with data_directory("research"):  # before Prefect is imported: it reads its settings once
        import tradeloop.domain.research as domain_research
        from tradeloop.app import stores
        from tradeloop.cli._prefect import prefect_api
        from tradeloop.domain.market.synthetic import generate_market
        from tradeloop.flows.research import ResearchParameters, research_flow
        from tradeloop.settings import load_settings

        progress(f"research: synthesizing {YEAR_SESSIONS} sessions of {SYMBOL} 1m bars")
        market = generate_market(SYMBOL, days=YEAR_SESSIONS, start=date(2024, 1, 1), seed=SEED)
        stores.candle_store(load_settings()).write(market.candles)
        candles = market.candles
        last_day = market.implied_volatility["day"][-1]
        warm_up_start = last_day - timedelta(days=WARM_UP_SESSIONS * 7 // 5)
        parameters = ResearchParameters(
            symbols=[SYMBOL], random_count=RANDOM_SPECS, templates=[], seed=SEED
        )
        evaluate, gate = Stopwatch(), Stopwatch()
        real_evaluate, real_gate = domain_research.evaluate_specs, domain_research.gate_specs
        progress("research: starting the temporary Prefect server")
        with prefect_api():
            progress(f"research: warm-up, the same specs from {warm_up_start} (numba compiles)")
            warm_up = research_flow(parameters.model_copy(update={"start": warm_up_start}))
            domain_research.evaluate_specs = evaluate.wrap(real_evaluate)  # type: ignore[assignment]
            domain_research.gate_specs = gate.wrap(real_gate)  # type: ignore[assignment]
            try:
                progress(f"research: the timed run, {RANDOM_SPECS} random specs on the year")
                started = time.perf_counter()
                result = research_flow(parameters)
                wall = time.perf_counter() - started
            finally:
                domain_research.evaluate_specs = real_evaluate  # type: ignore[assignment]
                domain_research.gate_specs = real_gate  # type: ignore[assignment]
    specs = len(result.leaderboard)
    outside = wall - evaluate.seconds - gate.seconds
    print(f"\nResearch through Prefect: {SYMBOL}, {YEAR_SESSIONS} sessions, {candles.height:,} "
          f"1m bars; {RANDOM_SPECS:,} random {parameters.random_timeframe} specs (seed {SEED}), "
          f"{specs} after option specs are skipped (no IV stored); batches of "
          f"{parameters.batch_size}; temporary Prefect server (SQLite)")  # fmt: skip
    print(f"  {load()}")
    print(f"  warm-up first: the same specs on the last {WARM_UP_SESSIONS} sessions "
          f"({len(warm_up.leaderboard)} specs; numba compiles not counted)")  # fmt: skip
    print(f"  evaluated {result.evaluated}, reused from memory {result.reused}, "
          f"deployed {len(result.deployed)}")  # fmt: skip
    print(f"  {'':<44}{'seconds':>10}{'share':>9}")
    rows = (
        ("flow run, wall", wall),
        (f"evaluate_specs ({evaluate.calls} calls)", evaluate.seconds),
        (f"gate_specs, lockbox ({gate.calls} calls)", gate.seconds),
        ("outside backtesting (wall − both)", outside),
    )
    for label, seconds in rows:
        print(f"  {label:<44}{seconds:>10.2f}{seconds / wall:>8.1%}")
    verdict = "ok" if outside / wall < OVERHEAD_TARGET else "OVER"
    print(f"  specs per second: {specs / wall:,.1f} through the flow, "
          f"{specs / evaluate.seconds:,.1f} in evaluate_specs alone")  # fmt: skip
    print(f"  share outside backtesting: {outside / wall:.1%}   target < {OVERHEAD_TARGET:.0%}  "
          f"{verdict}")  # fmt: skip


# -- a replayed day at full speed ------------------------------------------------------------


def replayed_day() -> None:
    from tradeloop.app import stores
    from tradeloop.app.manage import manage_paper_day
    from tradeloop.domain.market.synthetic import generate_market
    from tradeloop.domain.positions.day import TradingDay
    from tradeloop.domain.positions.manager import PositionManager
    from tradeloop.domain.strategy.generators import random_specs
    from tradeloop.settings import load_settings

    strategies = [
        (f"bench-{spec.id}", spec)
        for spec in random_specs(11, DAY_SPECS, SYMBOL, "5m")
        if spec.instrument.kind != "option"
    ]
    minute_started: list[float] = []  # the current minute's hand-over time, one slot
    opened: dict[str, float] = {}  # position id (its entry intent's id) → latency, this day
    latencies: list[float] = []  # of the entries with an order in the ledger, every day
    real_on_minute, real_open = TradingDay.on_minute, PositionManager.open

    def on_minute(self: TradingDay, underlying: str, minute: Any) -> None:
        minute_started[:] = [time.perf_counter()]
        real_on_minute(self, underlying, minute)

    def open_(self: PositionManager, *args: Any, **kwargs: Any) -> Any:
        position = real_open(self, *args, **kwargs)
        if minute_started:
            opened[position.position_id] = time.perf_counter() - minute_started[0]
        return position

    orders = entries = calls = minutes = 0
    with data_directory("day"):
        progress(f"day: synthesizing {DAY_SESSIONS} sessions of {SYMBOL}")
        market = generate_market(SYMBOL, days=DAY_SESSIONS, start=date(2025, 2, 3), seed=21)
        settings = load_settings()
        stores.candle_store(settings).write(market.candles)
        warm_up, *days = MANAGED_DAYS
        progress(f"day: warm-up day {warm_up} (signal compilation)")
        manage_paper_day(settings, warm_up, source="feed", strategies=strategies)
        TradingDay.on_minute = on_minute  # type: ignore[method-assign]
        PositionManager.open = open_  # type: ignore[method-assign]
        try:
            for day in days:
                progress(f"day: trading {day} over the replayed feed at full speed")
                opened.clear()
                summary = manage_paper_day(settings, day, source="feed", strategies=strategies)
                minutes += summary.minutes
                ledger = stores.ledger(settings)
                try:
                    day_orders = ledger.orders(day)
                finally:
                    ledger.close()
                sent = {o.intent.id for o in day_orders if not o.intent.is_exit}
                latencies.extend(seconds for id_, seconds in opened.items() if id_ in sent)
                calls += len(opened)
                entries += len(sent)
                orders += len(day_orders)
        finally:
            TradingDay.on_minute = real_on_minute  # type: ignore[method-assign]
            PositionManager.open = real_open  # type: ignore[method-assign]
    print(f"\nA replayed day at full speed: {len(strategies)} index/future specs of "
          f"random_specs(11, {DAY_SPECS}) on 5m, {SYMBOL}, paper, over the loopback feed "
          f"replay (speed 0); {len(days)} days after a warm-up day")  # fmt: skip
    print(f"  {load()}")
    print("  timed: closed 1m bar handed to TradingDay.on_minute → PositionManager.open returned "
          "(signals, sizing, risk check, ledger, paper broker); not timed: feed transport, "
          "bar building, exits")  # fmt: skip
    print(f"  minutes {minutes}; PositionManager.open returned {calls} times, {entries} with "
          f"an entry order in the ledger (the others refused by the risk check, nothing "
          f"sent); ledger orders {orders} "
          f"(entries and exits); latencies of the {len(latencies)} entry orders")  # fmt: skip
    if not latencies:
        print("  no entry was opened: no latency to report")
        return
    milliseconds = sorted(1000 * seconds for seconds in latencies)
    p99 = milliseconds[min(len(milliseconds) - 1, round(0.99 * (len(milliseconds) - 1)))]
    print(f"  {'bar-to-order latency':<24}{'p50':>10}{'p99':>10}{'max':>10}{'n':>6}")
    print(f"  {'milliseconds':<24}{statistics.median(milliseconds):>10.2f}{p99:>10.2f}"
          f"{milliseconds[-1]:>10.2f}{len(milliseconds):>6}")  # fmt: skip


def main() -> None:
    started = time.perf_counter()
    research()
    replayed_day()
    print(f"\n(whole benchmark {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""A paper session killed with SIGKILL mid-day and restarted loses nothing and doubles nothing.

This module is also the session script: `python test_crash_session.py --ledger URL ...` replays
one trading day of 5-minute bars through the position manager and the paper broker on an SQLite
ledger, opening a few trailing-stop trades on a fixed schedule. The tests run it in a subprocess,
kill it (at a pause between bars, or from inside a broker call right after the action), restart
it from the first bar it had not fed to the broker, and compare the ledger with an
uninterrupted run of the same day: the same orders (one per intent), the same fills, the same
trades, the same stop moves. A pause is a blocking read on stdin, so no test ever sleeps.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradeloop.app.trading import paper_stack
from tradeloop.clock import ManualClock
from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, Side
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.market.calendar import ist_datetime, to_ist
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.domain.positions.replay import Bar
from tradeloop.settings import load_settings
from tradeloop.storage.ledger import Ledger, open_ledger

DAY = date(2026, 1, 6)
SECURITY = "13"
ENTRY_TIMES = (time(9, 30), time(10, 30), time(11, 30), time(12, 30), time(13, 30), time(14, 30))
TRAILING = ExitPlan(trail_offset=30.0, break_even_r=1.0)


# -- the session script ------------------------------------------------------------------------


def day_bars() -> list[Bar]:
    """A fixed 5-minute NIFTY-like path for one session (75 bars, 09:15 to 15:25)."""
    rng = random.Random(7)
    bars, close = [], 24_000.0
    for n in range(75):
        open_ = round(close + rng.gauss(0, 4), 2)
        close = round(open_ + rng.gauss(0, 18), 2)
        high = round(max(open_, close) + abs(rng.gauss(0, 8)), 2)
        low = round(min(open_, close) - abs(rng.gauss(0, 8)), 2)
        start = ist_datetime(DAY, time(9, 15)) + timedelta(minutes=5 * n)
        bars.append(
            Bar(
                security_id=SECURITY,
                ts=start,
                open=open_,
                high=high,
                low=low,
                close=close,
                minutes=5,
            )
        )
    return bars


def entries_at(bar: Bar) -> list[tuple[OrderIntent, ExitPlan]]:
    """Alternate long and short entries at fixed closes; the last one has a wide stop and no
    trailing, so it is still open at 15:15 and squared off."""
    local = to_ist(bar.close_time).time()
    if local not in ENTRY_TIMES:
        return []
    number = ENTRY_TIMES.index(local)
    side = Side.BUY if number % 2 == 0 else Side.SELL
    last = number == len(ENTRY_TIMES) - 1
    risk, plan = (200.0, ExitPlan(break_even_r=None)) if last else (40.0, TRAILING)
    intent = OrderIntent(
        strategy_id="crash-test",
        symbol="NIFTY-FUT",
        security_id=SECURITY,
        side=side,
        quantity=65,
        lot_size=65,
        stop_loss=round(bar.close - side.sign * risk, 2),
        target=round(bar.close + side.sign * 2.5 * risk, 2),
        reference_price=bar.close,
        trading_day=DAY,
        reason=f"scheduled {local:%H:%M}",
    )
    return [(intent, plan)]


class KillingPaperBroker(PaperBroker):
    """The real paper broker that SIGKILLs its own process right after the Nth call of one
    method has been carried out (and committed to the book): a crash at the worst moment."""

    kill_method = ""
    kill_at = 0
    calls = 0

    def _maybe_die(self) -> None:
        self.calls += 1
        if self.calls == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def place(self, intent: OrderIntent) -> BrokerOrder:
        answer = super().place(intent)
        if self.kill_method == "place":
            self._maybe_die()
        return answer

    def modify_stop(self, order_id: str, trigger_price: float) -> BrokerOrder:
        answer = super().modify_stop(order_id, trigger_price)
        if self.kill_method == "modify_stop":
            self._maybe_die()
        return answer

    def cancel(self, order_id: str) -> BrokerOrder:
        answer = super().cancel(order_id)
        if self.kill_method == "cancel":
            self._maybe_die()
        return answer


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay one paper trading day (crash tests).")
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--start-bar", type=int, default=0)
    parser.add_argument("--pause-after-bar", type=int, default=-1)
    parser.add_argument("--kill-in", default="", help="METHOD:N, e.g. place:2")
    args = parser.parse_args(argv)

    bars = day_bars()
    clock = ManualClock(bars[args.start_bar].ts)
    stack = paper_stack(
        load_settings(risk={"capital": 5_000_000.0}),
        open_ledger(args.ledger),
        clock,
        paper=PaperConfig(slippage_bps=0.0),
        broker_class=KillingPaperBroker,
    )
    broker, manager = stack.broker, stack.positions
    assert isinstance(broker, KillingPaperBroker)
    if args.kill_in:
        method, count = args.kill_in.split(":")
        broker.kill_method, broker.kill_at = method, int(count)
    report = manager.start()
    print("START", json.dumps({"ok": report.ok, "resumed": list(report.resumed)}), flush=True)
    for index in range(args.start_bar, len(bars)):
        bar = bars[index]
        # PaperReplay.bar, step by step, telling the test when the broker has seen the bar.
        clock.set(bar.ts)
        manager.on_time(bar.ts)
        broker.on_bar(bar.security_id, bar.open, bar.high, bar.low, bar.close, bar.ts)
        print("FED", index, flush=True)
        manager.sync()
        clock.set(bar.close_time)
        manager.on_bar_close(bar.security_id, bar.close)
        for intent, plan in entries_at(bar):
            manager.open(intent, plan)
        if index == args.pause_after_bar:
            print("PAUSED", index, flush=True)
            sys.stdin.readline()  # the test kills us here
    stack.ledger.close()
    print("END", flush=True)


# -- the tests ---------------------------------------------------------------------------------


@dataclass
class Session:
    """One run of this script as a subprocess."""

    process: subprocess.Popen[str]
    lines: list[str]

    def read_until(self, prefix: str) -> str | None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())
            if line.startswith(prefix):
                return line.strip()
        return None

    def last_fed_bar(self) -> int:
        fed = [int(line.split()[1]) for line in self.lines if line.startswith("FED")]
        return fed[-1] if fed else -1


def start_session(url: str, data_dir: Path, *args: str) -> Session:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "empty.toml").write_text("", encoding="utf-8")  # a named config must exist
    env.update(TRADELOOP_DATA_DIR=str(data_dir), TRADELOOP_CONFIG=str(data_dir / "empty.toml"))
    process = subprocess.Popen(
        [sys.executable, __file__, "--ledger", url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return Session(process, [])


def run_in_process(url: str, *extra_args: str) -> list[str]:
    """Run (or resume) the day in this process: no kill is armed, so nothing dies here."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        main(["--ledger", url, *extra_args])
    return output.getvalue().splitlines()


def summary(ledger: Ledger) -> dict[str, Any]:
    """Everything that must be identical between an interrupted and an uninterrupted day."""
    paper_entries: dict[str, int] = {}
    for order in ledger.paper_orders():
        if order.parent_id is None:
            paper_entries[order.correlation_id] = paper_entries.get(order.correlation_id, 0) + 1
    return {
        "orders": sorted(
            (r.intent_id, r.status.value, r.filled_quantity, r.average_price)
            for r in ledger.orders()
        ),
        "orders_at_broker_per_intent": sorted(paper_entries.items()),
        "fills": sorted((f.fill_id, f.price, f.quantity) for f in ledger.fills()),
        "trades": sorted(
            (t.position_id, t.entry_price, t.exit_price, t.exit_reason.value, round(t.net_pnl, 6))
            for t in ledger.trades()
        ),
        "positions": sorted((p.position_id, p.state.value, p.stop) for p in ledger.positions()),
        "stop_moves": sorted(
            (
                p.position_id,
                [e.detail["to"] for e in ledger.events(p.position_id) if e.kind == "stop_moved"],
            )
            for p in ledger.positions()
        ),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same day, never interrupted."""
    directory = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{directory / 'ledger.sqlite'}"
    assert run_in_process(url)[-1] == "END"
    ledger = open_ledger(url)
    try:
        result = summary(ledger)
    finally:
        ledger.close()
    # The day exercises every path the crash tests interrupt.
    reasons = {trade[3] for trade in result["trades"]}
    assert {"trailing_stop", "target", "square_off"} <= reasons
    assert all(count == 1 for _, count in result["orders_at_broker_per_intent"])
    return result


def start_report(line: str | None) -> dict[str, Any]:
    assert line is not None and line.startswith("START"), line
    report: dict[str, Any] = json.loads(line.split(" ", 1)[1])
    assert report["ok"], report
    return report


def killed_at(url: str, data_dir: Path, start_bar: int, kill_in: str) -> tuple[Session, dict]:
    """Run from `start_bar` until the armed broker call kills the process."""
    session = start_session(url, data_dir, "--start-bar", str(start_bar), "--kill-in", kill_in)
    report = start_report(session.read_until("START"))
    assert session.read_until("END") is None, f"{kill_in} never happened"
    assert session.process.wait() == -signal.SIGKILL
    return session, report


@pytest.mark.slow
def test_session_killed_four_times_ends_the_day_exactly_as_an_uninterrupted_one(
    reference: dict[str, Any], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"

    # 1. Right after the first entry was created at the broker, before its answer was recorded.
    first, _ = killed_at(url, tmp_path, 0, "place:1")

    # 2. Between bars, while a position is trailing: its stop must survive the kill.
    second = start_session(
        url, tmp_path, "--start-bar", str(first.last_fed_bar() + 1), "--pause-after-bar", "16"
    )
    start_report(second.read_until("START"))
    assert second.read_until("PAUSED") == "PAUSED 16"
    ledger = open_ledger(url)
    [trailing] = ledger.positions(active_only=True)
    assert trailing.state is PositionState.TRAILING and trailing.stop == trailing.broker_stop
    second.process.send_signal(signal.SIGKILL)
    assert second.process.wait() == -signal.SIGKILL
    after_kill = ledger.position(trailing.position_id)
    assert after_kill is not None and after_kill.stop == trailing.stop
    ledger.close()

    # 3. A trailing stop written to the ledger and sent, its acknowledgement never recorded.
    third, report = killed_at(url, tmp_path, second.last_fed_bar() + 1, "modify_stop:3")
    assert report["resumed"] == []

    # 4. In the square-off: CLOSING written, the legs cancelled, the exit not sent yet.
    fourth, report = killed_at(url, tmp_path, third.last_fed_bar() + 1, "cancel:1")
    assert any("re-sent" in line for line in report["resumed"])

    # 5. The rest of the day, in this process.
    lines = run_in_process(url, "--start-bar", str(fourth.last_fed_bar() + 1))
    assert any("close resumed" in line for line in start_report(lines[0])["resumed"])
    assert lines[-1] == "END"

    ledger = open_ledger(url)
    assert summary(ledger) == reference  # no order twice, no fill lost, same stops and trades
    ledger.close()


if __name__ == "__main__":
    main()

"""A trading day killed mid-session and started again: no order twice, no position lost.

`tradeloop manage` (its own process, its own temporary Prefect server, prices over the replayed
feed at speed) is SIGKILLed once a position is open in its ledger. The same command run again
resumes after the last bar it recorded: the position manager reconciles the ledger with the
paper book, the strategies rebuild their day from the minutes already traded, and trading goes
on. The day's trades and orders then equal those of the same day traded without a kill.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from support.cli_env import cli_environment
from support.records import passed_record
from tradeloop.app import stores
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.settings import load_settings

pytestmark = [pytest.mark.slow]

TRADELOOP = str(Path(sys.executable).parent / "tradeloop")
DAY = date(2025, 3, 5)
SPECS = [s for s in random_specs(11, 8, "NIFTY", "5m") if s.instrument.kind != "option"]


def _prepare(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Candles of the day and its warm-up, and the specs deployed to paper."""
    synth = [TRADELOOP, "data", "synth", "--symbol", "NIFTY", "--days", "30"]
    synth += ["--start", "2025-02-03"]
    subprocess.run(synth, env=env, check=True, capture_output=True, timeout=300)
    monkeypatch.setenv("TRADELOOP_DATA_DIR", env["TRADELOOP_DATA_DIR"])
    store = stores.deployment_store(load_settings())
    try:
        for spec in SPECS:
            store.add(
                passed_record(spec), run_id="t", mode="paper", at=datetime(2025, 3, 4, tzinfo=UTC)
            )
    finally:
        store.close()


def _day(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple], int, int]:
    """(the day's trades, its orders, its positions still active) in the data dir of `env`."""
    monkeypatch.setenv("TRADELOOP_DATA_DIR", env["TRADELOOP_DATA_DIR"])
    ledger = stores.ledger(load_settings())
    try:
        trades = sorted(
            (t.strategy_id, t.entry_time, t.exit_time, t.quantity, t.entry_price, t.exit_price)
            for t in ledger.trades(DAY)
        )
        orders = ledger.orders(DAY)
        assert len({o.intent.id for o in orders}) == len(orders)  # each intent journalled once
        return trades, len(orders), len(ledger.positions(DAY, active_only=True))
    finally:
        ledger.close()


def _positions_open(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("TRADELOOP_DATA_DIR", env["TRADELOOP_DATA_DIR"])
    ledger = stores.ledger(load_settings())
    try:
        return len(ledger.positions(DAY, active_only=True))
    finally:
        ledger.close()


def test_a_killed_day_resumes_from_the_ledger_with_no_order_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manage = [TRADELOOP, "manage", "--date", DAY.isoformat(), "--json"]
    # The same day traded without a kill, as the reference.
    reference = cli_environment(tmp_path / "reference")
    _prepare(reference, monkeypatch)
    subprocess.run([*manage, "--source", "store"], env=reference, check=True,
                   capture_output=True, timeout=600)  # fmt: skip
    expected_trades, expected_orders, _ = _day(reference, monkeypatch)
    assert expected_trades, "the day must trade for the test to mean anything"

    killed = cli_environment(tmp_path / "killed")
    _prepare(killed, monkeypatch)
    run = subprocess.Popen(
        [*manage, "--speed", "60"], env=killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and run.poll() is None:
            if _positions_open(killed, monkeypatch):
                break
            time.sleep(0.2)
        assert run.poll() is None, "the day ended before a position was open to kill it with"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
    finally:
        if run.poll() is None:
            run.kill()

    again = subprocess.run([*manage, "--source", "store"], env=killed, capture_output=True,
                           text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["minutes"] == 375
    trades, orders, still_open = _day(killed, monkeypatch)
    assert still_open == 0
    assert trades == expected_trades
    assert orders == expected_orders

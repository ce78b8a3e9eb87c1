"""`tradeloop deployments ls | retire | promote` on the real SQLite ledger of the test's data
directory, through typer's CliRunner."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

sys.path.insert(0, str(Path(__file__).parents[1] / "deploy"))
from deploy_records import DEPLOYED_AT, record

from tradeloop.app import stores
from tradeloop.cli import app
from tradeloop.domain.deploy import Deployment
from tradeloop.errors import NotFoundError, TradingRefusedError, UserError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, load_settings

LIVE_SWITCHES = {
    "TRADELOOP_TRADING_MODE": "live",
    "TRADELOOP_DHAN_CLIENT_ID": "1000000001",
    "TRADELOOP_DHAN_ACCESS_TOKEN": "token-for-tests",
    "TRADELOOP_LIVE_CONFIRM": LIVE_CONFIRM_PHRASE,
}


@pytest.fixture(autouse=True)
def _prefect_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI's settings() sets Prefect's variables when unset: keep them inside this test.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_LEVEL"):
        monkeypatch.setenv(name, os.environ.get(name, "false"))
    monkeypatch.setenv(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
        os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"),
    )


@pytest.fixture
def deployed() -> Iterator[list[Deployment]]:
    """Two active paper deployments and a retired one."""
    store = stores.deployment_store(load_settings())
    try:
        first = store.add(
            record("a1b2c3d4e5f60718", 1.234, name="ema-cross-9-21-trend-follow"),
            run_id="run-1",
            mode="paper",
            at=DEPLOYED_AT,
        )
        second = store.add(
            record("ffeeddccbbaa9988", 0.8, symbol="BANKNIFTY"),
            run_id="run-1",
            mode="paper",
            at=DEPLOYED_AT,
        )
        old = store.add(
            record("0011223344556677", 0.6), run_id="run-0", mode="paper", at=DEPLOYED_AT
        )
        store.retire(old.id, "below the gate on new data", DEPLOYED_AT)
        yield [first, second]
    finally:
        store.close()


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def _stored(deployment_id: str) -> Deployment | None:
    store = stores.deployment_store(load_settings())
    try:
        return store.get(deployment_id)
    finally:
        store.close()


def test_ls_shows_the_active_deployments_in_a_table_that_fits_80_columns(
    deployed: list[Deployment],
) -> None:
    result = _invoke("deployments", "ls")

    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    assert "dep-a1b2c3d4e5f60718-1" in result.output  # ids are never cut
    assert "dep-ffeeddccbbaa9988-1" in result.output and "BANKNIFTY" in result.output
    assert "2026-03-02" in result.output and "19:15" in result.output  # 13:45 UTC in IST
    assert "1.23/0.96" in result.output
    assert "dep-0011223344556677-1" not in result.output


def test_ls_all_includes_the_retired_ones(deployed: list[Deployment]) -> None:
    result = _invoke("deployments", "ls", "--all")

    assert result.exit_code == 0, result.output
    assert "dep-0011223344556677-1" in result.output and "retired" in result.output


def test_ls_json_gives_every_field_with_ist_times_and_null_for_numbers_json_cannot_hold(
    deployed: list[Deployment],
) -> None:
    result = _invoke("deployments", "ls", "--json", "--all")

    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.output)}
    assert len(rows) == 3
    first = rows[deployed[0].id]
    assert first["deployed_at"] == "2026-03-02T19:15:00+05:30"
    assert first["mode"] == "paper" and first["status"] == "active" and first["run_id"] == "run-1"
    assert first["spec_id"] == "a1b2c3d4e5f60718" and first["spec_version"] == 1
    assert first["evidence"]["dsr"] == 0.96 and first["evidence"]["oos_profit_factor"] is None
    retired = rows["dep-0011223344556677-1"]
    assert retired["status"] == "retired" and retired["retired_at"].endswith("+05:30")
    assert retired["retire_reason"] == "below the gate on new data"


def test_ls_without_deployments_says_so() -> None:
    result = _invoke("deployments", "ls")

    assert result.exit_code == 0, result.output
    assert "no active deployments" in result.output


def test_retire_retires_with_the_reason(deployed: list[Deployment]) -> None:
    result = _invoke("deployments", "retire", deployed[0].id, "--reason", "drawdown in paper")

    assert result.exit_code == 0, result.output
    assert f"retired {deployed[0].id}" in result.output
    stored = _stored(deployed[0].id)
    assert stored is not None and stored.status == "retired"
    assert stored.retire_reason == "drawdown in paper"


def test_retire_needs_a_reason(deployed: list[Deployment]) -> None:
    missing = _invoke("deployments", "retire", deployed[0].id)
    empty = _invoke("deployments", "retire", deployed[0].id, "--reason", " ")

    assert missing.exit_code == 2 and "--reason" in missing.output
    assert isinstance(empty.exception, UserError) and "reason is required" in str(empty.exception)
    assert _stored(deployed[0].id) == deployed[0]


def test_retire_of_an_unknown_id_names_it_and_the_active_ones(deployed: list[Deployment]) -> None:
    result = _invoke("deployments", "retire", "dep-a1b2c3d4e5f60718-9", "--reason", "x")

    assert isinstance(result.exception, NotFoundError)
    message = str(result.exception)
    assert "dep-a1b2c3d4e5f60718-9" in message
    assert "Did you mean dep-a1b2c3d4e5f60718-1?" in message
    assert f"Active deployments: {deployed[0].id}, {deployed[1].id}" in message


def test_retire_of_a_retired_deployment_says_so() -> None:
    store = stores.deployment_store(load_settings())
    try:
        added = store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)
        store.retire(added.id, "first", DEPLOYED_AT)
    finally:
        store.close()

    result = _invoke("deployments", "retire", added.id, "--reason", "again")

    assert isinstance(result.exception, UserError)
    assert "already retired" in str(result.exception) and "first" in str(result.exception)


def test_promote_without_every_live_switch_is_refused_naming_them_and_changes_nothing(
    deployed: list[Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_TRADING_MODE", "live")  # the other three switches missing

    result = _invoke("deployments", "promote", deployed[0].id, "--live")

    assert isinstance(result.exception, TradingRefusedError)
    message = str(result.exception)
    assert "TRADELOOP_DHAN_CLIENT_ID" in message and "TRADELOOP_LIVE_CONFIRM" in message
    assert "TRADELOOP_TRADING_MODE" not in message  # that one is set
    assert _stored(deployed[0].id) == deployed[0]


def test_promote_needs_the_explicit_live_flag(
    deployed: list[Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LIVE_SWITCHES.items():
        monkeypatch.setenv(name, value)

    result = _invoke("deployments", "promote", deployed[0].id)

    assert result.exit_code == 2 and "--live" in result.output
    assert _stored(deployed[0].id) == deployed[0]


def test_promote_with_every_live_switch_moves_the_paper_deployment_to_live(
    deployed: list[Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LIVE_SWITCHES.items():
        monkeypatch.setenv(name, value)

    result = _invoke("deployments", "promote", deployed[0].id, "--live")

    assert result.exit_code == 0, result.output
    assert "is now live" in result.output
    assert "token-for-tests" not in result.output
    stored = _stored(deployed[0].id)
    assert stored is not None and stored.mode == "live" and stored.promoted_at is not None
    assert _stored(deployed[1].id) == deployed[1]

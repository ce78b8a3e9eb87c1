"""`positions`, `orders`, `trades`, `kill-switch status` and `live check` as a trader reads them
at 80 columns (every id and time whole, never "…") and as a script reads them (`--json`)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

import pytest
from typer.testing import CliRunner

from support.paper_day import record_paper_day
from tradeloop.cli import app
from tradeloop.domain.execution.orders import OrderIntent
from tradeloop.domain.market.calendar import ist_datetime

DAY = date(2026, 1, 6)
WIDTHS = (80, 120)


@pytest.fixture
def paper_day() -> OrderIntent:
    return record_paper_day(DAY)


def _run(width: int, *args: str) -> str:
    outcome = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)})
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def _fits(text: str, width: int) -> None:
    assert "…" not in text
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("width", WIDTHS)
def test_positions_fit_the_terminal_with_every_id_whole(paper_day: OrderIntent, width: int) -> None:
    text = _run(width, "positions", "--day", DAY.isoformat())
    print(text)
    _fits(text, width)
    assert paper_day.id in text and paper_day.strategy_id in text
    for cell in ("CLOSED", "target", "REJECTED", "09:31:00", "24,250.00", "23,900.00", "long 65"):
        assert cell in text
    assert "stop loss is required" in text  # the refused entry's reason, under the table


@pytest.mark.parametrize("width", WIDTHS)
def test_orders_fit_the_terminal_with_every_id_whole(paper_day: OrderIntent, width: int) -> None:
    text = _run(width, "orders", "--day", DAY.isoformat())
    print(text)
    _fits(text, width)
    assert paper_day.id in text and paper_day.strategy_id in text
    assert "a stop loss is required" in text  # the refusal's reason
    # the target was the broker's leg of the entry's super order: no exit order of our own
    for cell in ("FILLED", "BUY 65", "65 @ 24,000.00", "refused (nothing sent", "09:33:00"):
        assert cell in text


@pytest.mark.parametrize("width", WIDTHS)
def test_trades_fit_the_terminal_with_times_in_ist_and_money_in_rupees(
    paper_day: OrderIntent, width: int
) -> None:
    text = _run(width, "trades", "--day", DAY.isoformat())
    print(text)
    _fits(text, width)
    assert paper_day.strategy_id in text
    for cell in ("09:31:00", "09:32:00", "24,000.00", "24,250.00", "target", "₹15,315.75"):
        assert cell in text
    assert "net P&L ₹15,315.75 over 1 trade(s) (1 won, 0 lost), charges ₹934.25" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_kill_switch_status_and_live_check_fit_the_terminal(
    paper_day: OrderIntent, width: int
) -> None:
    status = _run(width, "kill-switch", "status")
    print(status)
    _fits(status, width)
    assert "the feed froze at 09:40 and the quotes stopped moving" in " ".join(status.split())
    check = CliRunner().invoke(app, ["live", "check"], env={"COLUMNS": str(width)})
    print(check.output)
    assert check.exit_code == 1
    _fits(check.output, width)
    assert "TRADELOOP_LIVE_CONFIRM" in check.output


def _json(*args: str, code: int = 0) -> dict[str, Any]:
    outcome = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    assert outcome.exit_code == code, outcome.output
    return json.loads(outcome.stdout)  # the whole output: no banner, no table


def test_trades_json_has_iso_times_with_the_ist_offset_and_numbers(paper_day: OrderIntent) -> None:
    payload = _json("trades", "--day", DAY.isoformat(), "--json")

    assert (payload["mode"], payload["day"]) == ("paper", "2026-01-06")
    [trade] = payload["trades"]
    assert trade["position_id"] == paper_day.id and trade["side"] == "long"
    assert trade["entry_time"] == "2026-01-06T09:31:00+05:30"
    assert datetime.fromisoformat(trade["exit_time"]) == ist_datetime(DAY, time(9, 32))
    assert (trade["entry_price"], trade["exit_price"], trade["quantity"]) == (
        24_000.0,
        24_250.0,
        65,
    )
    assert trade["exit_reason"] == "target"
    assert payload["net_pnl"] == pytest.approx(15_315.75) == trade["net_pnl"]
    assert payload["costs"] == pytest.approx(934.25)


def test_positions_and_orders_json_carry_every_record(paper_day: OrderIntent) -> None:
    positions = _json("positions", "--day", DAY.isoformat(), "--json")
    orders = _json("orders", "--day", DAY.isoformat(), "--json")

    states = {p["position_id"]: p["state"] for p in positions["positions"]}
    assert states[paper_day.id] == "CLOSED" and sorted(states.values()) == ["CLOSED", "REJECTED"]
    closed = next(p for p in positions["positions"] if p["position_id"] == paper_day.id)
    assert closed["opened_at"] == "2026-01-06T09:31:00+05:30" and closed["stop"] == 23_900.0
    [order] = orders["orders"]
    assert order["intent_id"] == paper_day.id and order["status"] == "FILLED"
    assert order["average_price"] == 24_000.0 and order["intent"]["side"] == "BUY"
    [refusal] = orders["refusals"]
    assert refusal["at"] == "2026-01-06T09:33:00+05:30"
    assert any("stop loss is required" in reason for reason in refusal["reasons"])


def test_kill_switch_status_and_live_check_json(
    paper_day: OrderIntent, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = _json("kill-switch", "status", "--json")
    assert status["mode"] == "paper" and status["kill_switch"]["engaged"] is False
    assert [entry["engaged"] for entry in status["history"]] == [True, False]
    assert status["history"][0]["changed_at"] == "2026-01-06T09:40:00+05:30"

    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", "tok-SECRET-123")
    check = _json("live", "check", "--json", code=1)  # refused: exit 1, as without --json
    assert (check["requested"], check["mode"], check["live_allowed"]) == ("paper", "paper", False)
    switches = {switch["variable"]: switch for switch in check["switches"]}
    assert switches["TRADELOOP_DHAN_ACCESS_TOKEN"]["state"] == "set"
    assert "tok-SECRET-123" not in json.dumps(check)

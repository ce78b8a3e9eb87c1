"""The agent's turns in a managed paper day: it trades through the order tools on the day's own
order path, its refusals come back with their reasons, and its positions are managed to their
exits like the strategies' own."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from support.ollama_server import FakeOllamaServer
from support.records import passed_record
from tradeloop.agent.runlog import read_run
from tradeloop.app import stores
from tradeloop.app.day_agent import DayAgentConfig
from tradeloop.app.manage import manage_paper_day
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.positions.model import PositionState
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.flows.manage import day_report
from tradeloop.settings import load_settings

DAY = date(2025, 3, 5)
SPEC = next(
    s
    for s in random_specs(11, 40, "NIFTY", "5m")
    if s.instrument.kind != "option" and s.direction in ("long", "short")
)


@pytest.fixture
def deployed() -> str:
    settings = load_settings()
    market = generate_market("NIFTY", days=30, start=date(2025, 2, 3), seed=21)
    stores.candle_store(settings).write(market.candles)
    store = stores.deployment_store(settings)
    try:
        at = datetime(2025, 3, 4, tzinfo=UTC)
        return store.add(passed_record(SPEC), run_id="t", mode="paper", at=at).id
    finally:
        store.close()


def _script(deployment_id: str) -> list[dict[str, Any]]:
    order = {"deployment_id": deployment_id, "direction": SPEC.direction}
    return [
        {"tool": "positions", "args": {}},
        {"tool": "market_snapshot", "args": {"symbol": "NIFTY"}},
        {"tool": "place_order", "args": order},
        {"tool": "place_order", "args": order},
        {"tool": "finish", "args": {"summary": "looked, and placed what the market allowed"}},
    ]


def test_the_agent_trades_through_the_tools_and_its_positions_are_managed(
    deployed: str,
) -> None:
    settings = load_settings()
    agent = DayAgentConfig(planner="scripted", script=_script(deployed), every_minutes=60)

    summary = manage_paper_day(settings, DAY, source="store", agent=agent.options(settings))

    # A turn every hour of the session, each after a bar: 09:20, 10:20, ... 15:20 IST.
    turns = summary.agent_turns
    assert [f"{t.at.astimezone(UTC):%H:%M}" for t in turns] == [
        "03:50", "04:50", "05:50", "06:50", "07:50", "08:50", "09:50"
    ]  # fmt: skip
    assert all(t.outcome == "done" and t.steps == 5 for t in turns)
    placed = sum(t.orders_placed for t in turns)
    assert placed >= 1
    reasons = [reason for t in turns for reason in t.refusals]
    # The second call of a turn that placed one is refused: one position per deployment.
    assert any("already has position" in reason for reason in reasons)
    # After 15:00 IST every entry is refused by the risk manager, with its reason.
    assert any("outside the entry window" in reason for reason in turns[-1].refusals)

    ledger = stores.ledger(settings)
    try:
        agents = [
            p
            for p in ledger.positions(DAY)
            if p.entry_intent.reason.startswith("agent: place_order")
        ]
        assert len(agents) == placed
        assert all(p.state is PositionState.CLOSED for p in agents)  # managed to an exit
        assert not ledger.positions(DAY, active_only=True)
        closed = {p.position_id for p in agents}
        assert closed <= {t.position_id for t in summary.trades}
    finally:
        ledger.close()
    # Each turn is a recorded agent run; the day's report lists them.
    run = read_run(settings.agent_runs_dir / f"{turns[0].run_id}.jsonl")
    assert [s.call.tool for s in run.steps if s.call is not None][:3] == [
        "positions", "market_snapshot", "place_order"
    ]  # fmt: skip
    assert "## The agent's turns" in day_report(summary)


def test_a_scripted_agent_needs_its_script() -> None:
    with pytest.raises(ValueError, match="the scripted planner needs a script"):
        DayAgentConfig(planner="scripted")


def test_the_local_model_plans_the_turn_over_ollamas_chat_api(
    deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ollama client against a loopback server speaking /api/chat: the model's reply
    becomes the call, the tool's result goes back to it, and its order is placed."""
    order = {"deployment_id": deployed, "direction": SPEC.direction}
    replies = [
        json.dumps({"tool": "place_order", "args": order}),
        json.dumps({"tool": "finish", "args": {"summary": "one entry placed"}}),
    ]
    with FakeOllamaServer(replies, model="test-model:latest") as server:
        monkeypatch.setenv("TRADELOOP_OLLAMA_HOST", server.host)
        monkeypatch.setenv("TRADELOOP_OLLAMA_MODEL", "test-model:latest")
        settings = load_settings()
        agent = DayAgentConfig(planner="ollama", every_minutes=375)  # one turn, at 09:20
        summary = manage_paper_day(settings, DAY, source="store", agent=agent.options(settings))

    (turn,) = summary.agent_turns
    assert (turn.outcome, turn.steps, turn.orders_placed) == ("done", 2, 1)
    first = json.dumps(server.chat_requests[0])
    assert "09:20 IST on 2025-03-05" in first and "place_order" in first
    assert any(t.strategy_id == deployed for t in summary.trades)

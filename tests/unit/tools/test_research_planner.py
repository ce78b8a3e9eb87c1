"""The rule-based planner driving a research session end to end through the AgentRunner."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from pydantic import JsonValue
from research_tool_helpers import no_sleep, payload

from tradeloop.agent import (
    AgentContext,
    AgentRun,
    AgentRunner,
    Executor,
    ShortTermMemory,
    ToolCall,
    ToolRegistry,
    read_run,
    replay,
)
from tradeloop.app import stores
from tradeloop.app.agent import tool_registry
from tradeloop.app.options import chain_at
from tradeloop.app.research import research_context
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.settings import Settings
from tradeloop.storage.candles import InMemoryCandleStore
from tradeloop.storage.memory import InMemoryStrategyMemory
from tradeloop.tools import default_registry
from tradeloop.tools.planner import ResearchPlanner
from tradeloop.tools.session import ResearchSession


def research(
    settings: Settings,
    run_id: str,
    max_steps: int = 9,
    context: dict[str, JsonValue] | None = None,
    registry: ToolRegistry | None = None,
) -> AgentRun:
    tools = registry if registry is not None else tool_registry(settings, run_id)
    runner = AgentRunner(
        ResearchPlanner(),
        tools,
        executor=Executor(sleep=no_sleep),
        max_steps=max_steps,
        run_dir=settings.agent_runs_dir,
    )
    return runner.run("find the best NIFTY strategy", context or {"seed": 7}, run_id=run_id)


def tools_called(run: AgentRun) -> list[str]:
    return [step.call.tool for step in run.steps if step.call is not None]


def test_a_research_session_ends_done_with_only_valid_calls(stored: Settings) -> None:
    run = research(stored, "run-a", max_steps=9)
    assert run.outcome == "done"
    assert tools_called(run) == [
        "best_strategies",
        *["validate_strategy", "backtest_strategy"] * 3,
        "finish",
    ]
    for step in run.steps:  # every proposal was a known tool with valid arguments, and ran
        assert step.error is None and step.executed and step.result is not None
        assert step.result.status in ("ok", "done"), step.result
    summary = str(payload(run.final_result)["summary"])
    assert "Backtested 3 strategies on NIFTY" in summary


def test_the_finish_names_the_best_backtested_spec(stored: Settings) -> None:
    run = research(stored, "run-b", max_steps=9)
    results = [
        payload(step.result)
        for step in run.steps
        if step.call is not None and step.call.tool == "backtest_strategy"
    ]
    # Best score, then best out-of-sample net P&L, then the smallest id (a tie is possible).
    best = min(
        results,
        key=lambda data: (-data["score"], -data["out_of_sample"]["net_pnl"], data["spec_id"]),
    )
    assert payload(run.final_result)["best_spec_id"] == best["spec_id"]
    assert str(best["spec_id"]) in str(payload(run.final_result)["summary"])


def test_replay_of_a_research_run_reproduces_every_deterministic_result(
    stored: Settings,
) -> None:
    run = research(stored, "run-c", max_steps=7)
    assert run.run_file is not None
    report = replay(run.run_file, tool_registry(stored), executor=Executor(sleep=no_sleep))
    assert report.identical, report.differences
    statuses = [item.status for item in report.comparisons]
    # best_strategies reads memory that the run itself changes: listed, not compared.
    assert statuses[0] == "skipped" and statuses.count("same") == len(statuses) - 1
    # Replaying remembered nothing more: the run's own backtests only.
    assert {record.run_id for record in stores.strategy_memory(stored).best(100)} == {"run-c"}


def test_the_next_session_builds_on_the_remembered_best(stored: Settings) -> None:
    research(stored, "run-first", max_steps=9)
    second = research(stored, "run-second", max_steps=9)
    assert second.outcome == "done"
    called = tools_called(second)
    assert called[:2] == ["best_strategies", "strategy_details"]
    best_id = payload(second.steps[0].result)["strategies"][0]["spec_id"]
    assert second.steps[1].call == ToolCall(tool="strategy_details", args={"spec_id": best_id})
    tested = [
        str(payload(step.result)["name"])
        for step in second.steps
        if step.call is not None and step.call.tool == "backtest_strategy"
    ]
    assert any("~" in name for name in tested), tested  # neighbours of the best
    assert "near " in str(payload(second.final_result)["summary"])


@pytest.mark.parametrize("max_steps", [1, 2, 3, 4, 6])
def test_a_small_step_budget_still_ends_with_finish(stored: Settings, max_steps: int) -> None:
    run = research(stored, f"run-budget-{max_steps}", max_steps=max_steps)
    assert run.outcome == "done"
    assert len(run.steps) <= max_steps
    assert tools_called(run)[-1] == "finish"
    # A validation is always followed by its backtest.
    called = tools_called(run)
    for index, name in enumerate(called):
        if name == "validate_strategy":
            assert called[index + 1] == "backtest_strategy"


def test_without_candles_the_planner_stops_and_says_how_to_get_them(settings: Settings) -> None:
    run = research(settings, "run-empty", max_steps=12)
    assert run.outcome == "done"
    assert tools_called(run) == [
        "best_strategies",
        "validate_strategy",
        "backtest_strategy",
        "finish",
    ]
    summary = str(payload(run.final_result)["summary"])
    assert "No strategy for NIFTY was backtested" in summary
    assert "tradeloop data synth --symbol NIFTY" in summary


def test_an_unknown_symbol_in_the_context_finishes_at_once(stored: Settings) -> None:
    run = research(stored, "run-sensex", context={"symbol": "SENSEX"})
    assert tools_called(run) == ["finish"]
    assert "unknown index 'SENSEX'" in str(payload(run.final_result)["summary"])


def test_the_same_seed_gives_the_same_session_and_another_seed_another(
    stored: Settings, nifty_candles: pl.DataFrame
) -> None:
    def calls(seed: int, run_id: str) -> list[str]:
        candles = InMemoryCandleStore(NSECalendar.default())
        candles.write(nifty_candles)
        context = replace(research_context(stored), candles=candles)
        session = ResearchSession(
            context,
            InMemoryStrategyMemory(),
            run_id=run_id,
            option_chain=partial(chain_at, stored),
        )
        registry = default_registry(session)
        run = research(stored, run_id, max_steps=5, context={"seed": seed}, registry=registry)
        return [step.planner_raw or "" for step in run.steps]

    first, again = calls(7, "seed-a"), calls(7, "seed-b")
    assert first == again
    assert calls(9, "seed-c") != first


def test_planning_a_step_twice_proposes_the_same_call(stored: Settings) -> None:
    run = research(stored, "run-d", max_steps=5)
    planner = ResearchPlanner()
    memory = ShortTermMemory()
    for step in run.steps:
        context = AgentContext(
            run_id="run-d", goal="g", context={"seed": 7}, step_index=step.index, max_steps=5
        )
        once = planner.next_step(context, memory)
        twice = planner.next_step(context, memory)  # a retried step
        assert once.call == twice.call == step.call
        memory.add(step)


def test_the_run_file_records_the_planner_and_every_call(stored: Settings) -> None:
    run = research(stored, "run-e", max_steps=5)
    assert run.run_file is not None and Path(run.run_file).is_file()
    recorded = read_run(run.run_file)
    assert recorded.header.planner == "rules"
    assert [step.call for step in recorded.steps] == [step.call for step in run.steps]

"""Replay: recorded calls re-executed without a model, differences reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import Calls, make_tools, runner_for

from tradeloop.agent import ToolRegistry, replay, tool
from tradeloop.agent.tool import FunctionTool

ADD = {"tool": "add", "args": {"a": 2, "b": 3}}
ORDER = {"tool": "place_order", "args": {"quantity": 5}}
FINISH = {"tool": "finish", "args": {"summary": "done"}}


def record(registry: ToolRegistry, tmp_path: Path, script: list) -> Path:
    run = runner_for(script, registry, run_dir=tmp_path).run("goal")
    assert run.run_file is not None
    return run.run_file


def test_replay_of_deterministic_tools_reproduces_identical_results(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    path = record(registry, tmp_path, [ADD, {"tool": "ad", "args": {}}, FINISH])
    report = replay(path, registry)
    assert report.identical
    assert [item.status for item in report.comparisons] == ["same", "skipped", "same"]
    assert report.comparisons[0].replayed == report.comparisons[0].recorded


def test_a_changed_tool_is_reported_as_a_difference(registry: ToolRegistry, tmp_path: Path) -> None:
    path = record(registry, tmp_path, [ADD, FINISH])

    @tool(name="add")
    def changed_add(a: int, b: int) -> dict[str, int]:
        """Add two integers, now wrongly.

        Args:
            a: The first integer.
            b: The second integer.
        """
        return {"sum": a + b + 1}

    changed = ToolRegistry(
        [changed_add if each.name == "add" else each for each in make_tools(Calls())]
    )
    report = replay(path, changed)
    assert not report.identical
    (difference,) = report.differences
    assert difference.index == 0 and difference.tool == "add"
    assert difference.recorded is not None and difference.recorded.data == {"sum": 5}
    assert difference.replayed is not None and difference.replayed.data == {"sum": 6}


def test_a_tool_that_acts_is_never_replayed(
    registry: ToolRegistry, calls: Calls, tmp_path: Path
) -> None:
    path = record(registry, tmp_path, [ORDER, FINISH])
    assert calls["place_order"] == 1
    report = replay(path, registry)
    assert calls["place_order"] == 1
    assert report.comparisons[0].status == "skipped"
    assert "not idempotent" in report.comparisons[0].note
    assert report.identical


def test_results_of_non_deterministic_tools_are_not_compared(tmp_path: Path) -> None:
    ticks = iter(range(100))

    @tool(deterministic=False)
    def tick() -> int:
        """The next tick."""
        return next(ticks)

    registry = ToolRegistry(
        [tick, *[each for each in make_tools(Calls()) if each.name == "finish"]]
    )
    path = record(registry, tmp_path, [{"tool": "tick", "args": {}}, FINISH])
    report = replay(path, registry)
    assert report.comparisons[0].status == "skipped" and report.identical


def test_a_tool_that_is_gone_or_whose_schema_changed_is_a_difference(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    path = record(registry, tmp_path, [ADD, FINISH])
    finish_only = ToolRegistry([each for each in make_tools(Calls()) if each.name == "finish"])
    gone = replay(path, finish_only).differences
    assert [item.note for item in gone] == ["tool 'add' is no longer registered"]

    @tool(name="add")
    def renamed_args(x: int, y: int) -> int:
        """Add.

        Args:
            x: First.
            y: Second.
        """
        return x + y

    finish = [each for each in make_tools(Calls()) if each.name == "finish"]
    changed: list[FunctionTool] = [renamed_args, *finish]  # type: ignore[list-item]
    (difference,) = replay(path, ToolRegistry(changed)).differences
    assert "recorded arguments are now invalid" in difference.note


def test_replay_of_a_crashed_run_compares_the_steps_before_and_skips_the_crash(
    registry: ToolRegistry, calls: Calls, tmp_path: Path
) -> None:
    explode = {"tool": "explode", "args": {"message": "close"}}
    with pytest.raises(KeyError):
        runner_for([ADD, explode], registry, run_dir=tmp_path).run("goal", run_id="crashed")
    report = replay(tmp_path / "crashed.jsonl", registry)
    assert [item.status for item in report.comparisons] == ["same", "skipped"]
    assert report.comparisons[1].note == (
        "the run crashed in this step (KeyError): see its run file's traceback"
    )
    assert calls["explode"] == 1  # the crash was not run again

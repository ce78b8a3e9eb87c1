"""Invariants of the agent loop, driven by a scripted planner."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agent_helpers import Calls, runner_for

from tradeloop.agent import (
    AgentContext,
    AgentRunner,
    Executor,
    ScriptedPlanner,
    ShortTermMemory,
    StepRecord,
    ToolRegistry,
    ValidatorDecision,
    read_run,
)
from tradeloop.agent.records import JsonObject

ADD = {"tool": "add", "args": {"a": 1, "b": 2}}
FINISH = {"tool": "finish", "args": {"summary": "done"}}


def adding(context: AgentContext, memory: ShortTermMemory) -> dict:
    """Never finishes; a new call each step so no loop is detected."""
    return {"tool": "add", "args": {"a": context.step_index, "b": 0}}


def test_a_done_result_ends_the_run(registry: ToolRegistry, calls: Calls) -> None:
    run = runner_for([ADD, FINISH, ADD], registry).run("add then finish")
    assert run.outcome == "done"
    assert len(run.steps) == 2
    assert run.final_result is not None and run.final_result.data == {"summary": "done"}
    assert run.error is None
    assert (calls["add"], calls["finish"]) == (1, 1)


def test_max_steps_ends_the_run_with_its_record(registry: ToolRegistry, calls: Calls) -> None:
    run = runner_for(ScriptedPlanner(adding), registry, max_steps=4).run("add forever")
    assert run.outcome == "max_steps"
    assert len(run.steps) == 4
    assert calls["add"] == 4
    assert run.error == "stopped after 4 step(s) without a terminal result"
    assert run.final_result is None


def test_the_same_call_three_times_in_a_row_is_a_loop_and_the_third_is_not_run(
    registry: ToolRegistry, calls: Calls
) -> None:
    run = runner_for([ADD, ADD, ADD, FINISH], registry).run("loop")
    assert run.outcome == "loop_detected"
    assert len(run.steps) == 3
    assert calls["add"] == 2
    last = run.steps[-1]
    assert last.result is None and last.stop == "loop_detected"
    assert last.error is not None and "proposed 3 times in a row" in last.error


def test_the_same_call_with_reordered_arguments_counts_as_a_repeat(registry: ToolRegistry) -> None:
    reordered = {"tool": "add", "args": {"b": 2, "a": 1}}
    run = runner_for([ADD, reordered, ADD], registry).run("loop")
    assert run.outcome == "loop_detected"


def test_a_different_call_in_between_resets_the_loop_count(
    registry: ToolRegistry, calls: Calls
) -> None:
    other = {"tool": "add", "args": {"a": 5, "b": 5}}
    run = runner_for([ADD, ADD, other, ADD, ADD, FINISH], registry).run("no loop")
    assert run.outcome == "done"
    assert calls["add"] == 5


def test_loop_limit_is_configurable(registry: ToolRegistry, calls: Calls) -> None:
    run = runner_for([ADD, ADD, FINISH], registry, loop_limit=2).run("loop")
    assert run.outcome == "loop_detected" and calls["add"] == 1


@pytest.mark.parametrize(
    "bad_call",
    [
        {"tool": "ad", "args": {"a": 1, "b": 2}},
        {"tool": "add", "args": {"a": "one", "b": 2}},
        {"tool": "add", "args": {"a": 1}},
        {"tool": "place_order", "args": {"quantity": 1, "stop_loss": 0}},
        "I would like to place an order please",
        '{"tool": "place_order", "args": {"quantity": 1',
    ],
)
def test_an_unknown_tool_or_invalid_args_are_never_executed(
    registry: ToolRegistry, calls: Calls, bad_call: object
) -> None:
    run = runner_for([bad_call, FINISH], registry).run("try a bad call")
    assert run.outcome == "done"
    rejected = run.steps[0]
    assert rejected.error and rejected.result is None and rejected.executed_args is None
    assert (calls["add"], calls["place_order"]) == (0, 0)


def test_a_rejected_reply_is_fed_back_to_the_planner(registry: ToolRegistry) -> None:
    seen: list[str] = []

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        seen.append(memory.render())
        return {"tool": "ad", "args": {}} if context.step_index == 0 else FINISH

    runner_for(ScriptedPlanner(planner), registry).run("goal")
    assert (
        "Step 1: ad {}\n  -> rejected, not run: unknown tool 'ad'. Did you mean 'add'?" in seen[1]
    )


def test_a_validator_refusal_is_recorded_and_fed_back(registry: ToolRegistry, calls: Calls) -> None:
    def risk(name: str, args: JsonObject) -> ValidatorDecision:
        if name == "place_order" and isinstance(args["quantity"], int) and args["quantity"] > 10:
            return ValidatorDecision.refuse("quantity 50 is above the limit of 10")
        return ValidatorDecision.approve()

    seen: list[str] = []

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        seen.append(memory.render())
        if context.step_index == 0:
            return {"tool": "place_order", "args": {"quantity": 50}}
        if context.step_index == 1:
            return {"tool": "place_order", "args": {"quantity": 10}}
        return FINISH

    executor = Executor(validator=risk)
    run = runner_for(ScriptedPlanner(planner), registry, executor=executor).run("order")
    refused, approved = run.steps[0], run.steps[1]
    assert refused.validator is not None and not refused.validator.approved
    assert refused.validator.reasons == ("quantity 50 is above the limit of 10",)
    assert refused.executed_args is None
    assert "refused by the validator: quantity 50 is above the limit of 10" in seen[1]
    assert approved.validator is not None and approved.validator.approved
    assert calls["place_order"] == 1


def test_tool_exceptions_do_not_kill_the_run(registry: ToolRegistry, calls: Calls) -> None:
    failing = {"tool": "explode", "args": {"message": "disk on fire"}}
    run = runner_for([failing, FINISH], registry).run("survive")
    assert run.outcome == "done"
    result = run.steps[0].result
    assert result is not None and result.error is not None and result.error.type == "KeyError"


def test_planner_error_ends_the_run_and_keeps_the_record(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    run = runner_for([ADD], registry, run_dir=tmp_path).run("script too short")
    assert run.outcome == "planner_error"
    assert run.steps[-1].error_type == "PlannerStepError"
    assert run.error is not None and "the script has 1 step(s)" in run.error
    recorded = read_run(tmp_path / f"{run.run_id}.jsonl")
    assert recorded.outcome == "planner_error"
    assert len(recorded.steps) == 2


def test_steps_are_written_as_they_complete(registry: ToolRegistry, tmp_path: Path) -> None:
    lines_seen: list[int] = []

    def count_lines(index: int, perform: Callable[[], StepRecord]) -> StepRecord:
        files = list(tmp_path.glob("*.jsonl"))
        lines_seen.append(len(files[0].read_text().splitlines()))
        return perform()

    runner_for([ADD, FINISH], registry, run_dir=tmp_path, on_step=count_lines).run("goal")
    assert lines_seen == [1, 2]  # the header, then the header and the first step


def test_on_step_wraps_every_step(registry: ToolRegistry) -> None:
    wrapped: list[int] = []

    def wrap(index: int, perform: Callable[[], StepRecord]) -> StepRecord:
        wrapped.append(index)
        return perform()

    run = runner_for([ADD, FINISH], registry, on_step=wrap).run("goal")
    assert wrapped == [0, 1] and run.outcome == "done"


def test_a_runtime_bug_raises_and_the_file_says_crashed(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    def broken(index: int, perform: Callable[[], StepRecord]) -> StepRecord:
        if index == 1:
            raise RuntimeError("bug in the hook")
        return perform()

    with pytest.raises(RuntimeError, match="bug in the hook"):
        runner_for([ADD, FINISH], registry, run_dir=tmp_path, on_step=broken).run("goal")
    (path,) = tmp_path.glob("*.jsonl")
    recorded = read_run(path)
    assert recorded.outcome == "crashed"
    assert len(recorded.steps) == 1
    assert recorded.footer is not None and recorded.footer.error == "RuntimeError: bug in the hook"


def test_durations_come_from_the_injected_clock(registry: ToolRegistry) -> None:
    ticks = iter(range(1000))
    run = runner_for([ADD, FINISH], registry, clock=lambda: float(next(ticks))).run("goal")
    assert all(step.step_seconds > 0 and step.step_seconds.is_integer() for step in run.steps)
    assert run.duration_seconds.is_integer()


def test_run_metadata_comes_from_the_injected_wall_clock(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    moment = datetime(2025, 1, 2, 3, 45, tzinfo=UTC)
    run = runner_for([FINISH], registry, run_dir=tmp_path, now=lambda: moment).run(
        "goal", {"symbol": "NIFTY"}
    )
    assert run.run_id.startswith("20250102T034500Z-")
    assert run.started_at == moment and run.context == {"symbol": "NIFTY"}
    header = json.loads((tmp_path / f"{run.run_id}.jsonl").read_text().splitlines()[0])
    assert header["context"] == {"symbol": "NIFTY"}
    assert header["tools"] == ["add", "explode", "place_order", "finish"]


def test_the_planner_sees_goal_context_and_progress(registry: ToolRegistry) -> None:
    contexts: list[AgentContext] = []

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        contexts.append(context)
        return FINISH

    runner_for(ScriptedPlanner(planner), registry, max_steps=7).run("goal", {"k": 1}, run_id="r1")
    assert contexts[0] == AgentContext(
        run_id="r1", goal="goal", context={"k": 1}, step_index=0, max_steps=7
    )


def test_runner_refuses_limits_that_cannot_work(registry: ToolRegistry) -> None:
    planner = ScriptedPlanner([FINISH])
    with pytest.raises(ValueError, match="max_steps"):
        AgentRunner(planner, registry, max_steps=0)
    with pytest.raises(ValueError, match="loop_limit"):
        AgentRunner(planner, registry, loop_limit=1)


def test_a_run_id_is_never_reused(registry: ToolRegistry, tmp_path: Path) -> None:
    runner = runner_for([FINISH], registry, run_dir=tmp_path)
    runner.run("goal", run_id="fixed")
    with pytest.raises(FileExistsError):
        runner.run("goal", run_id="fixed")


def test_a_context_that_is_not_json_is_refused_before_anything_is_written(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="context"):
        runner_for([FINISH], registry, run_dir=tmp_path).run("goal", {"when": object()})  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []

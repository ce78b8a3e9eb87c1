"""Invariants of the agent loop, driven by a scripted planner."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agent_helpers import Calls, NoSleep, make_tools, runner_for

from tradeloop.agent import (
    AgentContext,
    AgentRunner,
    Executor,
    PlannerUnavailableError,
    ScriptedPlanner,
    ShortTermMemory,
    StepRecord,
    ToolRegistry,
    ValidatorDecision,
    read_run,
    tool,
)
from tradeloop.agent.records import JsonObject
from tradeloop.agent.redaction import REDACTED
from tradeloop.errors import ConfigError, TradingRefusedError

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


def test_a_repeated_call_is_fed_back_once_with_the_earlier_result_then_the_run_stops(
    registry: ToolRegistry, calls: Calls
) -> None:
    seen: list[str] = []

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        seen.append(memory.render())
        return ADD

    run = runner_for(ScriptedPlanner(planner), registry).run("loop")
    assert run.outcome == "loop_detected"
    assert len(run.steps) == 3
    assert calls["add"] == 1  # neither repeat was run
    fed_back = run.steps[1]
    assert fed_back.result is None and fed_back.stop is None
    assert fed_back.error_type == "RepeatedCall"
    assert fed_back.error == (
        'you already have this result (step 1): use it or finish. It was: ok: {"sum":3}. '
        "The same call again ends the run."
    )
    assert "-> rejected, not run: you already have this result (step 1)" in seen[2]
    last = run.steps[-1]
    assert last.result is None and last.stop == "loop_detected"
    assert last.error is not None and "proposed 3 times (first at step 1)" in last.error


def test_a_repeat_fed_back_then_a_finish_ends_done(registry: ToolRegistry, calls: Calls) -> None:
    run = runner_for([ADD, ADD, FINISH], registry).run("repeat once")
    assert run.outcome == "done" and calls["add"] == 1
    assert run.steps[1].error_type == "RepeatedCall"


def test_the_same_call_with_reordered_arguments_counts_as_a_repeat(registry: ToolRegistry) -> None:
    reordered = {"tool": "add", "args": {"b": 2, "a": 1}}
    run = runner_for([ADD, reordered, ADD], registry).run("loop")
    assert run.outcome == "loop_detected"


def test_a_repeat_of_an_older_step_is_caught_across_other_calls(
    registry: ToolRegistry, calls: Calls
) -> None:
    other = {"tool": "add", "args": {"a": 5, "b": 5}}
    run = runner_for([ADD, other, ADD, FINISH], registry).run("no loop")
    assert run.outcome == "done" and calls["add"] == 2
    assert run.steps[2].error is not None
    assert run.steps[2].error.startswith("you already have this result (step 1)")


def test_a_call_whose_result_may_change_is_a_repeat_only_right_after_itself(
    calls: Calls,
) -> None:
    @tool(deterministic=False, timeout_seconds=None)
    def quote_now(symbol: str) -> dict[str, str]:
        """A price that changes from one call to the next.

        Args:
            symbol: The index.
        """
        calls.counts["quote_now"] += 1
        return {"symbol": symbol}

    registry = ToolRegistry([quote_now, *make_tools(calls)])
    quote = {"tool": "quote_now", "args": {"symbol": "NIFTY"}}
    run = runner_for([quote, ADD, quote, quote, FINISH], registry).run("quotes")
    assert calls["quote_now"] == 2  # asked again after another call; not twice in a row
    assert run.steps[3].error_type == "RepeatedCall" and run.outcome == "done"


def test_a_retryable_failure_may_be_asked_for_again(registry: ToolRegistry, calls: Calls) -> None:
    quote = {"tool": "quote", "args": {"symbol": "NIFTY"}}
    run = runner_for([quote, quote, FINISH], registry).run("retry later")
    assert run.outcome == "done"
    assert calls["quote"] == 6  # two steps, each retried by the executor


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


def test_a_bug_in_a_tool_ends_the_run_crashed_with_the_traceback_in_the_run_file(
    registry: ToolRegistry, calls: Calls, tmp_path: Path
) -> None:
    explode = {"tool": "explode", "args": {"message": "close"}}
    runner = runner_for([ADD, explode, FINISH], registry, run_dir=tmp_path)
    with pytest.raises(KeyError, match="close") as raised:
        runner.run("crash on the second step", run_id="crashing")
    path = tmp_path / "crashing.jsonl"
    assert raised.value.__notes__ == [f"this is a bug in tradeloop; the traceback is in {path}"]
    assert (calls["explode"], calls["finish"]) == (1, 0)  # the run stopped at the bug

    recorded = read_run(path)
    assert recorded.outcome == "crashed"
    footer = recorded.footer
    assert footer is not None and footer.steps == 2
    assert (footer.error_type, footer.error) == ("KeyError", "KeyError: 'close'")
    assert footer.traceback is not None
    assert footer.traceback.startswith("Traceback (most recent call last):")
    assert "raise KeyError(message)" in footer.traceback
    assert footer.traceback.rstrip().endswith("KeyError: 'close'")
    added, crashed = recorded.steps
    assert added.result is not None and added.result.status == "ok"
    assert crashed.stop == "crashed" and crashed.error_type == "KeyError"
    assert crashed.call is not None and crashed.call.tool == "explode"
    assert crashed.validated_args == {"message": "close"} and crashed.result is None


def test_the_crash_traceback_in_the_run_file_is_redacted(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    leaking = {"tool": "explode", "args": {"message": "access_token=abc123secret"}}
    with pytest.raises(KeyError):
        runner_for([leaking], registry, run_dir=tmp_path).run("leak", run_id="leaking")
    footer_line = (tmp_path / "leaking.jsonl").read_text().splitlines()[-1]
    assert '"kind":"footer"' in footer_line and "abc123secret" not in footer_line
    footer = read_run(tmp_path / "leaking.jsonl").footer
    assert footer is not None and footer.traceback is not None and footer.error is not None
    assert f"access_token={REDACTED}" in footer.traceback
    assert f"access_token={REDACTED}" in footer.error


def test_a_crash_without_a_run_dir_is_raised_with_a_note_saying_no_file_was_kept(
    registry: ToolRegistry,
) -> None:
    explode = {"tool": "explode", "args": {"message": "close"}}
    with pytest.raises(KeyError) as raised:
        runner_for([explode], registry).run("crash", run_id="unrecorded")
    assert raised.value.__notes__ == [
        "agent run unrecorded crashed; it kept no run file (no run_dir)"
    ]


def test_an_operational_stop_in_a_tool_ends_the_run_crashed_and_is_raised_as_is(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    def refuse(name: str, args: JsonObject) -> ValidatorDecision:
        raise TradingRefusedError("the kill switch is on: trading is HALTED")

    executor = Executor(validator=refuse)
    runner = runner_for([ADD], registry, run_dir=tmp_path, executor=executor)
    with pytest.raises(TradingRefusedError, match="kill switch") as raised:
        runner.run("stopped", run_id="stopped")
    assert raised.value.__notes__ == [
        f"agent run stopped stopped; its record is in {tmp_path / 'stopped.jsonl'}"
    ]
    recorded = read_run(tmp_path / "stopped.jsonl")
    assert recorded.outcome == "crashed"
    assert recorded.steps[0].error_type == "TradingRefusedError"


def test_a_bug_in_the_planner_ends_the_run_crashed_and_records_the_step(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        if context.step_index == 1:
            raise AttributeError("'NoneType' object has no attribute 'score'")
        return ADD

    with pytest.raises(AttributeError):
        runner_for(ScriptedPlanner(planner), registry, run_dir=tmp_path).run("g", run_id="p")
    recorded = read_run(tmp_path / "p.jsonl")
    assert recorded.outcome == "crashed" and len(recorded.steps) == 2
    crashed = recorded.steps[1]
    assert crashed.stop == "crashed" and crashed.call is None
    assert crashed.error == "AttributeError: 'NoneType' object has no attribute 'score'"


def test_a_spec_error_from_a_tool_is_fed_back_to_the_model_at_the_next_step(
    registry: ToolRegistry, calls: Calls
) -> None:
    seen: list[str] = []

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        seen.append(memory.render())
        if context.step_index == 0:
            return {"tool": "check_spec", "args": {"period": 1}}
        if context.step_index == 1:
            return {"tool": "check_spec", "args": {"period": 14}}
        return FINISH

    run = runner_for(ScriptedPlanner(planner), registry).run("fix the spec")
    assert run.outcome == "done"
    assert (
        'Step 1: check_spec {"period":1}\n  -> error SpecError (not retryable): '
        "entry.period: 1 is below 2; use a period of 2 or more" in seen[1]
    )
    assert calls["check_spec"] == 2  # refused once, not retried, then run with the fix


def test_a_transient_tool_error_is_retried_then_fed_back_marked_retryable(
    registry: ToolRegistry, calls: Calls
) -> None:
    no_sleep = NoSleep()
    seen: list[str] = []

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        seen.append(memory.render())
        return {"tool": "quote", "args": {"symbol": "NIFTY"}} if context.step_index == 0 else FINISH

    executor = Executor(sleep=no_sleep, backoff_seconds=0.5)
    run = runner_for(ScriptedPlanner(planner), registry, executor=executor).run("quote")
    assert run.outcome == "done"
    step = run.steps[0]
    assert calls["quote"] == 3 and step.attempts == 3 and no_sleep.waits == [0.5, 1.0]
    assert step.result is not None and step.result.error is not None
    assert step.result.error.retryable
    assert "-> error TransientError (retryable): the quote service timed out for NIFTY" in seen[1]


def unavailable_then(step: dict, failures: int) -> Callable[[AgentContext, ShortTermMemory], dict]:
    """A planner whose model cannot be reached `failures` times in all, then proposes `step`."""
    remaining = [failures]

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        if remaining[0] > 0:
            remaining[0] -= 1
            raise PlannerUnavailableError("Ollama at http://127.0.0.1:1 failed: busy (HTTP 503)")
        return step

    return planner


def test_an_unavailable_planner_is_retried_with_backoff_and_the_retries_are_recorded(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    no_sleep = NoSleep()
    planner = ScriptedPlanner(unavailable_then(FINISH, failures=2))
    run = runner_for(planner, registry, run_dir=tmp_path, sleep=no_sleep).run("goal")
    assert run.outcome == "done"
    assert no_sleep.waits == [1.0, 2.0]
    retried = read_run(tmp_path / f"{run.run_id}.jsonl").steps[0].planner_retried
    assert (
        retried
        == ("PlannerUnavailableError: Ollama at http://127.0.0.1:1 failed: busy (HTTP 503)",) * 2
    )


def test_a_planner_still_unavailable_after_its_retries_ends_the_run_as_transient(
    registry: ToolRegistry, calls: Calls
) -> None:
    no_sleep = NoSleep()
    planner = ScriptedPlanner(unavailable_then(FINISH, failures=10))
    run = runner_for(planner, registry, sleep=no_sleep, planner_retries=3).run("goal")
    assert run.outcome == "planner_error"
    assert no_sleep.waits == [1.0, 2.0, 4.0]
    (step,) = run.steps
    assert step.error_type == "PlannerUnavailableError" and len(step.planner_retried) == 3
    assert run.error is not None
    assert "a transient failure, still there after 4 attempt(s)" in run.error
    assert calls.total == 0


def test_a_planner_config_error_ends_the_run_at_once_with_the_fix(registry: ToolRegistry) -> None:
    no_sleep = NoSleep()

    def planner(context: AgentContext, memory: ShortTermMemory) -> dict:
        raise ConfigError("model 'x' is not pulled on Ollama at http://h: run `ollama pull x`")

    run = runner_for(ScriptedPlanner(planner), registry, sleep=no_sleep).run("goal")
    assert run.outcome == "planner_error" and no_sleep.waits == []
    assert run.steps[0].error_type == "ConfigError"
    assert run.error == "model 'x' is not pulled on Ollama at http://h: run `ollama pull x`"


def test_an_interrupted_run_leaves_no_footer_and_reads_as_incomplete(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    def interrupt(index: int, perform: Callable[[], StepRecord]) -> StepRecord:
        if index == 1:
            raise KeyboardInterrupt
        return perform()

    with pytest.raises(KeyboardInterrupt):
        runner_for([ADD, FINISH], registry, run_dir=tmp_path, on_step=interrupt).run("g")
    (path,) = tmp_path.glob("*.jsonl")
    assert read_run(path).outcome == "incomplete"


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
    assert header["tools"] == ["add", "explode", "check_spec", "quote", "place_order", "finish"]


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
    with pytest.raises(ValueError, match="planner_retries"):
        AgentRunner(planner, registry, planner_retries=-1)


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

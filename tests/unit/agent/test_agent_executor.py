"""The executor: validator hook, timeouts, retries with backoff, and errors routed by who must
act (the model's mistakes and transient failures as results, our bugs raised)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from agent_helpers import Calls, NoSleep
from pydantic import BaseModel

from tradeloop.agent import Executor, Tool, ToolRegistry, ToolResult, ValidatorDecision
from tradeloop.agent.records import JsonObject
from tradeloop.errors import (
    ModelError,
    NotFoundError,
    SpecError,
    TradingRefusedError,
    TransientError,
)


class FlakyArgs(BaseModel):
    key: str = "k"


class Flaky(Tool[FlakyArgs]):
    """Fails with a scripted sequence of outcomes, then succeeds."""

    name = "flaky"
    description = "Fails a few times."
    Args = FlakyArgs

    def __init__(
        self, outcomes: list[ToolResult | BaseException], *, idempotent: bool = True
    ) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.idempotent = idempotent
        self.retry_limit = 2 if idempotent else 0

    def call(self, args: FlakyArgs) -> ToolResult:
        self.calls += 1
        outcome = self.outcomes[min(self.calls, len(self.outcomes)) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


RETRYABLE = ToolResult.failure("Busy", "try again", retryable=True)


def execute(executor: Executor, target: Tool, args: dict | None = None):  # type: ignore[no-untyped-def]
    registry = ToolRegistry([target])
    return executor.execute(registry.resolve({"tool": target.name, "args": args or {}}))


def test_retryable_errors_are_retried_with_backoff_up_to_the_limit(no_sleep: NoSleep) -> None:
    flaky = Flaky([RETRYABLE])
    execution = execute(Executor(sleep=no_sleep, backoff_seconds=0.5), flaky)
    assert flaky.calls == 3  # the first attempt and retry_limit=2 retries
    assert execution.attempts == 3
    assert execution.result == RETRYABLE  # the last error is fed back
    assert no_sleep.waits == [0.5, 1.0]


def test_retry_stops_at_the_first_success(no_sleep: NoSleep) -> None:
    flaky = Flaky([RETRYABLE, ToolResult.ok("fine")])
    execution = execute(Executor(sleep=no_sleep), flaky)
    assert (flaky.calls, execution.attempts, execution.result.data) == (2, 2, "fine")
    assert len(no_sleep.waits) == 1


def test_backoff_is_capped(no_sleep: NoSleep) -> None:
    executor = Executor(sleep=no_sleep, backoff_seconds=1.0, max_backoff_seconds=3.0)
    assert [executor.backoff(attempt) for attempt in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


def test_a_tool_that_is_not_idempotent_is_never_retried(no_sleep: NoSleep) -> None:
    flaky = Flaky([TransientError("gateway timeout")], idempotent=False)
    execution = execute(Executor(sleep=no_sleep), flaky)
    assert flaky.calls == 1
    assert execution.result.error is not None and execution.result.error.retryable
    assert no_sleep.waits == []


def test_transient_error_from_a_tool_is_a_retryable_result(no_sleep: NoSleep) -> None:
    flaky = Flaky([TransientError("rate limited"), ToolResult.ok(1)])
    execution = execute(Executor(sleep=no_sleep), flaky)
    assert flaky.calls == 2 and execution.result == ToolResult.ok(1)


def test_a_transient_error_that_lasts_is_fed_back_marked_retryable_after_the_retries(
    no_sleep: NoSleep,
) -> None:
    flaky = Flaky([TransientError("the quote service timed out")])
    execution = execute(Executor(sleep=no_sleep, backoff_seconds=0.5), flaky)
    assert flaky.calls == 3 and execution.attempts == 3
    assert execution.result == ToolResult.failure(
        "TransientError", "the quote service timed out", retryable=True
    )
    assert no_sleep.waits == [0.5, 1.0]


def test_non_retryable_error_is_not_retried(no_sleep: NoSleep) -> None:
    flaky = Flaky([ToolResult.failure("BadSymbol", "no such symbol")])
    execution = execute(Executor(sleep=no_sleep), flaky)
    assert flaky.calls == 1 and execution.attempts == 1


@pytest.mark.parametrize(
    "error",
    [
        SpecError("entry.period: 1 is below 2"),
        NotFoundError("no strategy 'abc'. Did you mean 'abd'?"),
        ModelError("the spec names no entry"),
    ],
)
def test_the_models_mistake_in_a_tool_is_an_error_result_not_retried(
    error: Exception, no_sleep: NoSleep
) -> None:
    flaky = Flaky([error])
    execution = execute(Executor(sleep=no_sleep), flaky)
    assert execution.result == ToolResult.failure(type(error).__name__, str(error))
    assert flaky.calls == 1 and no_sleep.waits == []


@pytest.mark.parametrize("timeout_seconds", [None, 5.0])
@pytest.mark.parametrize(
    "bug",
    [
        KeyError("close"),
        TypeError("unsupported operand"),
        AssertionError("fills out of order"),
        TradingRefusedError("the kill switch is on"),
    ],
)
def test_any_other_exception_from_a_tool_is_raised_not_fed_back(
    bug: Exception, timeout_seconds: float | None, no_sleep: NoSleep
) -> None:
    flaky = Flaky([bug])
    flaky.timeout_seconds = timeout_seconds  # in the caller's thread, and from a worker thread
    with pytest.raises(type(bug)) as raised:
        execute(Executor(sleep=no_sleep), flaky)
    assert raised.value is bug
    assert flaky.calls == 1 and no_sleep.waits == []


def test_a_bug_raised_from_the_worker_thread_keeps_the_tools_frame_in_its_traceback(
    registry: ToolRegistry, calls: Calls, no_sleep: NoSleep
) -> None:
    resolved = registry.resolve({"tool": "explode", "args": {"message": "boom"}})
    with pytest.raises(KeyError, match="boom") as raised:
        Executor(sleep=no_sleep).execute(resolved)
    assert raised.traceback[-1].name == "explode"
    assert calls["explode"] == 1


def test_a_tool_returning_something_else_than_a_result_is_a_bug_and_raises(
    no_sleep: NoSleep,
) -> None:
    flaky = Flaky([42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="tool 'flaky' returned int, not a ToolResult"):
        execute(Executor(sleep=no_sleep), flaky)


class BlockingArgs(BaseModel):
    pass


class Blocking(Tool[BlockingArgs]):
    """Blocks until released: the executor must stop waiting after the timeout."""

    name = "blocking"
    description = "Never finishes in time."
    Args = BlockingArgs
    timeout_seconds = 0.05

    def __init__(self, *, idempotent: bool = True) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.idempotent = idempotent
        self.retry_limit = 1 if idempotent else 0

    def call(self, args: BlockingArgs) -> ToolResult:
        self.calls += 1
        self.release.wait(10)
        return ToolResult.ok("late")


@pytest.fixture
def blocking() -> Iterator[Blocking]:
    tool = Blocking()
    yield tool
    tool.release.set()


def test_a_call_past_its_timeout_is_a_retryable_timeout_error(
    blocking: Blocking, no_sleep: NoSleep
) -> None:
    execution = execute(Executor(sleep=no_sleep), blocking)
    assert execution.result.error is not None
    assert execution.result.error.type == "Timeout"
    assert execution.result.error.retryable
    assert "did not finish within 0.05 s" in execution.result.error.message
    assert blocking.calls == 2 and execution.attempts == 2  # retried once, as its limit says


def test_timeout_of_a_tool_that_acts_says_its_outcome_is_unknown(no_sleep: NoSleep) -> None:
    acting = Blocking(idempotent=False)
    try:
        execution = execute(Executor(sleep=no_sleep), acting)
    finally:
        acting.release.set()
    assert execution.result.error is not None
    assert not execution.result.error.retryable
    assert "outcome is unknown" in execution.result.error.message
    assert acting.calls == 1


def test_validator_refusal_is_recorded_and_the_tool_does_not_run(
    registry: ToolRegistry, calls: Calls
) -> None:
    seen: list[tuple[str, JsonObject]] = []

    def refuse(name: str, args: JsonObject) -> ValidatorDecision:
        seen.append((name, args))
        return ValidatorDecision.refuse("quantity above the limit of 10")

    resolved = registry.resolve({"tool": "place_order", "args": {"quantity": 50}})
    execution = Executor(validator=refuse).execute(resolved)
    assert seen == [("place_order", {"quantity": 50})]
    assert calls["place_order"] == 0
    assert execution.executed_args is None
    assert execution.validator is not None and not execution.validator.approved
    assert execution.result.error is not None
    assert execution.result.error.type == "Refused"
    assert execution.result.error.message == "quantity above the limit of 10"


def test_validator_may_rewrite_arguments(registry: ToolRegistry) -> None:
    def cap(name: str, args: JsonObject) -> ValidatorDecision:
        return ValidatorDecision.rewrite({"quantity": 10}, "capped to 10")

    resolved = registry.resolve({"tool": "place_order", "args": {"quantity": 50}})
    execution = Executor(validator=cap).execute(resolved)
    assert execution.validated_args == {"quantity": 50}
    assert execution.executed_args == {"quantity": 10}
    assert execution.result.data == {"quantity": 10}


def test_a_rewrite_that_breaks_the_schema_is_our_bug_and_raises(
    registry: ToolRegistry, calls: Calls
) -> None:
    def broken(name: str, args: JsonObject) -> ValidatorDecision:
        return ValidatorDecision.rewrite({"quantity": "lots"})

    resolved = registry.resolve({"tool": "place_order", "args": {"quantity": 5}})
    with pytest.raises(ValueError, match="quantity"):
        Executor(validator=broken).execute(resolved)
    assert calls["place_order"] == 0


def test_a_validator_returning_nonsense_raises(registry: ToolRegistry) -> None:
    resolved = registry.resolve({"tool": "add", "args": {"a": 1, "b": 2}})
    with pytest.raises(TypeError, match="not a ValidatorDecision"):
        Executor(validator=lambda name, args: True).execute(resolved)  # type: ignore[arg-type,return-value]


def test_a_refusal_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs at least one reason"):
        ValidatorDecision.refuse()


def test_system_exit_in_a_tool_thread_reaches_the_caller(no_sleep: NoSleep) -> None:
    flaky = Flaky([SystemExit(3)])
    flaky.timeout_seconds = 5.0
    with pytest.raises(SystemExit):
        execute(Executor(sleep=no_sleep), flaky)

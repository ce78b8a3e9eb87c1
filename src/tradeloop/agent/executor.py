"""The executor: the only place a tool runs, so the only side-effect boundary of the agent.

For one validated call it asks the validator hook (the risk manager plugs in here), runs the
tool in a worker thread with the tool's timeout, and routes what the tool raises by who must act:

- `UserError`, `ModelError` (a bad spec, an unknown id): an error result fed back to the model,
  which can change its arguments; not retried.
- `TransientError`, and a timeout: retried with backoff when the tool's contract allows it
  (idempotent, `retry_limit`), then fed back marked `retryable`. A tool that acts on the world
  is never retried, and its timeout is fed back as an unknown outcome.
- anything else (a `KeyError`, a `TypeError`, an `OperationalError`): raised. It is our bug or
  an operational stop, not the model's mistake; the runner ends the run `crashed`.

Failures of the runtime itself (a validator that returns nonsense, rewritten arguments that
break the schema, a tool that returns something else than a `ToolResult`) are raised too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.agent.records import JsonObject, ValidatorDecision
from tradeloop.agent.registry import ResolvedCall
from tradeloop.agent.tool import Tool, ToolResult
from tradeloop.errors import ModelError, TransientError, UserError

Validator = Callable[[str, JsonObject], ValidatorDecision]
SleepFunction = Callable[[float], None]
Clock = Callable[[], float]

DEFAULT_BACKOFF_SECONDS = 0.5
DEFAULT_MAX_BACKOFF_SECONDS = 8.0


class Execution(BaseModel):
    """What the executor did with one call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    validated_args: JsonObject
    validator: ValidatorDecision | None = None
    executed_args: JsonObject | None = Field(None, description="None when the call was refused.")
    result: ToolResult
    attempts: int = Field(ge=0)
    seconds: float = 0.0


def backoff_delay(attempt: int, first_seconds: float, max_seconds: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): doubling, capped."""
    return float(min(first_seconds * 2 ** (attempt - 1), max_seconds))


class Executor:
    """Runs validated calls: validator, timeout, retries with backoff, the model's errors as
    results (see the module docstring for which exceptions are raised instead)."""

    def __init__(
        self,
        *,
        validator: Validator | None = None,
        sleep: SleepFunction = time.sleep,
        clock: Clock = time.perf_counter,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
    ) -> None:
        self._validator = validator
        self._sleep = sleep
        self._clock = clock
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds

    def execute(self, call: ResolvedCall) -> Execution:
        started = self._clock()
        validated_args = call.args_json()
        decision: ValidatorDecision | None = None
        args = call.args
        if self._validator is not None:
            decision = self._validator(call.name, validated_args)
            if not isinstance(decision, ValidatorDecision):
                raise TypeError(
                    f"the validator returned {type(decision).__name__}, not a ValidatorDecision"
                )
            if not decision.approved:
                refused = ToolResult.failure(
                    "Refused", "; ".join(decision.reasons), retryable=False
                )
                return Execution(
                    validated_args=validated_args,
                    validator=decision,
                    result=refused,
                    attempts=0,
                    seconds=self._clock() - started,
                )
            if decision.args is not None:
                # A rewrite that breaks the schema is the validator's bug: raise, do not run.
                args = call.tool.Args.model_validate(decision.args)
        result, attempts = self._run_with_retries(call.tool, args)
        return Execution(
            validated_args=validated_args,
            validator=decision,
            executed_args=args.model_dump(mode="json"),
            result=result,
            attempts=attempts,
            seconds=self._clock() - started,
        )

    def _run_with_retries(self, target: Tool[Any], args: BaseModel) -> tuple[ToolResult, int]:
        limit = target.effective_retry_limit
        attempt = 0
        while True:
            attempt += 1
            result = run_with_timeout(target, args)
            retryable = result.error is not None and result.error.retryable
            if not retryable or attempt > limit:
                return result, attempt
            self._sleep(self.backoff(attempt))

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): doubling, capped."""
        return backoff_delay(attempt, self._backoff_seconds, self._max_backoff_seconds)


def run_with_timeout(target: Tool[Any], args: BaseModel) -> ToolResult:
    """Run one attempt; stop waiting after the tool's timeout (the thread cannot be killed).

    A timeout is transient for the model's purpose: retryable when the tool is idempotent. For a
    tool that acts, the outcome is unknown and the model is told to check before calling again.
    """
    if target.timeout_seconds is None:
        return call_once(target, args)
    results: list[ToolResult] = []
    escaped: list[BaseException] = []

    def work() -> None:
        try:
            results.append(call_once(target, args))
        except BaseException as exc:  # our bugs, SystemExit: raised again in the caller's thread
            escaped.append(exc)

    # A daemon thread, so a tool stuck forever cannot keep the process from exiting.
    worker = threading.Thread(target=work, name=f"tool-{target.name}", daemon=True)
    worker.start()
    worker.join(target.timeout_seconds)
    if escaped:
        raise escaped[0]
    if results:
        return results[0]
    if target.idempotent:
        message = f"tool '{target.name}' did not finish within {target.timeout_seconds:g} s"
    else:
        message = (
            f"tool '{target.name}' did not finish within {target.timeout_seconds:g} s and may "
            "still complete: its outcome is unknown. Check its effect before calling it again."
        )
    return ToolResult.failure("Timeout", message, retryable=target.idempotent)


def call_once(target: Tool[Any], args: BaseModel) -> ToolResult:
    """Call the tool once. The model's mistakes and transient failures become error results;
    every other exception is raised unchanged."""
    try:
        result = target.call(args)
    except TransientError as exc:
        return ToolResult.failure(type(exc).__name__, _message(exc), retryable=True)
    except (UserError, ModelError) as exc:
        return ToolResult.failure(type(exc).__name__, _message(exc), retryable=False)
    if not isinstance(result, ToolResult):
        raise TypeError(f"tool '{target.name}' returned {type(result).__name__}, not a ToolResult")
    return result


def _message(exc: BaseException) -> str:
    return str(exc) or repr(exc)

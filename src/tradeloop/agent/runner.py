"""The agent loop: plan, check, execute, record, and decide when to stop.

The model proposes; the runner decides. A run always ends: on a terminal ("done") result, after
`max_steps`, when a call the run already made is proposed again `loop_limit` times in all (a
repeat is never run: the first is fed back with the earlier result, "you already have this
result (step N): use it or finish"; see `tradeloop.agent.feedback`), or when the planner gives
up. Each of these returns an `AgentRun`, with a `RunReport` of the tools that ran next to the
model's summary (`tradeloop.agent.endings`). Every step is written to the audit trail as it
completes.

What goes wrong is routed by who must act:

- the model's mistakes (an unusable reply, an unknown tool, invalid arguments with hints on what
  to change, a repeated call, a tool's `UserError` or `ModelError`) are fed back to the model in
  the next step's history;
- a planner that is unavailable (`TransientError`: a timeout, a 5xx) is retried with backoff
  `planner_retries` times; the planner giving up (`PlannerError`, a `ConfigError` naming the
  fix, or the retries spent) ends the run `planner_error`;
- anything else (our bug, an operational stop) ends the run `crashed`: the exception's type,
  message and traceback are written to the audit trail, a note saying where is added to the
  exception, and the exception is raised.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from tradeloop.agent.endings import build_report
from tradeloop.agent.executor import Clock, Executor, SleepFunction, backoff_delay
from tradeloop.agent.feedback import RepeatGuard, resolve_or_explain
from tradeloop.agent.memory import DEFAULT_WINDOW, ShortTermMemory
from tradeloop.agent.planner import Planner, PlannerReply, PlannerStepError
from tradeloop.agent.records import AgentContext, AgentRun, Outcome, StepRecord
from tradeloop.agent.registry import ToolRegistry
from tradeloop.agent.runlog import RunFooter, RunHeader, RunLogWriter
from tradeloop.clock import utc_now
from tradeloop.errors import ModelError, TradeloopError, TransientError, UserError

DEFAULT_MAX_STEPS = 10
DEFAULT_LOOP_LIMIT = 3
DEFAULT_PLANNER_RETRIES = 2
DEFAULT_PLANNER_BACKOFF_SECONDS = 1.0
DEFAULT_PLANNER_MAX_BACKOFF_SECONDS = 8.0

PlannerFailure = ModelError | UserError | TransientError
PLANNER_FAILURES = (ModelError, UserError, TransientError)
"""What a planner may raise without crashing the run: the run ends `planner_error` instead."""

StepHook = Callable[[int, Callable[[], StepRecord]], StepRecord]
"""Wraps each step: called with the step index and a function that performs the step, it must
call that function and return its record (a Prefect flow runs it inside a task)."""


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique by a random suffix: `20250102T091500Z-1a2b3c4d`."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass
class _RunState:
    run_id: str
    goal: str
    context: dict[str, JsonValue]
    memory: ShortTermMemory
    guard: RepeatGuard
    steps: list[StepRecord] = field(default_factory=list)
    crashed_step: StepRecord | None = None  # the step an exception escaped from, for the record


class AgentRunner:
    """Runs goals to an outcome with a planner, a registry and an executor."""

    def __init__(
        self,
        planner: Planner,
        registry: ToolRegistry,
        *,
        executor: Executor | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        loop_limit: int = DEFAULT_LOOP_LIMIT,
        memory_window: int = DEFAULT_WINDOW,
        planner_retries: int = DEFAULT_PLANNER_RETRIES,
        planner_backoff_seconds: float = DEFAULT_PLANNER_BACKOFF_SECONDS,
        run_dir: Path | None = None,
        on_step: StepHook | None = None,
        sleep: SleepFunction = time.sleep,
        clock: Clock = time.perf_counter,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if loop_limit < 2:
            raise ValueError("loop_limit must be at least 2 (1 would refuse every call)")
        if planner_retries < 0:
            raise ValueError("planner_retries must be >= 0")
        self.planner = planner
        self.registry = registry
        self.executor = executor if executor is not None else Executor(sleep=sleep, clock=clock)
        self.max_steps = max_steps
        self.loop_limit = loop_limit
        self.memory_window = memory_window
        self.planner_retries = planner_retries
        self.planner_backoff_seconds = planner_backoff_seconds
        self.run_dir = run_dir
        self._on_step = on_step
        self._sleep = sleep
        self._clock = clock
        self._now = now

    def run(
        self,
        goal: str,
        context: Mapping[str, JsonValue] | None = None,
        *,
        run_id: str | None = None,
    ) -> AgentRun:
        """Run `goal` to an outcome; with a `run_dir`, every step is written as it completes.

        Returns the run for every outcome but `crashed`. On a crash the exception is raised after
        the run file records it (type, message, traceback), with a note naming the run file.
        """
        started_at = self._now()
        started = self._clock()
        first = AgentContext(  # validates the goal and context before anything is written
            run_id=run_id or new_run_id(started_at),
            goal=goal,
            context=dict(context or {}),
            step_index=0,
            max_steps=self.max_steps,
        )
        state = _RunState(
            run_id=first.run_id,
            goal=goal,
            context=first.context,
            memory=ShortTermMemory(self.memory_window),
            guard=RepeatGuard(self.registry, self.loop_limit),
        )
        writer = RunLogWriter(self.run_dir, state.run_id) if self.run_dir is not None else None
        if writer is not None:
            writer.write_header(self._header(state, started_at))
        try:
            outcome = self._loop(state, writer)
        except Exception as exc:
            self._record_crash(state, writer, exc, self._clock() - started)
            raise
        except BaseException:  # KeyboardInterrupt, SystemExit: no footer, the run is incomplete
            if writer is not None:
                writer.close()
            raise
        last = state.steps[-1]
        final_result = last.result if outcome == "done" else None
        error = self._outcome_error(outcome, last)
        report = build_report(state.steps, final_result, self.registry.names)
        finished_at, duration = self._now(), self._clock() - started
        if writer is not None:
            writer.write_footer(
                RunFooter(
                    outcome=outcome,
                    steps=len(state.steps),
                    finished_at=finished_at,
                    duration_seconds=duration,
                    error=error,
                    final_result=final_result,
                    report=report,
                )
            )
        return AgentRun(
            run_id=state.run_id,
            goal=goal,
            context=state.context,
            planner=self.planner.name,
            outcome=outcome,
            steps=tuple(state.steps),
            error=error,
            final_result=final_result,
            started_at=started_at,
            finished_at=finished_at,
            duration_seconds=duration,
            run_file=writer.path if writer is not None else None,
            report=report,
        )

    def _header(self, state: _RunState, started_at: datetime) -> RunHeader:
        return RunHeader(
            run_id=state.run_id,
            goal=state.goal,
            context=state.context,
            planner=self.planner.name,
            tools=self.registry.names,
            max_steps=self.max_steps,
            loop_limit=self.loop_limit,
            started_at=started_at,
        )

    def _record_crash(
        self, state: _RunState, writer: RunLogWriter | None, exc: Exception, duration: float
    ) -> None:
        """Write the crash to the audit trail and add a note saying where to the exception."""
        if writer is None:
            exc.add_note(f"agent run {state.run_id} crashed; it kept no run file (no run_dir)")
            return
        crashed = state.crashed_step
        # Only the step in progress: a hook that fails after a step returned has no crashed step.
        in_progress = crashed is not None and crashed.index == len(state.steps)
        if crashed is not None and in_progress:
            writer.write_step(crashed)
        writer.write_footer(
            RunFooter(
                outcome="crashed",
                steps=len(state.steps) + (1 if in_progress else 0),
                finished_at=self._now(),
                duration_seconds=duration,
                error=_describe(exc),
                error_type=type(exc).__name__,
                traceback="".join(traceback.format_exception(exc)),
            )
        )
        if isinstance(exc, TradeloopError):  # an operational stop: its message says what to do
            exc.add_note(f"agent run {state.run_id} stopped; its record is in {writer.path}")
        else:
            exc.add_note(f"this is a bug in tradeloop; the traceback is in {writer.path}")

    def _loop(self, state: _RunState, writer: RunLogWriter | None) -> Outcome:
        for index in range(self.max_steps):
            perform = partial(self._step, state, index)
            record = self._on_step(index, perform) if self._on_step is not None else perform()
            # State changes after the hook returns, so a hook that retries the step is safe.
            state.steps.append(record)
            state.memory.add(record)
            if writer is not None:
                writer.write_step(record)
            if record.stop is not None:
                return record.stop
        return "max_steps"

    def _outcome_error(self, outcome: Outcome, last: StepRecord) -> str | None:
        if outcome == "max_steps":
            return f"stopped after {self.max_steps} step(s) without a terminal result"
        if outcome in ("planner_error", "loop_detected"):
            return last.error
        return None

    def _step(self, state: _RunState, index: int) -> StepRecord:
        started = self._clock()
        state.crashed_step = None
        context = AgentContext(
            run_id=state.run_id,
            goal=state.goal,
            context=state.context,
            step_index=index,
            max_steps=self.max_steps,
        )
        retried: list[str] = []
        try:
            with self._recording_crash(
                state, started, PLANNER_FAILURES, index=index, planner_retried=retried
            ):
                reply = self._plan(context, state.memory, retried)
        except PLANNER_FAILURES as exc:
            return _planner_failure(index, exc, tuple(retried), self._clock() - started)
        planned = self._clock()
        common: dict[str, Any] = {
            "index": index,
            "planner_raw": reply.raw_text,
            "planner_feedback": reply.feedback,
            "planner_retried": tuple(retried),
            "call": reply.call,
            "planner_seconds": planned - started,
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
        }
        checked = self._check_and_execute(state, reply, common, started)
        return StepRecord(**common, **checked, step_seconds=self._clock() - started)

    def _plan(
        self, context: AgentContext, memory: ShortTermMemory, retried: list[str]
    ) -> PlannerReply:
        """The planner's reply; an unavailable planner is retried with backoff, then raised."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.planner.next_step(context, memory)
            except TransientError as exc:
                if attempt > self.planner_retries:
                    raise
                retried.append(_describe(exc))
                self._sleep(
                    backoff_delay(
                        attempt, self.planner_backoff_seconds, DEFAULT_PLANNER_MAX_BACKOFF_SECONDS
                    )
                )

    @contextmanager
    def _recording_crash(
        self,
        state: _RunState,
        started: float,
        routed: tuple[type[Exception], ...] = (),
        **known: Any,
    ) -> Iterator[None]:
        """Keep what is known of the step when an exception escapes that is not `routed` (handled
        by the caller): the runner writes it as the crashed step before the crash footer."""
        try:
            yield
        except routed:
            raise
        except Exception as exc:
            state.crashed_step = StepRecord(
                **known,
                error=_describe(exc),
                error_type=type(exc).__name__,
                stop="crashed",
                step_seconds=self._clock() - started,
            )
            raise

    def _check_and_execute(
        self, state: _RunState, reply: PlannerReply, common: dict[str, Any], started: float
    ) -> dict[str, Any]:
        if reply.call is None:
            return {"error": reply.error, "error_type": "ModelError"}
        repeated = state.guard.check(reply.call, state.steps, state.memory.outcome)
        if repeated is not None:
            return repeated
        try:
            resolved = resolve_or_explain(self.registry, reply.call)
        except ModelError as exc:
            return {"error": str(exc), "error_type": type(exc).__name__}
        with self._recording_crash(state, started, **common, validated_args=resolved.args_json()):
            execution = self.executor.execute(resolved)
        return {
            "validated_args": execution.validated_args,
            "validator": execution.validator,
            "executed_args": execution.executed_args,
            "result": execution.result,
            "attempts": execution.attempts,
            "tool_seconds": execution.seconds,
            "stop": "done" if execution.result.status == "done" else None,
        }


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _planner_error_text(exc: PlannerFailure, retried: tuple[str, ...]) -> str:
    if not isinstance(exc, TransientError):
        return str(exc)
    attempts = len(retried) + 1
    return (
        f"{exc} (a transient failure, still there after {attempts} attempt(s): run again once "
        "the planner answers)"
    )


def _planner_failure(
    index: int, exc: PlannerFailure, retried: tuple[str, ...], seconds: float
) -> StepRecord:
    raw_texts: tuple[str, ...] = ()
    feedback: tuple[str, ...] = ()
    prompt_tokens = completion_tokens = None
    if isinstance(exc, PlannerStepError):
        raw_texts, feedback = exc.raw_texts, exc.feedback
        prompt_tokens, completion_tokens = exc.prompt_tokens, exc.completion_tokens
    return StepRecord(
        index=index,
        planner_raw=raw_texts[-1] if raw_texts else None,
        planner_feedback=feedback,
        planner_retried=retried,
        error=_planner_error_text(exc, retried),
        error_type=type(exc).__name__,
        stop="planner_error",
        planner_seconds=seconds,
        step_seconds=seconds,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )

"""The agent loop: plan, check, execute, record, and decide when to stop.

The model proposes; the runner decides. A run always ends: on a terminal ("done") result, after
`max_steps`, when the same call is proposed `loop_limit` times in a row (the repeat is not run),
or when the planner gives up. Each of these returns an `AgentRun`; only bugs raise. Every step is
written to the audit trail as it completes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from tradeloop.agent.executor import Clock, Executor
from tradeloop.agent.memory import DEFAULT_WINDOW, ShortTermMemory
from tradeloop.agent.planner import Planner, PlannerReply, PlannerStepError
from tradeloop.agent.records import AgentContext, AgentRun, Outcome, StepRecord, ToolCall
from tradeloop.agent.registry import ToolRegistry
from tradeloop.agent.runlog import RunFooter, RunHeader, RunLogWriter
from tradeloop.errors import ModelError, PlannerError

DEFAULT_MAX_STEPS = 10
DEFAULT_LOOP_LIMIT = 3

StepHook = Callable[[int, Callable[[], StepRecord]], StepRecord]
"""Wraps each step: called with the step index and a function that performs the step, it must
call that function and return its record (a Prefect flow runs it inside a task)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique by a random suffix: `20250102T091500Z-1a2b3c4d`."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass
class _LoopGuard:
    """Counts how many times in a row the same call was proposed."""

    limit: int
    last_key: str | None = None
    repeats: int = 0

    def would_loop(self, call: ToolCall) -> bool:
        return call.key() == self.last_key and self.repeats + 1 >= self.limit

    def observe(self, call: ToolCall | None) -> None:
        key = call.key() if call is not None else None
        if key is not None and key == self.last_key:
            self.repeats += 1
        else:
            self.last_key, self.repeats = key, (1 if key is not None else 0)


@dataclass
class _RunState:
    run_id: str
    goal: str
    context: dict[str, JsonValue]
    memory: ShortTermMemory
    guard: _LoopGuard
    steps: list[StepRecord] = field(default_factory=list)


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
        run_dir: Path | None = None,
        on_step: StepHook | None = None,
        clock: Clock = time.perf_counter,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if loop_limit < 2:
            raise ValueError("loop_limit must be at least 2 (1 would refuse every call)")
        self.planner = planner
        self.registry = registry
        self.executor = executor if executor is not None else Executor(clock=clock)
        self.max_steps = max_steps
        self.loop_limit = loop_limit
        self.memory_window = memory_window
        self.run_dir = run_dir
        self._on_step = on_step
        self._clock = clock
        self._now = now

    def run(
        self,
        goal: str,
        context: Mapping[str, JsonValue] | None = None,
        *,
        run_id: str | None = None,
    ) -> AgentRun:
        """Run `goal` to an outcome; with a `run_dir`, every step is written as it completes."""
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
            guard=_LoopGuard(self.loop_limit),
        )
        writer = RunLogWriter(self.run_dir, state.run_id) if self.run_dir is not None else None
        if writer is not None:
            writer.write_header(self._header(state, started_at))
        try:
            outcome = self._loop(state, writer)
        except BaseException as exc:
            if writer is not None:
                writer.write_footer(
                    RunFooter(
                        outcome="crashed",
                        steps=len(state.steps),
                        finished_at=self._now(),
                        duration_seconds=self._clock() - started,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                )
            raise
        last = state.steps[-1]
        final_result = last.result if outcome == "done" else None
        error = self._outcome_error(outcome, last)
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

    def _loop(self, state: _RunState, writer: RunLogWriter | None) -> Outcome:
        for index in range(self.max_steps):
            perform = partial(self._step, state, index)
            record = self._on_step(index, perform) if self._on_step is not None else perform()
            # State changes after the hook returns, so a hook that retries the step is safe.
            state.steps.append(record)
            state.memory.add(record)
            state.guard.observe(record.call)
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
        context = AgentContext(
            run_id=state.run_id,
            goal=state.goal,
            context=state.context,
            step_index=index,
            max_steps=self.max_steps,
        )
        try:
            reply = self.planner.next_step(context, state.memory)
        except PlannerError as exc:
            return _planner_failure(index, exc, self._clock() - started)
        planned = self._clock()
        common: dict[str, Any] = {
            "index": index,
            "planner_raw": reply.raw_text,
            "planner_feedback": reply.feedback,
            "call": reply.call,
            "planner_seconds": planned - started,
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
        }
        checked = self._check_and_execute(state, reply)
        return StepRecord(**common, **checked, step_seconds=self._clock() - started)

    def _check_and_execute(self, state: _RunState, reply: PlannerReply) -> dict[str, Any]:
        if reply.call is None:
            return {"error": reply.error, "error_type": "ModelError"}
        if state.guard.would_loop(reply.call):
            return {
                "error": (
                    f"loop detected: '{reply.call.tool}' with the same arguments was proposed "
                    f"{self.loop_limit} times in a row; the repeat was not run"
                ),
                "error_type": "LoopDetected",
                "stop": "loop_detected",
            }
        try:
            resolved = self.registry.resolve(reply.call)
        except ModelError as exc:
            return {"error": str(exc), "error_type": type(exc).__name__}
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


def _planner_failure(index: int, exc: PlannerError, seconds: float) -> StepRecord:
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
        error=str(exc),
        error_type=type(exc).__name__,
        stop="planner_error",
        planner_seconds=seconds,
        step_seconds=seconds,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )

"""Planners propose the next tool call; they never run anything.

`Planner` is the port. `ScriptedPlanner` replays a fixed script (calls, raw model replies, or a
function of the run so far): it drives tests and replays and is the deterministic default.
The LLM planners (`ChatPlanner` and the Ollama adapter) live in their own modules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, model_validator

from tradeloop.agent.jsonextract import parse_reply
from tradeloop.agent.memory import ShortTermMemory
from tradeloop.agent.records import AgentContext, ToolCall
from tradeloop.errors import ModelError, PlannerError, TransientError


class PlannerReply(BaseModel):
    """One planning step: the model's raw text and either a parsed call or why there is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw_text: str
    call: ToolCall | None = None
    error: str | None = None
    feedback: tuple[str, ...] = ()
    attempts: int = 1
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float = 0.0

    @model_validator(mode="after")
    def _call_or_error(self) -> PlannerReply:
        if (self.call is None) == (self.error is None):
            raise ValueError("a PlannerReply has either a call or an error")
        return self


class Planner(Protocol):
    """Proposes the next call from the run's context and its short-term memory."""

    @property
    def name(self) -> str: ...

    def next_step(self, context: AgentContext, memory: ShortTermMemory) -> PlannerReply: ...


class PlannerStepError(PlannerError):
    """The planner gave up on a step; carries what the model said so the audit keeps it."""

    def __init__(
        self,
        message: str,
        *,
        raw_texts: Sequence[str] = (),
        feedback: Sequence[str] = (),
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        super().__init__(message)
        self.raw_texts = tuple(raw_texts)
        self.feedback = tuple(feedback)
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class PlannerUnavailableError(TransientError):
    """The model did not answer this time (a timeout, a 5xx, a dropped connection): the runner
    retries the step's planning with backoff, a bounded number of times.

    Not a `PlannerError`: the model made no mistake, so nothing is fed back to it. A set-up the
    user must fix (no server at the host, the model not pulled) is a `ConfigError` instead.
    """


ScriptStep = ToolCall | Mapping[str, Any] | str
ScriptFunction = Callable[[AgentContext, ShortTermMemory], ScriptStep | None]


class ScriptedPlanner:
    """Proposes the calls of a script: step `i` of a run gets item `i`.

    Items are `ToolCall`s, mappings like `{"tool": ..., "args": {...}}`, or raw model replies
    (text that goes through the same JSON extraction as a real model's). A function instead of
    a list is called with the context and memory and may return None to end the script.
    """

    def __init__(
        self,
        script: Sequence[ScriptStep] | ScriptFunction,
        *,
        name: str = "scripted",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._script = script
        self._name = name
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    def next_step(self, context: AgentContext, memory: ShortTermMemory) -> PlannerReply:
        started = self._clock()
        step = self._step_for(context, memory)
        if isinstance(step, str):
            raw_text = step
            try:
                call = ToolCall.from_raw(parse_reply(step))
            except ModelError as exc:
                return PlannerReply(
                    raw_text=raw_text, error=str(exc), seconds=self._clock() - started
                )
        else:
            if isinstance(step, ToolCall):
                raw_text = step.key()
            else:  # a script read from a file may hold anything JSON: from_raw says what is wrong
                shown = dict(step) if isinstance(step, Mapping) else step
                raw_text = json.dumps(shown, default=str)
            try:
                call = ToolCall.from_raw(step)
            except ModelError as exc:
                return PlannerReply(
                    raw_text=raw_text, error=str(exc), seconds=self._clock() - started
                )
        return PlannerReply(raw_text=raw_text, call=call, seconds=self._clock() - started)

    def _step_for(self, context: AgentContext, memory: ShortTermMemory) -> ScriptStep:
        if callable(self._script):
            step = self._script(context, memory)
            if step is None:
                raise PlannerStepError(
                    f"the script function returned no step for step {context.step_index + 1}"
                )
            return step
        if context.step_index >= len(self._script):
            raise PlannerStepError(
                f"the script has {len(self._script)} step(s) and ended before the run did "
                f"(step {context.step_index + 1}); end it with a terminal tool call"
            )
        return self._script[context.step_index]

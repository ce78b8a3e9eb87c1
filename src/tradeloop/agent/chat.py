"""A planner backed by any chat model: prompt, parse, validate, and feed mistakes back.

The model only proposes. Its reply must be one JSON object naming a registered tool with valid
arguments; otherwise the error is appended as a user message and the model is asked again, at
most `max_parse_retries` times, after which the step fails with a `PlannerStepError`. Vendor
clients implement `ChatModel` in `tradeloop.adapters` and translate their own errors there;
server trouble is not retried here (the runner retries an unavailable planner).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypedDict

from pydantic import BaseModel, ConfigDict

from tradeloop.agent.jsonextract import parse_reply
from tradeloop.agent.memory import ShortTermMemory
from tradeloop.agent.planner import PlannerReply, PlannerStepError
from tradeloop.agent.prompting import render_step_prompt, render_system_prompt
from tradeloop.agent.records import AgentContext, ToolCall
from tradeloop.agent.registry import ToolRegistry
from tradeloop.errors import ModelError

DEFAULT_MAX_PARSE_RETRIES = 2


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatCompletion(BaseModel):
    """A model's reply and its token counts when the server reports them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ChatModel(Protocol):
    """One chat call, with the vendor's errors translated by who must act:

    - `PlannerUnavailableError` (a `TransientError`) when a retry may work: a timeout, a 5xx, a
      dropped connection. The runner retries it with backoff.
    - `ConfigError` when the user must fix the set-up: no server at the host, the model not
      pulled. The message names the fix.
    - anything else is a bug and is raised as is.
    """

    @property
    def name(self) -> str: ...

    def complete(
        self, messages: Sequence[ChatMessage], response_schema: dict[str, Any]
    ) -> ChatCompletion: ...


def feedback_message(error: str) -> str:
    """What the model is told when its reply cannot be used."""
    return (
        f"Your reply could not be used: {error}\n"
        'Reply again with exactly one JSON object {"tool": "<tool name>", "args": {...}} '
        "and nothing else."
    )


class ChatPlanner:
    """Plans each step with a chat model, validating every reply against the registry."""

    def __init__(
        self,
        model: ChatModel,
        registry: ToolRegistry,
        *,
        system_prompt: str | None = None,
        max_parse_retries: int = DEFAULT_MAX_PARSE_RETRIES,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if max_parse_retries < 0:
            raise ValueError("max_parse_retries must be >= 0")
        self._model = model
        self._registry = registry
        self._system_prompt = render_system_prompt(registry, system_prompt)
        self._max_parse_retries = max_parse_retries
        self._clock = clock

    @property
    def name(self) -> str:
        return self._model.name

    @property
    def system_prompt(self) -> str:
        return self._system_prompt

    def messages_for(self, context: AgentContext, memory: ShortTermMemory) -> list[ChatMessage]:
        return [
            {"role": "system", "content": self._system_prompt},
            {"role": "user", "content": render_step_prompt(context, memory)},
        ]

    def next_step(self, context: AgentContext, memory: ShortTermMemory) -> PlannerReply:
        started = self._clock()
        messages = self.messages_for(context, memory)
        schema = self._registry.call_schema()
        raw_texts: list[str] = []
        feedback: list[str] = []
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        for _ in range(self._max_parse_retries + 1):
            completion = self._model.complete(messages, schema)
            raw_texts.append(completion.text)
            prompt_tokens = _add(prompt_tokens, completion.prompt_tokens)
            completion_tokens = _add(completion_tokens, completion.completion_tokens)
            try:
                call = self.parse(completion.text)
            except ModelError as exc:
                feedback.append(str(exc))
                messages.append({"role": "assistant", "content": completion.text})
                messages.append({"role": "user", "content": feedback_message(str(exc))})
                continue
            return PlannerReply(
                raw_text=completion.text,
                call=call,
                feedback=tuple(feedback),
                attempts=len(raw_texts),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                seconds=self._clock() - started,
            )
        raise PlannerStepError(
            f"{self.name} gave no usable tool call in {len(raw_texts)} attempt(s); "
            f"last problem: {feedback[-1]}",
            raw_texts=raw_texts,
            feedback=feedback,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def parse(self, text: str) -> ToolCall:
        """A reply's call, checked against the registry; `ModelError` says what to fix."""
        call = ToolCall.from_raw(parse_reply(text))
        self._registry.resolve(call)
        return call


def _add(total: int | None, count: int | None) -> int | None:
    if count is None:
        return total
    return count if total is None else total + count

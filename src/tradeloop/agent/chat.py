"""A planner backed by any chat model: prompt, parse, validate, and feed mistakes back.

The model only proposes. Its reply must be one JSON object naming a registered tool with valid
arguments; otherwise the error (with hints: `tradeloop.agent.feedback`) is appended after the
rejected reply and the model is asked again, at most `max_parse_retries` times, after which the
step fails with a `PlannerStepError`. Vendor clients implement `ChatModel` in
`tradeloop.adapters` and translate their own errors there; server trouble is not retried here
(the runner retries an unavailable planner).

At temperature 0 the same prompt gets the same answer, so a retry also varies decoding: a
re-ask within a step, and the first ask of a step after one that ran nothing (a rejected or
repeated call), pass `Decoding(temperature, seed)` to a model that accepts it (`retry_decoding`).
A first ask never does, so a run that goes well is as deterministic as the model allows.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.agent.feedback import REPEATED, resolve_or_explain
from tradeloop.agent.jsonextract import parse_reply
from tradeloop.agent.memory import ShortTermMemory
from tradeloop.agent.planner import PlannerReply, PlannerStepError
from tradeloop.agent.prompting import (
    ChatMessage,
    render_system_prompt,
    retry_messages,
    step_messages,
)
from tradeloop.agent.records import AgentContext, StepRecord, ToolCall
from tradeloop.agent.registry import ToolRegistry
from tradeloop.agent.seen_values import bind_to_results
from tradeloop.errors import ModelError

DEFAULT_MAX_PARSE_RETRIES = 2
RETRY_TEMPERATURE_STEP = 0.2
MAX_RETRY_TEMPERATURE = 0.6

__all__ = [
    "DEFAULT_MAX_PARSE_RETRIES",
    "ChatCompletion",
    "ChatMessage",
    "ChatModel",
    "ChatPlanner",
    "Decoding",
    "DecodingChatModel",
    "feedback_message",
    "retry_decoding",
]


class Decoding(BaseModel):
    """Sampling for a retry: a small temperature and a seed, so the retry can differ."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(ge=0.0, le=2.0)
    seed: int | None = None

    def options(self) -> dict[str, Any]:
        """As Ollama's `options` entries (merged over the adapter's defaults)."""
        chosen: dict[str, Any] = {"temperature": self.temperature}
        if self.seed is not None:
            chosen["seed"] = self.seed
        return chosen


def retry_decoding(retry: int) -> Decoding:
    """Decoding for retry number `retry` (1-based): temperature 0.2, 0.4, then 0.6 at most;
    the seed is the retry number, so a run replays the same way on the same server."""
    temperature = min(RETRY_TEMPERATURE_STEP * retry, MAX_RETRY_TEMPERATURE)
    return Decoding(temperature=round(temperature, 2), seed=retry)


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


class DecodingChatModel(ChatModel, Protocol):
    """A `ChatModel` whose decoding a retry can vary: `ChatPlanner` passes `decoding` on
    retries only, and the model applies its `options()` over its defaults (temperature 0).
    A model without the parameter is still a `ChatModel`; its retries are then not varied."""

    def complete(
        self,
        messages: Sequence[ChatMessage],
        response_schema: dict[str, Any],
        decoding: Decoding | None = None,
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
        self._varies_decoding = accepts_decoding(model)

    @property
    def name(self) -> str:
        return self._model.name

    @property
    def system_prompt(self) -> str:
        return self._system_prompt

    def messages_for(self, context: AgentContext, memory: ShortTermMemory) -> list[ChatMessage]:
        """The step's messages: a stable prefix, then the step counter (`prompting`)."""
        return step_messages(
            self._system_prompt,
            context,
            memory,
            self._registry.keywords(),
            self._registry.unavailable,
        )

    def next_step(self, context: AgentContext, memory: ShortTermMemory) -> PlannerReply:
        started = self._clock()
        messages = self.messages_for(context, memory)
        schema = self._schema_for(context, memory)
        raw_texts: list[str] = []
        feedback: list[str] = []
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        # A step after one that ran nothing, or whose tool refused it for good, is a retry of
        # it: vary decoding from the start (the same prompt at temperature 0 repeats the call).
        retries = 1 if _failed(memory.last) else 0
        for _ in range(self._max_parse_retries + 1):
            completion = self._complete(messages, schema, retries)
            raw_texts.append(completion.text)
            prompt_tokens = _add(prompt_tokens, completion.prompt_tokens)
            completion_tokens = _add(completion_tokens, completion.completion_tokens)
            try:
                call = self.parse(completion.text)
            except ModelError as exc:
                feedback.append(str(exc))
                messages.extend(retry_messages(completion.text, feedback_message(str(exc))))
                retries += 1
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

    def _schema_for(self, context: AgentContext, memory: ShortTermMemory) -> dict[str, Any]:
        """The call schema of this step: once the model has repeated a call (fed back, not
        run), that tool is left out of the steps that follow, so constrained decoding moves on
        (to the result's use, another tool, or finish) instead of coming back to it into the
        loop guard. A model that repeats a call verbatim is stuck on it; another spec for the
        same tool is not worth the risk on a small model. A tool that has run `max_calls` times
        in the remembered steps is left out too (its budget is spent), and the last step offers
        only the terminal tools (`finish`, `refuse`): a call there could not be followed up.
        Arguments that must name a value the run has seen are bound to those values
        (`seen_values.bind_to_results`)."""
        if context.max_steps - context.step_index <= 1:
            others = [each.name for each in self._registry if not each.terminal]
            return bind_to_results(self._registry.call_schema_without(*others), memory.records)
        repeated = {
            record.call.tool
            for record in memory.records
            if record.error_type == REPEATED and record.call is not None
        }
        ran = Counter(
            record.call.tool for record in memory.records if record.executed and record.call
        )
        spent = {
            each.name
            for each in self._registry
            if each.max_calls is not None and ran[each.name] >= each.max_calls
        }
        if repeated | spent:
            schema = self._registry.call_schema_without(*sorted(repeated | spent))
        else:
            schema = self._registry.call_schema()
        return bind_to_results(schema, memory.records)

    def _complete(
        self, messages: list[ChatMessage], schema: dict[str, Any], retries: int
    ) -> ChatCompletion:
        if retries == 0 or not self._varies_decoding:
            return self._model.complete(messages, schema)
        varied = cast(DecodingChatModel, self._model)  # checked by `accepts_decoding`
        return varied.complete(messages, schema, decoding=retry_decoding(retries))

    def parse(self, text: str) -> ToolCall:
        """A reply's call, checked against the registry; `ModelError` says what to fix."""
        call = ToolCall.from_raw(parse_reply(text))
        resolve_or_explain(self._registry, call)
        return call


def accepts_decoding(model: ChatModel) -> bool:
    """Whether `model.complete` takes `decoding` (models written before it was added do not)."""
    try:
        parameters = inspect.signature(model.complete).parameters
    except (TypeError, ValueError):  # a builtin or C callable: call it the plain way
        return False
    return "decoding" in parameters or any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()
    )


def _add(total: int | None, count: int | None) -> int | None:
    if count is None:
        return total
    return count if total is None else total + count


def _failed(record: StepRecord | None) -> bool:
    """Whether `record` ran nothing, or ran and got an error that asking again cannot cure."""
    if record is None:
        return False
    if not record.executed:
        return True
    result = record.result
    return (
        result is not None
        and result.status == "error"
        and not (result.error is not None and result.error.retryable)
    )

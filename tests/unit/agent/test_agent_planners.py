"""The scripted planner and the chat planner (with an in-process chat model)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tradeloop.agent import (
    AgentContext,
    ChatCompletion,
    ChatMessage,
    ChatPlanner,
    PlannerStepError,
    ScriptedPlanner,
    ShortTermMemory,
    ToolCall,
    ToolRegistry,
)
from tradeloop.agent.chat import Decoding
from tradeloop.agent.prompting import load_system_prompt_template, render_goal, render_step_counter


def context(step_index: int = 0, **extra: Any) -> AgentContext:
    return AgentContext(run_id="r", goal="add numbers", step_index=step_index, max_steps=4, **extra)


class ListModel:
    """A chat model that answers from a list and keeps what it was sent."""

    name = "list-model"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[list[ChatMessage], dict[str, Any]]] = []
        self.decodings: list[Decoding | None] = []

    def complete(
        self,
        messages: Sequence[ChatMessage],
        response_schema: dict[str, Any],
        decoding: Decoding | None = None,
    ) -> ChatCompletion:
        self.requests.append((list(messages), response_schema))
        self.decodings.append(decoding)
        return ChatCompletion(text=self.replies.pop(0), prompt_tokens=10, completion_tokens=None)


def test_scripted_planner_accepts_calls_mappings_and_raw_text() -> None:
    planner = ScriptedPlanner(
        [
            ToolCall(tool="add", args={"a": 1, "b": 2}),
            {"tool": "add", "args": {"a": 3, "b": 4}},
            '<think>hmm</think>{"tool": "finish", "args": {"summary": "x"}}',
            "no json here",
        ]
    )
    replies = [planner.next_step(context(index), ShortTermMemory()) for index in range(4)]
    assert [reply.call.tool if reply.call else None for reply in replies] == [
        "add",
        "add",
        "finish",
        None,
    ]
    assert replies[3].error is not None and "contains no JSON object" in replies[3].error
    assert replies[2].raw_text.startswith("<think>")


@pytest.mark.parametrize(("item", "kind"), [([1, 2], "array"), (7, "number"), (None, "null")])
def test_a_script_item_that_is_not_a_call_is_a_rejected_reply(item: Any, kind: str) -> None:
    reply = ScriptedPlanner([item]).next_step(context(), ShortTermMemory())
    assert reply.call is None
    assert reply.error is not None and f"the reply is a JSON {kind}, not an object" in reply.error


def test_scripted_planner_that_runs_out_raises_a_planner_error() -> None:
    with pytest.raises(PlannerStepError, match="the script has 0 step"):
        ScriptedPlanner([]).next_step(context(), ShortTermMemory())
    with pytest.raises(PlannerStepError, match="returned no step"):
        ScriptedPlanner(lambda context, memory: None).next_step(context(), ShortTermMemory())


def test_system_prompt_is_a_package_file_with_the_tools_filled_in(registry: ToolRegistry) -> None:
    template = load_system_prompt_template()
    assert "$tools" in template
    planner = ChatPlanner(ListModel([]), registry)
    assert "$tools" not in planner.system_prompt
    assert "## add\nAdd two integers." in planner.system_prompt


def test_step_messages_have_goal_context_then_the_step_counter_last() -> None:
    step = context(2, context={"symbol": "NIFTY", "api_token": "s3cret"})
    goal = render_goal(step)
    assert goal.startswith("Goal: add numbers")
    assert '"symbol": "NIFTY"' in goal and "s3cret" not in goal
    counter = render_step_counter(step, ShortTermMemory())
    assert counter.startswith("This is step 3 of at most 4 (2 left, this one included).")


def test_chat_planner_re_asks_with_the_error_then_succeeds(registry: ToolRegistry) -> None:
    model = ListModel(
        ['{"tool": "add", "args": {"a": "x", "b": 1}}', '{"tool": "add", "args": {"a": 1, "b": 1}}']
    )
    reply = ChatPlanner(model, registry).next_step(context(), ShortTermMemory())
    assert reply.call == ToolCall(tool="add", args={"a": 1, "b": 1})
    assert reply.attempts == 2 and reply.prompt_tokens == 20 and reply.completion_tokens is None
    messages, schema = model.requests[1]
    assert schema == registry.call_schema()
    assert (
        messages[-1]["role"] == "user"
        and "args.a: Input should be a valid integer" in messages[-1]["content"]
    )


def test_chat_planner_gives_up_after_max_parse_retries(registry: ToolRegistry) -> None:
    model = ListModel(["a", "b"])
    with pytest.raises(PlannerStepError) as caught:
        ChatPlanner(model, registry, max_parse_retries=1).next_step(context(), ShortTermMemory())
    assert caught.value.raw_texts == ("a", "b")
    assert len(caught.value.feedback) == 2
    assert "list-model gave no usable tool call in 2 attempt(s)" in str(caught.value)


def test_chat_planner_without_retries_asks_once(registry: ToolRegistry) -> None:
    model = ListModel(["nope"])
    with pytest.raises(PlannerStepError):
        ChatPlanner(model, registry, max_parse_retries=0).next_step(context(), ShortTermMemory())
    assert len(model.requests) == 1

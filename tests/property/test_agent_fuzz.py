"""Whatever the model writes, the runtime either runs a valid call or records a planner error."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.agent import (
    AgentRunner,
    ChatCompletion,
    ChatMessage,
    ChatPlanner,
    Executor,
    ToolRegistry,
    parse_reply,
    tool,
)
from tradeloop.agent.jsonextract import balanced_object_end
from tradeloop.errors import ModelError


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first integer.
        b: The second integer.
    """
    return a + b


@tool(terminal=True)
def finish(summary: str) -> str:
    """Finish the run.

    Args:
        summary: What was done.
    """
    return summary


REGISTRY = ToolRegistry([add, finish])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
tool_names = st.sampled_from(["add", "finish", "ad", "Add", "", "delete_everything"])
argument_sets = st.one_of(
    st.fixed_dictionaries({"a": st.integers(), "b": st.integers()}),
    st.fixed_dictionaries({"summary": st.text(max_size=20)}),
    st.dictionaries(st.sampled_from(["a", "b", "summary", "x"]), json_values, max_size=3),
)
calls = st.fixed_dictionaries({"tool": tool_names, "args": argument_sets}) | st.dictionaries(
    st.sampled_from(["tool", "args", "thought"]), json_values, max_size=3
)
prose = st.text(max_size=40)


@st.composite
def model_replies(draw: st.DrawFn) -> str:
    """Text a model might produce: noise, or a call wrapped in prose, fences, think blocks."""
    if draw(st.booleans()):
        return draw(st.text(max_size=200))
    body = json.dumps(draw(calls))
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]  # a reply cut off mid-object
    think = draw(
        st.sampled_from(["", "<think>" + draw(prose) + "</think>", draw(prose) + "</think>"])
    )
    fence = draw(st.sampled_from([("", ""), ("```json\n", "\n```")]))
    return f"{think}{draw(prose)}{fence[0]}{body}{fence[1]}{draw(prose)}"


class ReplayingModel:
    name = "fuzz"

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.asked = 0

    def complete(
        self, messages: Sequence[ChatMessage], response_schema: dict[str, Any]
    ) -> ChatCompletion:
        reply = self.replies[self.asked % len(self.replies)]
        self.asked += 1
        return ChatCompletion(text=reply)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(model_replies(), min_size=1, max_size=3))
def test_model_text_gives_a_valid_executed_call_or_a_recorded_planner_error(
    replies: list[str],
) -> None:
    model = ReplayingModel(replies)
    planner = ChatPlanner(model, REGISTRY, max_parse_retries=2)
    runner = AgentRunner(planner, REGISTRY, max_steps=1, executor=Executor(sleep=lambda _: None))
    run = runner.run("fuzz")  # anything raised here fails the property
    (step,) = run.steps
    if run.outcome == "planner_error":
        assert step.error and step.result is None and step.executed_args is None
        assert model.asked == 3
    else:
        assert step.call is not None and step.result is not None
        resolved = REGISTRY.resolve(step.call)  # what ran was a valid call
        assert step.executed_args == resolved.args_json()
        assert run.outcome in ("done", "max_steps")


@settings(max_examples=300, deadline=None)
@given(model_replies())
def test_parse_reply_returns_an_object_or_raises_a_model_error(text: str) -> None:
    try:
        parsed = parse_reply(text)
    except ModelError as exc:
        assert str(exc)
    else:
        assert isinstance(parsed, dict)


@settings(deadline=None)
@given(
    json_values.filter(lambda value: isinstance(value, dict)),
    prose.filter(
        lambda t: "{" not in t and "think>" not in t.lower() and t.strip() and "`" not in t
    ),
)
def test_an_object_alone_is_parsed_and_prose_before_it_is_refused(
    value: dict[str, Any], before: str
) -> None:
    encoded = json.dumps(value)
    text = f"{before}{encoded} and more {{ text"
    start = len(before)
    assert balanced_object_end(text, start) == start + len(encoded)
    assert parse_reply(f" {encoded}\n") == value
    with pytest.raises(ModelError, match="starts with text"):
        parse_reply(f"{before}{encoded}")

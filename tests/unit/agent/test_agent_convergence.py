"""A loop that converges: feedback that says what to change, varied retries, repeats fed back
once, a stable prompt prefix with the step counter last, and a nudge to finish."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytest
from agent_helpers import Calls, runner_for

from tradeloop.agent import (
    AgentContext,
    ChatCompletion,
    ChatMessage,
    ChatPlanner,
    ShortTermMemory,
    StepRecord,
    ToolCall,
    ToolRegistry,
    ToolResult,
    tool,
)
from tradeloop.agent.builtin_tools import builtin_tools
from tradeloop.agent.chat import Decoding, accepts_decoding, retry_decoding
from tradeloop.agent.feedback import explain_invalid_call
from tradeloop.agent.prompting import (
    MAX_ECHOED_REPLY_CHARS,
    goal_hints,
    goal_tools,
    render_step_counter,
    result_digest,
)

ADD = '{"tool": "add", "args": {"a": 1, "b": 2}}'
FINISH = '{"tool": "finish", "args": {"summary": "added"}}'


class ScriptedChatModel:
    """A chat model that answers from a list and keeps every request and decoding."""

    name = "scripted-chat"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.requests: list[list[ChatMessage]] = []
        self.decodings: list[Decoding | None] = []
        self.schemas: list[dict[str, Any]] = []

    def complete(
        self,
        messages: Sequence[ChatMessage],
        response_schema: dict[str, Any],
        decoding: Decoding | None = None,
    ) -> ChatCompletion:
        self.requests.append(list(messages))
        self.decodings.append(decoding)
        self.schemas.append(response_schema)
        return ChatCompletion(text=self.replies.pop(0))


class PlainChatModel:
    """A chat model written before `decoding` existed: still usable, never varied."""

    name = "plain-chat"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.calls = 0

    def complete(
        self, messages: Sequence[ChatMessage], response_schema: dict[str, Any]
    ) -> ChatCompletion:
        self.calls += 1
        return ChatCompletion(text=self.replies.pop(0))


def context(step_index: int = 0, goal: str = "add numbers", max_steps: int = 6) -> AgentContext:
    return AgentContext(run_id="r", goal=goal, step_index=step_index, max_steps=max_steps)


# ------------------------------------------------------------------ feedback that says what to do


def test_arguments_of_another_tool_are_named_as_that_tools(registry: ToolRegistry) -> None:
    call = ToolCall(tool="finish", args={"a": 1, "b": 2})
    text = explain_invalid_call(registry, call, "invalid arguments for tool 'finish'.")
    assert "these are arguments of add, not of finish" in text
    assert "give finish its own arguments (summary)" in text


def test_arguments_that_look_like_another_tools_are_named(registry: ToolRegistry) -> None:
    call = ToolCall(tool="check_spec", args={"quantity": "ten"})
    text = explain_invalid_call(registry, call, "invalid arguments for tool 'check_spec'.")
    assert "these look like arguments of place_order, not of check_spec (period)" in text


def test_a_misspelt_argument_gets_the_nearest_name(registry: ToolRegistry) -> None:
    call = ToolCall(tool="check_spec", args={"perod": 14})
    text = explain_invalid_call(registry, call, "invalid arguments for tool 'check_spec'.")
    assert "args.perod: did you mean 'period'?" in text


def test_a_value_outside_a_fixed_set_gets_the_nearest_valid_value(calls: Calls) -> None:
    @tool(timeout_seconds=None)
    def bars(symbol: Literal["NIFTY", "BANKNIFTY"], timeframe: Literal["5m", "15m"]) -> None:
        """Candles of an index.

        Args:
            symbol: The index.
            timeframe: The bar size.
        """

    registry = ToolRegistry([bars])
    call = ToolCall(tool="bars", args={"symbol": "BANKNIFT", "timeframe": "15min"})
    text = explain_invalid_call(registry, call, "invalid arguments for tool 'bars'.")
    assert "args.symbol: use 'BANKNIFTY' (valid: NIFTY, BANKNIFTY)." in text
    assert "args.timeframe: use '15m' (valid: 5m, 15m)." in text


def test_the_runner_feeds_back_the_hints_for_a_scripted_planner(
    registry: ToolRegistry, calls: Calls
) -> None:
    run = runner_for(
        [{"tool": "finish", "args": {"a": 1, "b": 2}}, {"tool": "add", "args": {"a": 1, "b": 2}}],
        registry,
        max_steps=2,
    ).run("add")
    assert run.steps[0].error is not None
    assert "these are arguments of add, not of finish" in run.steps[0].error
    assert calls["finish"] == 0 and calls["add"] == 1


def test_the_chat_planner_feeds_back_the_hints(registry: ToolRegistry) -> None:
    model = ScriptedChatModel(['{"tool": "finish", "args": {"a": 1, "b": 2}}', ADD])
    reply = ChatPlanner(model, registry).next_step(context(), ShortTermMemory())
    assert reply.call == ToolCall(tool="add", args={"a": 1, "b": 2})
    assert "these are arguments of add, not of finish" in reply.feedback[0]


# ------------------------------------------------------------------ varied retries, error last


def test_a_retry_puts_the_error_last_and_varies_decoding(registry: ToolRegistry) -> None:
    model = ScriptedChatModel(['{"tool": "add", "args": {"a": "x", "b": 1}}', "nope", ADD])
    reply = ChatPlanner(model, registry).next_step(context(), ShortTermMemory())
    assert reply.call is not None and reply.attempts == 3
    assert model.decodings == [
        None,  # a first ask is never varied
        Decoding(temperature=0.2, seed=1),
        Decoding(temperature=0.4, seed=2),
    ]
    first, second, third = model.requests
    assert second[: len(first)] == first  # the retry extends the step's messages ...
    assert second[-2] == {
        "role": "assistant",
        "content": '{"tool": "add", "args": {"a": "x", "b": 1}}',
    }
    assert second[-1]["role"] == "user"  # ... with the error last
    assert "args.a: Input should be a valid integer" in second[-1]["content"]
    assert third[-1]["role"] == "user" and "no JSON object" in third[-1]["content"]


def test_retry_decoding_is_small_and_capped() -> None:
    assert [retry_decoding(retry).temperature for retry in (1, 2, 3, 9)] == [0.2, 0.4, 0.6, 0.6]
    assert Decoding(temperature=0.2, seed=1).options() == {"temperature": 0.2, "seed": 1}


def test_a_model_without_the_decoding_parameter_is_retried_plainly(
    registry: ToolRegistry,
) -> None:
    model = PlainChatModel(["nope", ADD])
    assert not accepts_decoding(model)
    reply = ChatPlanner(model, registry).next_step(context(), ShortTermMemory())
    assert reply.call is not None and model.calls == 2


def test_a_huge_rejected_reply_is_never_echoed_whole(registry: ToolRegistry) -> None:
    garbage = "x" * 200_000
    model = ScriptedChatModel([garbage, ADD])
    ChatPlanner(model, registry).next_step(context(), ShortTermMemory())
    retry = model.requests[1]
    assert len(retry[-2]["content"]) < MAX_ECHOED_REPLY_CHARS + 40
    assert sum(len(message["content"]) for message in retry) < 64_000


# ------------------------------------------------------------------ repeats fed back once


def test_a_repeated_call_from_a_chat_model_is_fed_back_once_then_the_run_stops(
    registry: ToolRegistry, calls: Calls
) -> None:
    model = ScriptedChatModel([ADD, ADD, ADD])
    run = runner_for(ChatPlanner(model, registry), registry).run("add 1 and 2")
    assert run.outcome == "loop_detected" and calls["add"] == 1
    assert [step.error_type for step in run.steps] == [None, "RepeatedCall", "LoopDetected"]
    third = model.requests[2]
    assert third[-2]["content"].startswith(
        "Step 2 result: rejected, not run: you already have this result (step 1): use it or "
        'finish. It was: ok: {"sum":3}.'
    )
    # The step after one that ran nothing is a retry: its error is last, its decoding varied.
    assert third[-1]["content"].endswith(
        "Your last call (step 2) was not run: you already have this result (step 1): use it or "
        'finish. It was: ok: {"sum":3}. The same call again ends the run.'
    )
    assert model.decodings == [None, None, Decoding(temperature=0.2, seed=1)]


def test_a_step_after_a_tool_refused_the_call_for_good_varies_decoding(
    registry: ToolRegistry,
) -> None:
    def step_after(result: ToolResult) -> Decoding | None:
        memory = ShortTermMemory()
        memory.add(
            StepRecord(
                index=0,
                call=ToolCall(tool="add", args={"a": 1, "b": 2}),
                validated_args={"a": 1, "b": 2},
                executed_args={"a": 1, "b": 2},
                result=result,
                attempts=1,
            )
        )
        model = ScriptedChatModel([FINISH])
        ChatPlanner(model, registry).next_step(context(1), memory)
        return model.decodings[0]

    # At temperature 0 the same prompt repeats the refused call: the next ask is varied.
    refused = ToolResult.failure("SpecError", "the window leaves the session")
    assert step_after(refused) == Decoding(temperature=0.2, seed=1)
    # A result worth asking for again, or a success, keeps the first ask plain.
    assert step_after(ToolResult.failure("Busy", "try again", retryable=True)) is None
    assert step_after(ToolResult.ok({"sum": 3})) is None


def _tools_in(schema: dict[str, Any]) -> set[str]:
    return {variant["properties"]["tool"]["const"] for variant in schema["anyOf"]}


def test_after_a_repeat_the_next_step_cannot_decode_the_repeated_tool(
    registry: ToolRegistry, calls: Calls
) -> None:
    """Valid by construction for convergence too: once a call was repeated, the steps after it
    are sent a schema without that tool, so a constrained model moves on (other tools stay)."""
    other = '{"tool": "check_spec", "args": {"period": 1}}'
    model = ScriptedChatModel([ADD, ADD, other, FINISH])
    run = runner_for(ChatPlanner(model, registry), registry).run("add 1 and 2")
    assert run.outcome == "done" and calls["add"] == 1
    every = _tools_in(registry.call_schema())
    sent = [_tools_in(schema) for schema in model.schemas]
    assert sent == [every, every, every - {"add"}, every - {"add"}]


# ------------------------------------------------------------------ a stable prompt prefix


def test_the_messages_of_each_step_extend_the_previous_steps_but_for_the_counter(
    registry: ToolRegistry,
) -> None:
    model = ScriptedChatModel(
        [
            ADD,
            '{"tool": "add", "args": {"a": 3, "b": 4}}',
            '{"tool": "check_spec", "args": {"period": 1}}',
            FINISH,
        ]
    )
    run = runner_for(ChatPlanner(model, registry), registry).run("sum things", {"k": 1})
    assert run.outcome == "done" and len(model.requests) == 4
    for previous, current in zip(model.requests, model.requests[1:], strict=False):
        assert current[: len(previous) - 1] == previous[:-1]
        assert current[-1]["content"].startswith("This is step ")
    last = model.requests[-1]
    assert [message["role"] for message in last] == [
        "system",
        "user",
        *(["assistant", "user"] * 3),
        "user",
    ]
    assert last[1]["content"] == 'Goal: sum things\n\nContext: {"k": 1}'
    assert last[2]["content"] == '{"tool":"add","args":{"a":1,"b":2}}'
    assert last[3]["content"] == 'Step 1 result: ok: {"sum":3}'
    assert last[-1]["content"].startswith("This is step 4 of at most 10 (7 left")


# ------------------------------------------------------------------ a nudge to finish


def done_step(index: int, tool_name: str) -> StepRecord:
    return StepRecord(
        index=index,
        call=ToolCall(tool=tool_name, args={}),
        validated_args={},
        executed_args={},
        result=ToolResult.ok({"x": 1}),
        attempts=1,
    )


def test_the_counter_says_to_finish_once_the_goals_calls_succeeded(
    registry: ToolRegistry,
) -> None:
    memory = ShortTermMemory()
    goal = "add 1 and 2 and report the sum"
    assert "call finish" not in render_step_counter(context(0, goal), memory, registry.names)
    memory.add(done_step(0, "add"))
    counter = render_step_counter(context(1, goal), memory, registry.names)
    assert counter.endswith(
        "Found so far: add: x 1\nThat is what the goal asks for (add): call finish, unless it "
        "needs more.\n"
        'Reply with the next call as one JSON object: {"tool": ..., "args": {...}}'
    )


def test_no_nudge_while_a_tool_the_goal_names_has_not_succeeded(registry: ToolRegistry) -> None:
    memory = ShortTermMemory()
    memory.add(done_step(0, "add"))
    goal = "add the numbers, then quote NIFTY"
    assert "call finish" not in render_step_counter(context(1, goal), memory, registry.names)


def test_the_last_step_always_says_to_finish(registry: ToolRegistry) -> None:
    counter = render_step_counter(context(5, max_steps=6), ShortTermMemory(), registry.names)
    assert "Last step: only finish or refuse can be called now." in counter


def test_the_last_step_offers_only_the_terminal_tools(registry: ToolRegistry) -> None:
    model = ScriptedChatModel([FINISH])
    ChatPlanner(model, registry).next_step(context(5, max_steps=6), ShortTermMemory())
    assert (
        _tools_in(model.schemas[0])
        == {each.name for each in registry if each.terminal}
        != set(registry.names)
    )


def test_a_repeated_rejected_call_is_told_to_change_not_to_use_a_result(
    registry: ToolRegistry, calls: Calls
) -> None:
    bad = {"tool": "add", "args": {"a": "one", "b": 2}}
    run = runner_for([bad, bad, bad], registry).run("add")
    assert run.outcome == "loop_detected" and calls["add"] == 0
    error = run.steps[1].error
    assert error is not None
    assert error.startswith(
        "this call was already rejected (step 1): change it as the error says, or finish. "
        "It was: rejected, not run: invalid arguments for tool 'add'"
    )


def test_an_error_quoting_a_huge_reply_is_cut_in_the_history() -> None:
    memory = ShortTermMemory()
    memory.add(StepRecord(index=0, planner_raw="x" * 100_000, error="bad: " + "x" * 100_000))
    rendered = memory.render()
    assert len(rendered) < 1_200 and "[truncated" in rendered


# ------------------------------------------------------------------ hints from the goal's words


def test_a_goal_asking_what_no_tool_does_is_pointed_at_refuse_once_per_reason() -> None:
    unavailable = {
        "delete": "no tool deletes remembered strategies",
        "broker": "no tool talks to the broker",
        "paper trading": "no tool talks to the broker",
    }
    hints = goal_hints(
        "Send my strategies to the Broker for paper trading", ShortTermMemory(), (), unavailable
    )
    assert hints == [
        'Call refuse: the goal says "broker", "paper trading", and no tool talks to the broker.'
    ]
    assert goal_hints("Delete all orders", ShortTermMemory(), (), unavailable)[0].startswith(
        'Call refuse: the goal says "delete"'
    )


def test_unavailable_phrases_match_whole_words_and_plurals_only() -> None:
    unavailable = {"order": "no tool places orders"}
    assert goal_hints("cancel my orders", ShortTermMemory(), (), unavailable)
    for goal in ("sort the bordered table", "list them as ordered"):
        assert not goal_hints(goal, ShortTermMemory(), (), unavailable), goal


def test_the_tools_a_goal_names_are_hinted_until_they_succeed() -> None:
    names = (
        "finish",
        "best_strategies",
        "strategy_details",
        "backtest_strategy",
        "list_indicators",
    )
    memory = ShortTermMemory()
    goal = "Show the details of the best strategies, then list indicators"
    assert goal_hints(goal, memory, names, {}) == [
        "Tools the goal names: best_strategies, strategy_details, list_indicators."
    ]
    memory.add(done_step(0, "best_strategies"))
    assert goal_hints(goal, memory, names, {}) == [
        "Tools the goal names: strategy_details, list_indicators."
    ]
    # In the registry's order, whatever the goal's order.
    assert goal_hints("list indicators, then backtest", memory, names, {}) == [
        "Tools the goal names: backtest_strategy, list_indicators."
    ]
    # "strategy" is a word of most tools' names: it names none of them.
    assert goal_hints("a strategy please", ShortTermMemory(), names, {}) == []
    assert goal_tools("backtesting an idea", names) == [frozenset({"backtest_strategy"})]


def test_a_tools_keywords_name_it_in_a_goal() -> None:
    tools = {"strategy_schema": ("format",), "backtest_strategy": ()}
    assert goal_tools("show me the spec formats", tools) == [frozenset({"strategy_schema"})]
    assert goal_tools("show me the spec formats", tuple(tools)) == []


# ------------------------------------------------------------------ a budget per tool


def test_a_tool_whose_budget_is_spent_is_no_longer_offered() -> None:
    @tool(timeout_seconds=None, max_calls=2)
    def read_section(section: str) -> str:
        """Read a section of a manual.

        Args:
            section: Which section.
        """
        return section

    registry = ToolRegistry([read_section, *builtin_tools()])
    replies = [
        '{"tool": "read_section", "args": {"section": "a"}}',
        '{"tool": "read_section", "args": {"section": "b"}}',
        FINISH,
    ]
    model = ScriptedChatModel(replies)
    run = runner_for(ChatPlanner(model, registry), registry).run("read the manual")
    assert run.outcome == "done"
    offered = [_tools_in(schema) for schema in model.schemas]
    assert ["read_section" in tools for tools in offered] == [True, True, False]


def test_a_budget_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_calls must be at least 1"):

        @tool(max_calls=0)
        def nothing() -> None:
            """Do nothing."""


def test_the_digest_of_a_result_is_its_facts_in_order() -> None:
    record = done_step(0, "best_strategies").model_copy(
        update={
            "result": ToolResult.ok(
                {"strategies": [{"name": "a", "score": 0.31}, {"name": "b"}], "min_score": 0.5}
            )
        }
    )
    assert result_digest(record) == "strategies 2 item(s), name a, score 0.31, min_score 0.5"
    assert result_digest(done_step(0, "x").model_copy(update={"result": ToolResult.ok()})) == (
        "(no data)"
    )


def test_what_was_found_is_cut_at_a_fact_without_a_count_to_copy() -> None:
    memory = ShortTermMemory()
    facts = {f"field_{number}": number for number in range(60)}
    memory.add(done_step(0, "best_strategies").model_copy(update={"result": ToolResult.ok(facts)}))
    counter = render_step_counter(context(5, max_steps=6), memory, ("best_strategies",))
    found = counter.split("Found so far: ", 1)[1].split("\n", 1)[0]
    assert found.startswith("best_strategies: field_0 0, field_1 1,") and found.endswith(" …")
    assert len(found) <= 310 and "truncated" not in found
    assert found[: -len(" …")].endswith(tuple(f"field_{n} {n}" for n in range(60)))

"""Short-term memory: a bounded window rendered compactly for the prompt."""

from __future__ import annotations

from tradeloop.agent import ShortTermMemory, StepRecord, ToolCall, ToolResult, ValidatorDecision
from tradeloop.agent.memory import truncate


def executed(index: int, result: ToolResult, **args: object) -> StepRecord:
    return StepRecord(
        index=index,
        call=ToolCall(tool="lookup", args=dict(args)),  # type: ignore[arg-type]
        validated_args=dict(args),  # type: ignore[arg-type]
        executed_args=dict(args),  # type: ignore[arg-type]
        result=result,
        attempts=1,
    )


def test_window_keeps_the_last_steps_and_says_how_many_are_hidden() -> None:
    memory = ShortTermMemory(window=3)
    for index in range(5):
        memory.add(executed(index, ToolResult.ok(index), n=index))
    assert [record.index for record in memory.records] == [2, 3, 4]
    assert memory.total_steps == 5 and len(memory) == 3
    rendered = memory.render()
    assert rendered.startswith("(2 earlier step(s) not shown)")
    assert 'Step 3: lookup {"n":2}\n  -> ok: 2' in rendered
    assert "Step 2:" not in rendered


def test_default_window_is_ten() -> None:
    memory = ShortTermMemory()
    for index in range(12):
        memory.add(executed(index, ToolResult.ok()))
    assert len(memory) == 10


def test_large_results_are_shortened_then_cut_with_markers_saying_how_much_was_cut() -> None:
    memory = ShortTermMemory(max_result_chars=100)
    memory.add(executed(0, ToolResult.ok("x" * 1334)))
    rendered = memory.render()
    assert "… [+1134 chars]" not in rendered  # the shortened string is itself cut to 100
    assert rendered.endswith("… [truncated 117 chars]")  # 217 chars shortened, 100 kept
    assert len(rendered) < 200


def test_a_result_that_fits_is_shown_whole() -> None:
    memory = ShortTermMemory(max_result_chars=100)
    memory.add(executed(0, ToolResult.ok({"rows": list(range(20))})))
    assert '-> ok: {"rows":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]}' in memory.render()


def test_a_long_list_is_kept_to_its_first_items_with_a_count_of_the_rest() -> None:
    memory = ShortTermMemory(max_result_chars=300)
    rows = [{"spec_id": f"s{index}", "score": index / 10} for index in range(40)]
    memory.add(executed(0, ToolResult.ok({"best": rows})))
    rendered = memory.render()
    assert '{"spec_id":"s4","score":0.4},"… 35 more item(s)"]' in rendered
    assert "s5" not in rendered and len(rendered) < 400


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("0123456789abc", 10) == "0123456789… [truncated 3 chars]"


def test_errors_refusals_and_rejections_are_rendered_for_the_model() -> None:
    memory = ShortTermMemory()
    memory.add(StepRecord(index=0, planner_raw="hello", error="the reply contains no JSON object"))
    memory.add(executed(1, ToolResult.failure("Timeout", "too slow", retryable=True)))
    refused = ToolResult.failure("Refused", "over the limit")
    memory.add(
        executed(2, refused).model_copy(
            update={"validator": ValidatorDecision.refuse("over the limit"), "executed_args": None}
        )
    )
    rendered = memory.render()
    assert "Step 1: your reply was rejected: the reply contains no JSON object" in rendered
    assert "-> error Timeout (retryable): too slow" in rendered
    assert "-> refused by the validator: over the limit" in rendered


def test_secrets_never_reach_the_prompt() -> None:
    memory = ShortTermMemory()
    memory.add(
        executed(0, ToolResult.ok({"access_token": "eyJhbGciOi", "ok": True}), password="hunter2")
    )
    rendered = memory.render()
    assert "eyJhbGciOi" not in rendered and "hunter2" not in rendered
    assert "***REDACTED***" in rendered


def test_empty_memory_renders_a_placeholder() -> None:
    assert ShortTermMemory().render() == "(no steps yet)"
    assert ShortTermMemory().last is None


def test_arguments_rewritten_by_the_validator_are_shown() -> None:
    memory = ShortTermMemory()
    memory.add(
        executed(0, ToolResult.ok(), quantity=10).model_copy(
            update={
                "validated_args": {"quantity": 50},
                "validator": ValidatorDecision.rewrite({"quantity": 10}, "capped to the limit"),
            }
        )
    )
    assert '(run as {"quantity":10}: the validator changed the arguments: capped to the limit)' in (
        memory.render()
    )

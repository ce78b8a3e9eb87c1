"""Arguments bound to what the run has seen: an id the model writes must be one a tool gave."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

from tradeloop.agent import ChatPlanner, ShortTermMemory, StepRecord, ToolCall, ToolRegistry, tool
from tradeloop.agent.builtin_tools import builtin_tools
from tradeloop.agent.chat import ChatCompletion
from tradeloop.agent.records import AgentContext
from tradeloop.agent.seen_values import FROM_RESULTS, bind_to_results, from_results, seen_values
from tradeloop.agent.tool import ToolResult


@tool(timeout_seconds=None)
def details(spec_id: Annotated[str, Field(json_schema_extra=from_results("spec_id"))]) -> str:
    """A remembered strategy.

    Args:
        spec_id: An id a result gave.
    """
    return spec_id


REGISTRY = ToolRegistry([details, *builtin_tools()])


def ran(index: int, data: Any, status: str = "ok") -> StepRecord:
    result = ToolResult.ok(data) if status == "ok" else ToolResult.failure("Err", "no")
    return StepRecord(
        index=index,
        call=ToolCall(tool="best", args={}),
        executed_args={},
        result=result,
        attempts=1,
    )


def variant(schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    for each in schema["anyOf"]:
        if each["properties"]["tool"]["const"] == name:
            return dict(each["properties"]["args"])
    return None


def test_values_are_found_at_any_depth_in_successful_results_only() -> None:
    records = [
        ran(0, {"strategies": [{"spec_id": "aaaa"}, {"spec_id": "bbbb"}], "min_score": 0.5}),
        ran(1, {"spec_id": "cccc"}, status="error"),
        ran(2, {"spec_id": "aaaa", "nested": {"deeper": [{"spec_id": "dddd"}]}}),
    ]
    assert seen_values(records, "spec_id") == ["bbbb", "aaaa", "dddd"]


def test_before_any_id_is_seen_the_tool_needing_one_is_not_offered() -> None:
    schema = bind_to_results(REGISTRY.call_schema(), [])
    assert variant(schema, "details") is None
    finish = variant(schema, "finish")
    assert finish is not None and "best_spec_id" not in finish["properties"]
    assert FROM_RESULTS not in json.dumps(schema)


def test_once_seen_an_id_argument_is_an_enum_of_the_seen_ids() -> None:
    schema = bind_to_results(REGISTRY.call_schema(), [ran(0, {"spec_id": "131c75288aff0dc2"})])
    found = variant(schema, "details")
    assert found is not None
    assert found["properties"]["spec_id"]["enum"] == ["131c75288aff0dc2"]
    finish = variant(schema, "finish")
    assert finish is not None
    assert finish["properties"]["best_spec_id"]["enum"] == ["131c75288aff0dc2"]
    assert FROM_RESULTS not in json.dumps(schema)


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.schemas: list[dict[str, Any]] = []

    def complete(self, messages: Any, response_schema: dict[str, Any]) -> ChatCompletion:
        self.schemas.append(response_schema)
        return ChatCompletion(text='{"tool": "finish", "args": {"summary": "done"}}')


def test_the_chat_planner_sends_the_bound_schema_and_the_prompt_hides_the_marker() -> None:
    model = Recorder()
    planner = ChatPlanner(model, REGISTRY)
    context = AgentContext(run_id="r", goal="details", step_index=0, max_steps=4)
    planner.next_step(context, ShortTermMemory())
    assert variant(model.schemas[0], "details") is None
    assert FROM_RESULTS not in planner.system_prompt

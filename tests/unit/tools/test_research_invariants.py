"""Invariant 2 on the research tools: what the model proposes is never executed unless it is a
known tool with valid arguments, and an invalid spec only ever comes back as an error."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from research_tool_helpers import EXAMPLE_SPEC, compact_json, no_sleep, payload

from tradeloop.agent import AgentRunner, Executor, ScriptedPlanner, ToolRegistry
from tradeloop.app import stores
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import ModelError, SpecError
from tradeloop.settings import Settings

INVALID_SPEC = {**EXAMPLE_SPEC, "exit": {"stop_loss": {"kind": "swing_high"}}}
JSON_LEAVES = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_LEAVES | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def test_unknown_tools_and_invalid_specs_are_only_error_observations(
    registry: ToolRegistry, stored: Settings
) -> None:
    replies = [
        '{"tool": "place_order", "args": {"symbol": "NIFTY", "quantity": 75}}',
        json.dumps({"tool": "backtest_strategy", "args": {"spec": INVALID_SPEC}}),
        json.dumps({"tool": "backtest_strategy", "args": {"spec": json.dumps(EXAMPLE_SPEC)}}),
        json.dumps({"tool": "backtest_strategy", "args": {"spec": EXAMPLE_SPEC, "size": 2}}),
        '{"tool": "finish", "args": {"summary": "nothing valid to test"}}',
    ]
    runner = AgentRunner(ScriptedPlanner(replies, name="fake-llm"), registry)
    run = runner.run("test the model's mistakes")
    assert run.outcome == "done"
    unknown, invalid_spec, spec_as_text, extra_argument, _ = run.steps

    assert not unknown.executed and unknown.result is None
    assert "unknown tool 'place_order'" in str(unknown.error)

    # The spec passed the args schema (it is an object), so the tool ran, and refused it.
    assert invalid_spec.result is not None and invalid_spec.result.error is not None
    assert invalid_spec.result.error.type == "SpecError"
    assert "exit.stop_loss.kind: a long strategy" in invalid_spec.result.error.message

    for rejected in (spec_as_text, extra_argument):
        assert not rejected.executed and rejected.result is None
        assert "invalid arguments for tool 'backtest_strategy'" in str(rejected.error)

    assert stores.strategy_memory(stored).best() == []  # nothing was evaluated


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=JSON_VALUES)
def test_arbitrary_json_as_a_spec_is_refused_or_an_error_result(
    registry: ToolRegistry, spec: Any
) -> None:
    try:
        resolved = registry.resolve({"tool": "backtest_strategy", "args": {"spec": spec}})
    except ModelError:
        assert not isinstance(spec, dict)  # only a non-object is refused by the schema
        return
    result = Executor(sleep=no_sleep).execute(resolved).result
    assert result.status == "error" and result.error is not None
    assert result.error.type == "SpecError" and not result.error.retryable


def _mutations() -> st.SearchStrategy[tuple[list[str | int], Any]]:
    paths: list[list[str | int]] = []

    def walk(node: Any, path: list[str | int]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])

    walk(EXAMPLE_SPEC, [])
    return st.tuples(st.sampled_from(paths[1:]), JSON_VALUES | st.just("<delete>"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutation=_mutations())
def test_a_mutated_spec_validates_exactly_when_the_spec_model_accepts_it(
    registry: ToolRegistry, mutation: tuple[list[str | int], Any]
) -> None:
    path, value = mutation
    document = json.loads(json.dumps(EXAMPLE_SPEC))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if value == "<delete>" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    resolved = registry.resolve({"tool": "validate_strategy", "args": {"spec": document}})
    result = Executor(sleep=no_sleep).execute(resolved).result
    compact_json(result)  # JSON-safe either way
    try:
        expected = StrategySpec.from_document(document)
    except SpecError:
        assert result.error is not None and result.error.type == "SpecError"
        assert "Fix these fields" in result.error.message
    else:
        assert result.status == "ok" and payload(result)["spec_id"] == expected.id

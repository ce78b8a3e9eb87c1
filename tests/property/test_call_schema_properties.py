"""The per-tool call schema makes every schema-valid reply a valid call for the named tool.

Replies are generated from the call schema itself (a small generator for the keywords pydantic
emits: `hypothesis-jsonschema` is not installed), sent through `parse_reply` and the registry.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.agent import ToolCall, ToolRegistry, parse_reply, tool
from tradeloop.agent.builtin_tools import builtin_tools
from tradeloop.tools.reference import EXAMPLE_SPEC
from tradeloop.tools.research import validate_strategy

LIMIT = 4  # generated strings and arrays stay short: the bounds are checked in unit tests


@tool
def scale(values: list[float], factor: float = 1.0, label: str | None = None) -> int:
    """Scale a series.

    Args:
        values: The series.
        factor: The factor.
        label: A label.
    """
    return len(values)


REGISTRY = ToolRegistry([*builtin_tools(), scale])
SCHEMA = REGISTRY.call_schema()


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[-1]]))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(member) for member in schema[key]])
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", ()))
        properties = schema.get("properties", {})
        return st.fixed_dictionaries(
            {name: from_schema(sub) for name, sub in properties.items() if name in required},
            optional={
                name: from_schema(sub) for name, sub in properties.items() if name not in required
            },
        )
    if kind == "array":
        top = min(schema.get("maxItems", LIMIT), LIMIT)
        return st.lists(
            from_schema(schema.get("items", {})), min_size=schema.get("minItems", 0), max_size=top
        )
    if kind == "string":
        return st.text(
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", LIMIT), LIMIT * 4),
        )
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6))
    if kind == "number":
        return st.floats(-1e6, 1e6, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise AssertionError(f"generator does not know {schema}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(from_schema(SCHEMA), st.sampled_from(["", " ", "\n", "<think>hmm</think>\n"]))
def test_a_schema_valid_reply_is_a_valid_call_for_the_tool_it_names(
    reply: dict[str, Any], prefix: str
) -> None:
    jsonschema.validate(reply, SCHEMA)  # the generator produced what decoding may produce
    call = ToolCall.from_raw(parse_reply(prefix + json.dumps(reply)))
    resolved = REGISTRY.resolve(call)
    assert resolved.name == reply["tool"]


@given(st.data())
def test_a_tool_name_with_another_tools_arguments_is_refused_by_the_schema(
    data: st.DataObject,
) -> None:
    names = list(REGISTRY.names)
    variants = {variant["properties"]["tool"]["const"]: variant for variant in SCHEMA["anyOf"]}
    donor = data.draw(st.sampled_from(names))
    args = data.draw(from_schema(variants[donor]["properties"]["args"]))
    other = data.draw(st.sampled_from([name for name in names if name != donor]))
    reply = {"tool": other, "args": args}
    # Refused, unless the arguments happen to fit the named tool too: then they are valid for it.
    if jsonschema.Draft202012Validator(SCHEMA).is_valid(reply):
        assert REGISTRY.resolve(reply).name == other


def test_finish_without_its_summary_and_a_spec_for_finish_are_refused() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert not validator.is_valid({"tool": "finish", "args": {}})
    assert not validator.is_valid({"tool": "finish", "args": {"summary": "x", "values": []}})


def test_the_spec_argument_carries_the_strategy_spec_schema() -> None:
    schema = ToolRegistry([validate_strategy]).call_schema()
    spec = schema["anyOf"][0]["properties"]["args"]["properties"]["spec"]
    assert spec["$ref"] == "#/$defs/StrategySpec"
    assert "StrategySpec" in schema["$defs"] and "Condition" in schema["$defs"]
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"tool": "validate_strategy", "args": {"spec": EXAMPLE_SPEC}})
    broken = {**EXAMPLE_SPEC, "entry": {"all": [{"left": "rsi", "op": "above"}]}}
    assert not validator.is_valid({"tool": "validate_strategy", "args": {"spec": broken}})
    assert not validator.is_valid({"tool": "validate_strategy", "args": {"spec": {}}})

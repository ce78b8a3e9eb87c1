"""The per-tool call schema makes every schema-valid reply a valid call for the named tool.

Replies are generated from the call schema itself (a small generator for the keywords pydantic
emits: `hypothesis-jsonschema` is not installed), sent through `parse_reply` and the registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.agent import ToolCall, ToolRegistry, parse_reply, tool
from tradeloop.agent.builtin_tools import builtin_tools
from tradeloop.agent.registry import _without_titles, bounded
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.tools.reference import EXAMPLE_SPEC
from tradeloop.tools.research import validate_strategy
from tradeloop.tools.spec_grammar import decoding_spec_schema, narrow_spec_definitions

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


def from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None
) -> st.SearchStrategy[Any]:
    """Values valid under `schema`; its references point into `root`'s `$defs` (the call schema's
    unless given)."""
    base = SCHEMA if root is None else root
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: from_schema(base["$defs"][name], base))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(member, base) for member in schema[key]])
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", ()))
        properties = schema.get("properties", {})
        return st.fixed_dictionaries(
            {name: from_schema(sub, base) for name, sub in properties.items() if name in required},
            optional={
                name: from_schema(sub, base)
                for name, sub in properties.items()
                if name not in required
            },
        )
    if kind == "array" and "prefixItems" in schema:
        return st.tuples(*(from_schema(item, base) for item in schema["prefixItems"])).map(list)
    if kind == "array":
        top = min(schema.get("maxItems", LIMIT), LIMIT)
        return st.lists(
            from_schema(schema.get("items", {}), base),
            min_size=schema.get("minItems", 0),
            max_size=top,
        )
    if kind == "string" and "pattern" in schema:
        top = min(schema.get("maxLength", LIMIT * 4), LIMIT * 4)
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda text: 0 < len(text) <= top
        )
    if kind == "string":
        return st.text(
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", LIMIT), LIMIT * 4),
        )
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(10**6) - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 10**6 + 1) - 1)
        return st.integers(low, high)
    if kind == "number":
        return st.floats(
            schema.get("minimum", schema.get("exclusiveMinimum", -1e6)),
            schema.get("maximum", schema.get("exclusiveMaximum", 1e6)),
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
            allow_nan=False,
        )
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
    schema = ToolRegistry([validate_strategy], narrow=narrow_spec_definitions).call_schema()
    spec = schema["anyOf"][0]["properties"]["args"]["properties"]["spec"]
    assert spec["$ref"] == "#/$defs/StrategySpec"
    assert "StrategySpec" in schema["$defs"] and "Condition" in schema["$defs"]
    grammar = decoding_spec_schema()["$defs"]
    for name in ("Condition", "IndicatorOperand"):
        assert schema["$defs"][name] == bounded(_without_titles(grammar[name])), name
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"tool": "validate_strategy", "args": {"spec": EXAMPLE_SPEC}})
    broken = {**EXAMPLE_SPEC, "entry": {"all": [{"left": "rsi", "op": "above"}]}}
    assert not validator.is_valid({"tool": "validate_strategy", "args": {"spec": broken}})
    assert not validator.is_valid({"tool": "validate_strategy", "args": {"spec": {}}})


SPEC_GRAMMAR = decoding_spec_schema()
SPEC_SCHEMA = StrategySpec.model_json_schema()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.deferred(lambda: from_schema(SPEC_GRAMMAR, SPEC_GRAMMAR)))
def test_the_decoding_grammar_is_never_wider_than_the_spec_schema(document: Any) -> None:
    jsonschema.validate(document, SPEC_GRAMMAR)
    jsonschema.validate(document, SPEC_SCHEMA)


def test_the_decoding_grammar_closes_what_a_small_model_walked_through() -> None:
    grammar = jsonschema.Draft202012Validator(SPEC_GRAMMAR)
    spec_schema = jsonschema.Draft202012Validator(SPEC_SCHEMA)
    ema = {"indicator": "ema", "period": 9}
    cases = {
        "a number on the left": {"left": 1, "op": "<", "right": 100},
        "a parameter the indicator does not have": {
            "left": {"indicator": "ema", "fast": 9},
            "op": ">",
            "right": ema,
        },
        "an unknown indicator": {"left": {"indicator": "superduper"}, "op": ">", "right": 1},
        "a period out of range": {"left": {"indicator": "rsi", "period": 0}, "op": ">", "right": 1},
        "an output the indicator does not have": {
            "left": {"indicator": "macd", "output": "banana"},
            "op": ">",
            "right": 0,
        },
    }
    for what, condition in cases.items():
        spec = {**EXAMPLE_SPEC, "entry": {"all": [condition]}}
        assert not grammar.is_valid(spec), what
    for start, end, inside in (
        ("09:15", "15:30", True),
        ("20:00", "21:00", False),
        ("09:14", "14:30", False),
        ("09:30", "15:31", False),
    ):
        spec = {**EXAMPLE_SPEC, "filters": {"time_window": {"start": start, "end": end}}}
        assert grammar.is_valid(spec) is inside, (start, end)
        assert spec_schema.is_valid(spec)
    assert spec_schema.is_valid({**EXAMPLE_SPEC, "entry": {"all": [cases["a number on the left"]]}})
    crossing = {"left": ema, "op": "crosses_above", "right": {"indicator": "ema", "period": 21}}
    assert grammar.is_valid({**EXAMPLE_SPEC, "entry": {"all": [crossing]}})
    macd = {"left": {"indicator": "macd", "output": "signal"}, "op": ">", "right": 0}
    assert grammar.is_valid({**EXAMPLE_SPEC, "entry": {"any": [macd]}})


def test_every_shipped_example_spec_fits_the_decoding_grammar() -> None:
    grammar = jsonschema.Draft202012Validator(SPEC_GRAMMAR)
    examples = sorted((Path(__file__).parents[2] / "examples" / "strategies").glob("*.json"))
    assert examples
    for path in examples:
        document = json.loads(path.read_text(encoding="utf-8"))
        errors = [error.message for error in grammar.iter_errors(document)]
        assert not errors, f"{path.name}: {errors[:2]}"

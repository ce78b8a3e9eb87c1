"""The registry: unique names, validated calls, short errors for the model, schemas."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from tradeloop.agent import Tool, ToolCall, ToolRegistry, ToolResult, tool
from tradeloop.agent.registry import DESCRIBED_DEFINITIONS_CHARS, MAX_ARRAY_ITEMS, bounded
from tradeloop.agent.tool import MAX_STRING_CHARS
from tradeloop.errors import ModelError


def test_registering_two_tools_with_one_name_fails(registry: ToolRegistry) -> None:
    @tool(name="add")
    def another_add(a: int) -> int:
        """Another add.

        Args:
            a: A value.
        """
        return a

    with pytest.raises(ValueError, match="a tool named 'add' is already registered"):
        registry.register(another_add)


def test_resolve_returns_validated_arguments(registry: ToolRegistry) -> None:
    resolved = registry.resolve({"tool": "add", "args": {"a": "2", "b": 3}})
    assert resolved.name == "add"
    assert resolved.args_json() == {"a": 2, "b": 3}


def test_unknown_tool_lists_valid_names_and_suggests_the_closest(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError) as caught:
        registry.resolve({"tool": "ad", "args": {}})
    message = str(caught.value)
    assert "unknown tool 'ad'" in message
    assert "Did you mean 'add'?" in message
    assert "Valid tools: add, explode, check_spec, quote, place_order, finish." in message


def test_unknown_tool_without_a_close_name_gives_no_suggestion(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError) as caught:
        registry.resolve({"tool": "zzzzzz", "args": {}})
    assert "Did you mean" not in str(caught.value)


def test_invalid_argument_type_is_reported_in_short_form(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError) as caught:
        registry.resolve({"tool": "add", "args": {"a": "abc", "b": 1}})
    message = str(caught.value)
    assert "args.a: Input should be a valid integer" in message
    assert "(got 'abc')" in message
    assert "Fix the arguments" in message


def test_missing_and_unknown_arguments_are_named(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError) as caught:
        registry.resolve({"tool": "add", "args": {"a": 1, "c": 2}})
    message = str(caught.value)
    assert "args.b: Field required" in message
    assert "args.c: Extra inputs are not permitted (valid arguments: a, b)" in message


def test_secret_argument_values_are_not_echoed_in_errors() -> None:
    class LoginArgs(BaseModel):
        api_key: int

    class Login(Tool[LoginArgs]):
        name = "login"
        description = "Log in."
        Args = LoginArgs

        def call(self, args: LoginArgs) -> ToolResult:
            return ToolResult.ok()

    registry = ToolRegistry([Login()])
    with pytest.raises(ModelError) as caught:
        registry.resolve({"tool": "login", "args": {"api_key": "sk-very-secret"}})
    assert "sk-very-secret" not in str(caught.value)
    assert "args.api_key" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([1, 2], "JSON array, not an object"),
        ({"args": {}}, 'no "tool" name'),
        ({"tool": "add"}, 'no "args" object'),
        ({"tool": "add", "args": [1]}, '"args" must be a JSON object, got a JSON array'),
        ({"tool": "add", "args": {}, "thought": "x"}, "unexpected key(s) 'thought'"),
    ],
)
def test_malformed_envelopes_say_what_to_change(
    registry: ToolRegistry, raw: object, expected: str
) -> None:
    with pytest.raises(ModelError) as caught:
        registry.resolve(raw)  # type: ignore[arg-type]
    assert expected in str(caught.value)


def test_describe_renders_names_descriptions_and_schemas(registry: ToolRegistry) -> None:
    text = registry.describe()
    assert "## add\nAdd two integers." in text
    assert '"a":{"description":"The first integer.","type":"integer"}' in text
    assert "## finish" in text


def test_call_schema_is_one_variant_per_tool_with_a_constant_name(registry: ToolRegistry) -> None:
    schema = registry.call_schema()
    names = ["add", "explode", "check_spec", "quote", "place_order", "finish"]
    variants = schema["anyOf"]
    assert [variant["properties"]["tool"] for variant in variants] == [
        {"const": name} for name in names
    ]
    for variant in variants:
        assert variant["type"] == "object"
        assert variant["required"] == ["tool", "args"]
        assert variant["additionalProperties"] is False
        assert variant["properties"]["args"]["additionalProperties"] is False
    assert variants[0]["properties"]["args"]["properties"]["a"]["type"] == "integer"


def test_call_schema_accepts_valid_calls_and_rejects_others(registry: ToolRegistry) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = registry.call_schema()
    jsonschema.validate({"tool": "add", "args": {"a": 1, "b": 2}}, schema)
    for invalid in (
        {"tool": "nope", "args": {}},
        {"tool": "add"},
        {"tool": "add", "args": {"a": "x", "b": 1}},
        {"tool": "add", "args": {"a": 1, "b": 2}, "extra": 1},
        {"tool": "add", "args": {"a": 1, "b": 2, "c": 3}},
        {"tool": "finish", "args": {"a": 1, "b": 2}},  # one tool's name, another's arguments
        {"tool": "finish", "args": {}},  # finish requires its summary
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(invalid, schema)


def test_call_schema_bounds_strings_and_arrays_without_a_bound_of_their_own() -> None:
    @tool
    def tag(labels: list[str], note: str, code: Annotated[str, Field(max_length=8)]) -> int:
        """Tag something.

        Args:
            labels: The labels.
            note: A note.
            code: A short code.
        """
        return len(labels)

    args = ToolRegistry([tag]).call_schema()["anyOf"][0]["properties"]["args"]["properties"]
    assert args["labels"]["maxItems"] == MAX_ARRAY_ITEMS
    assert args["labels"]["items"]["maxLength"] == MAX_STRING_CHARS
    assert args["note"]["maxLength"] == MAX_STRING_CHARS
    assert args["code"]["maxLength"] == 8
    with pytest.raises(ModelError, match=r"args\.note: String should have at most 1000"):
        ToolRegistry([tag]).resolve(
            {"tool": "tag", "args": {"labels": [], "note": "x" * 1001, "code": "a"}}
        )


def test_bounded_leaves_a_property_named_like_a_keyword_alone() -> None:
    schema = {"type": "object", "properties": {"properties": {"type": "string"}}}
    assert bounded(schema) == {
        "type": "object",
        "properties": {"properties": {"type": "string", "maxLength": MAX_STRING_CHARS}},
        "additionalProperties": False,
    }


def test_call_schema_keeps_definitions_of_nested_models_at_the_top_level() -> None:
    class Leg(BaseModel):
        strike: float

    @tool
    def spread(legs: list[Leg]) -> int:
        """Price a spread.

        Args:
            legs: The legs.
        """
        return len(legs)

    schema = ToolRegistry([spread]).call_schema()
    assert set(schema["$defs"]) == {"Leg"}
    item = schema["anyOf"][0]["properties"]["args"]["properties"]["legs"]["items"]
    assert item == {"$ref": "#/$defs/Leg"}
    assert schema["$defs"]["Leg"]["additionalProperties"] is False


def test_describe_leaves_out_long_definitions_and_shows_their_references_as_objects() -> None:
    class Big(BaseModel):
        note: str = Field(description="x" * DESCRIBED_DEFINITIONS_CHARS)

    @tool
    def check(document: Big) -> int:
        """Check a document.

        Args:
            document: The document to check.
        """
        return 1

    text = ToolRegistry([check]).describe()
    assert "$defs" not in text and "$ref" not in text
    assert '"document":{"description":"The document to check.","type":"object"}' in text


def test_tool_call_key_ignores_argument_order() -> None:
    first = ToolCall(tool="add", args={"a": 1, "b": 2})
    second = ToolCall(tool="add", args={"b": 2, "a": 1})
    assert first.key() == second.key()
    assert first.key() != ToolCall(tool="add", args={"a": 2, "b": 1}).key()


def test_a_schema_without_a_tool_keeps_the_others_and_never_ends_empty() -> None:
    @tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    @tool(terminal=True)
    def finish(summary: str) -> str:
        """Finish.

        Args:
            summary: What was done.
        """
        return summary

    def tools(schema: dict[str, object]) -> list[str]:
        return [v["properties"]["tool"]["const"] for v in schema["anyOf"]]  # type: ignore[index, union-attr, attr-defined]

    both = ToolRegistry([ping, finish])
    assert tools(both.call_schema_without("ping")) == ["finish"]
    assert tools(both.call_schema()) == ["ping", "finish"]  # the cached schema is untouched
    assert tools(ToolRegistry([ping]).call_schema_without("ping")) == ["ping"]

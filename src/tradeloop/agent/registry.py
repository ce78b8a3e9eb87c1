"""The tool registry: names to tools, proposals to validated calls, and what the model is shown."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, JsonValue, ValidationError
from pydantic.json_schema import models_json_schema

from tradeloop.agent.records import JsonObject, ToolCall
from tradeloop.agent.redaction import REDACTED, is_secret_key
from tradeloop.agent.tool import MAX_STRING_CHARS, Tool, check_tool_contract
from tradeloop.errors import ModelError

_INPUT_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class ResolvedCall:
    """A call that names a registered tool and whose arguments passed the tool's schema."""

    tool: Tool[Any]
    args: BaseModel

    @property
    def name(self) -> str:
        return self.tool.name

    def args_json(self) -> JsonObject:
        dumped: JsonObject = self.args.model_dump(mode="json")
        return dumped


class ToolRegistry:
    """The tools a run may use. Names are unique; the model sees them through `describe()`.

    `unavailable` maps words or phrases a goal may use for something none of these tools does
    to the reason (`{"delete": "no tool deletes remembered strategies"}`): the planner's step
    message points the model at `refuse` when a goal uses one (`prompting.goal_hints`).

    `narrow` rewrites the call schema's definitions (`$defs`) for decoding, e.g. a strategy
    spec's into a tighter grammar (`tradeloop.tools.spec_grammar`). It may only narrow: every
    call it lets through must still be one the tools' own schemas accept.
    """

    def __init__(
        self,
        tools: Iterable[Tool[Any]] = (),
        *,
        unavailable: Mapping[str, str] | None = None,
        narrow: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        self._call_schema: dict[str, Any] | None = None
        self._narrow = narrow
        self.unavailable: Mapping[str, str] = dict(unavailable or {})
        for each in tools:
            self.register(each)

    def register(self, new_tool: Tool[Any]) -> Tool[Any]:
        """Add a tool; a second tool with the same name is refused."""
        check_tool_contract(new_tool)
        if new_tool.name in self._tools:
            raise ValueError(
                f"a tool named '{new_tool.name}' is already registered "
                f"({self._tools[new_tool.name]!r}); tool names must be unique"
            )
        self._tools[new_tool.name] = new_tool
        self._call_schema = None
        return new_tool

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def keywords(self) -> dict[str, tuple[str, ...]]:
        """Each tool's name with the goal words that name it besides its name's (`Tool.keywords`),
        in registration order."""
        return {name: each.keywords for name, each in self._tools.items()}

    def get(self, name: str) -> Tool[Any]:
        """The tool called `name`; `ModelError` with suggestions when there is none."""
        found = self._tools.get(name)
        if found is None:
            raise ModelError(self._unknown_tool_message(name))
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool[Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def resolve(self, raw: ToolCall | Mapping[str, Any]) -> ResolvedCall:
        """Turn a proposed call into a validated one, or raise `ModelError` for the model."""
        call = ToolCall.from_raw(raw)
        target = self.get(call.tool)
        try:
            args = target.Args.model_validate(call.args)
        except ValidationError as exc:
            raise ModelError(
                f"invalid arguments for tool '{target.name}': "
                f"{describe_validation_error(exc, target.Args)}. Fix the arguments and reply again."
            ) from exc
        return ResolvedCall(tool=target, args=args)

    def _unknown_tool_message(self, name: str) -> str:
        valid = ", ".join(self._tools) or "(none registered)"
        close = difflib.get_close_matches(name, list(self._tools), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown tool '{name}'.{hint} Valid tools: {valid}."

    def describe(self) -> str:
        """Names, descriptions and argument schemas of every tool, for the model's prompt.

        Definitions over `DESCRIBED_DEFINITIONS_CHARS` (a strategy spec's) are left out and
        their references shown as described objects: the call schema constrains them anyway,
        and a reference tool shows their format in readable sections.
        """
        blocks = []
        for each in self._tools.values():
            schema = _described_args(each.Args)
            blocks.append(
                f"## {each.name}\n{each.description}\n"
                f"args schema: {json.dumps(schema, separators=(',', ':'), sort_keys=True)}"
            )
        return "\n\n".join(blocks)

    def call_schema(self) -> dict[str, Any]:
        """JSON schema of any valid call: sent to the model so decoding can only produce one.

        An `anyOf` over the tools, one variant per tool, so a tool's name can only come with
        that tool's arguments::

            {"type": "object",
             "properties": {"tool": {"const": "finish"}, "args": {<finish's args schema>}},
             "required": ["tool", "args"], "additionalProperties": false}

        Each args schema refuses unknown keys, and strings and arrays without a bound of their
        own get `MAX_STRING_CHARS` / `MAX_ARRAY_ITEMS` (`bounded`), so a reply decoded under the
        schema is finite and names only known fields. Definitions (nested models, and a strategy
        spec's, which the tools declare as the `spec` argument's schema) live in the top-level
        `$defs`, where every `#/$defs/...` reference points.
        """
        if self._call_schema is None:
            self._call_schema = self._build_call_schema()
        return copy.deepcopy(self._call_schema)

    def call_schema_without(self, *tools: str) -> dict[str, Any]:
        """`call_schema` without the variants of `tools`: what a planner sends once the model
        has repeated a call of them, so that decoding cannot repeat it again. If that would
        leave no tool, every tool stays (a schema must admit some call)."""
        schema = self.call_schema()
        kept = [
            variant
            for variant in schema.get("anyOf", [])
            if variant.get("properties", {}).get("tool", {}).get("const") not in tools
        ]
        if kept:
            schema["anyOf"] = kept
        return schema

    def _build_call_schema(self) -> dict[str, Any]:
        if not self._tools:
            # No call can be valid; keep the shape so a caller still gets a schema.
            return {
                "type": "object",
                "properties": {"tool": {"type": "string"}, "args": {"type": "object"}},
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
        models: list[tuple[type[BaseModel], Literal["validation"]]] = [
            (each.Args, "validation") for each in self._tools.values()
        ]
        keys, shared = models_json_schema(models, ref_template="#/$defs/{model}")
        definitions: dict[str, Any] = dict(shared.get("$defs", {}))
        variants = []
        for each in self._tools.values():
            reference = keys[(each.Args, "validation")]["$ref"]
            args_schema = dict(definitions[reference.rsplit("/", 1)[-1]])
            args_schema["additionalProperties"] = False
            variants.append(
                {
                    "type": "object",
                    "properties": {"tool": {"const": each.name}, "args": args_schema},
                    "required": ["tool", "args"],
                    "additionalProperties": False,
                }
            )
        # The inlined argument schemas no longer need their own entries; nested models still do.
        referenced = _referenced_definitions(variants, definitions)
        schema: dict[str, Any] = {"anyOf": variants}
        if referenced:
            schema["$defs"] = {name: definitions[name] for name in sorted(referenced)}
            if self._narrow is not None:
                self._narrow(schema["$defs"])
        bounded_schema: dict[str, Any] = _without_titles(bounded(schema))
        return bounded_schema


DESCRIBED_DEFINITIONS_CHARS = 2000
"""Nested definitions longer than this are left out of `describe()` (the prompt)."""

MAX_ARRAY_ITEMS = 64
"""An array the model writes, at most, when its schema sets no bound of its own."""


def bounded(schema: Any) -> Any:
    """`schema` with a `maxLength` on every string and a `maxItems` on every array that have none,
    and `additionalProperties: false` on every object with declared properties that allows any.

    Only what a decoder may produce shrinks: each bound is a size no sensible call reaches, and
    every value the bounded schema accepts, the original accepts too.
    """
    if not isinstance(schema, dict):
        return schema
    result = dict(schema)
    for key in ("properties", "$defs"):
        if isinstance(result.get(key), dict):
            result[key] = {name: bounded(value) for name, value in result[key].items()}
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(result.get(key), list):
            result[key] = [bounded(value) for value in result[key]]
    for key in ("items", "additionalProperties", "not"):
        if isinstance(result.get(key), dict):
            result[key] = bounded(result[key])
    kind = result.get("type")
    if kind == "string" and "maxLength" not in result:
        result["maxLength"] = MAX_STRING_CHARS
    if kind == "array" and "maxItems" not in result:
        result["maxItems"] = MAX_ARRAY_ITEMS
    if "properties" in result and result.get("additionalProperties", True) is True:
        result["additionalProperties"] = False
    return result


def _described_args(args_model: type[BaseModel]) -> dict[str, Any]:
    """The args schema shown in the prompt: with its definitions when they are short, else with
    each reference shown as a described object (a strategy spec's format is long; a reference
    tool shows it in readable sections)."""
    schema = _without_extensions(_without_titles(args_model.model_json_schema()))
    definitions = schema.get("$defs")
    if definitions and len(json.dumps(definitions)) > DESCRIBED_DEFINITIONS_CHARS:
        schema.pop("$defs")
        collapsed: dict[str, Any] = _references_as_objects(schema)
        return collapsed
    return schema


def _references_as_objects(node: Any) -> Any:
    if isinstance(node, list):
        return [_references_as_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        shown = {key: value for key, value in node.items() if key != "$ref"}
        return {"type": "object", **shown}
    return {key: _references_as_objects(value) for key, value in node.items()}


def describe_validation_error(exc: ValidationError, args_model: type[BaseModel]) -> str:
    """Pydantic's errors in one short line per problem: `args.period: <message> (got 'abc')`."""
    problems = []
    for error in exc.errors(include_url=False):
        location = ".".join(["args", *(str(part) for part in error["loc"])])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            valid = ", ".join(args_model.model_fields) or "none"
            message += f" (valid arguments: {valid})"
        elif error["type"] == "missing":
            pass
        elif any(is_secret_key(str(part)) for part in error["loc"]):
            message += f" (got {REDACTED})"
        else:
            message += f" (got {_preview(error.get('input'))})"
        problems.append(f"{location}: {message}")
    return "; ".join(problems)


def _preview(value: JsonValue | object) -> str:
    text = repr(value)
    if len(text) > _INPUT_PREVIEW_CHARS:
        return text[:_INPUT_PREVIEW_CHARS] + "…"
    return text


def _without_titles(schema: Any) -> Any:
    # Titles repeat the field names; dropping them saves the model's context for what matters.
    if isinstance(schema, dict):
        return {
            key: _without_titles(value)
            for key, value in schema.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_without_titles(item) for item in schema]
    return schema


def _referenced_definitions(roots: list[Any], definitions: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                name = reference.removeprefix("#/$defs/")
                if name not in found and name in definitions:
                    found.add(name)
                    pending.append(definitions[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _without_extensions(schema: Any) -> Any:
    # `x-...` keys are for the runtime (`seen_values`), not for the model to read.
    if isinstance(schema, dict):
        return {
            key: _without_extensions(value)
            for key, value in schema.items()
            if not (isinstance(key, str) and key.startswith("x-"))
        }
    if isinstance(schema, list):
        return [_without_extensions(item) for item in schema]
    return schema

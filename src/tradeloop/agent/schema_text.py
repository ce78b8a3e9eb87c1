"""A JSON schema rendered as compact TypeScript-like declarations, for a model to read.

A large schema (tradeloop's strategy spec is ~13 kB of JSON) is a few times smaller as
declarations, and reads like the type hints models are trained on::

    // A stop a multiple of the ATR (at the signal bar) away from the entry.
    AtrStop = {kind: "atr"; multiple: number (0, 20]; period?: integer [2, 200] = 14}

It is generated from the schema, so it cannot drift from what validation accepts. Only the
keywords pydantic emits for our models are rendered; anything else falls back to `any`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Schema = Mapping[str, Any]


def render_type(schema: Schema) -> str:
    """One schema as a type expression: `"a"|"b"`, `number [0, 50]`, `Condition[] (1-8)`."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "|".join(json.dumps(value) for value in schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return "|".join(_dedupe(render_type(member) for member in schema[key]))
    kind = schema.get("type")
    if kind == "array":
        return _array(schema)
    if kind == "object":
        return _inline_object(schema)
    if kind in ("number", "integer"):
        return f"{kind}{_range(schema)}"
    if kind == "string":
        return "string" + (" HH:MM" if "pattern" in schema and ":" in schema["pattern"] else "")
    if kind in ("boolean", "null"):
        return str(kind)
    return "any"


def render_definition(name: str, schema: Schema, *, descriptions: bool = True) -> str:
    """`// description` then `Name = {field: type; ...}`, one field per line when described."""
    header = f"// {_first_sentence(schema['description'])}\n" if "description" in schema else ""
    if schema.get("type") != "object" or "properties" not in schema:
        return f"{header}{name} = {render_type(schema)}"
    fields = list(_fields(schema, descriptions=descriptions))
    if not descriptions:
        return f"{header}{name} = {{{'; '.join(fields)}}}"
    return header + f"{name} = {{\n" + "\n".join(f"  {field}" for field in fields) + "\n}"


def render_schema(
    schema: Schema,
    *,
    names: Iterable[str] | None = None,
    root: str = "",
    budget: int | None = None,
) -> str:
    """The root object (named `root`, when given) and the definitions in `names` (all: None).

    Over `budget` characters, leaf definitions (fields of plain types only, no references)
    lose their field comments and fit on one line; their own description stays.
    """
    definitions: Mapping[str, Schema] = schema.get("$defs", {})
    chosen = list(definitions) if names is None else [n for n in names if n in definitions]

    def render(compact_leaves: bool) -> str:
        blocks = [render_definition(root, schema)] if root else []
        blocks.extend(
            render_definition(
                name,
                definitions[name],
                descriptions=not (compact_leaves and is_leaf(definitions[name])),
            )
            for name in chosen
        )
        return "\n".join(blocks)

    text = render(compact_leaves=False)
    if budget is not None and len(text) > budget:
        text = render(compact_leaves=True)
    return text


def is_leaf(schema: Schema) -> bool:
    """An object whose fields are all of plain types: no references, no free-form keys."""
    if schema.get("type") != "object" or "properties" not in schema:
        return False
    if isinstance(schema.get("additionalProperties"), Mapping):
        return False
    return "$ref" not in json.dumps(schema["properties"])


def referenced(schema: Schema, start: Schema) -> list[str]:
    """Names of the definitions `start` reaches through `$ref`, in first-seen order."""
    definitions: Mapping[str, Schema] = schema.get("$defs", {})
    found: list[str] = []
    pending: list[Any] = [start]
    while pending:
        node = pending.pop(0)
        if isinstance(node, Mapping):
            reference = node.get("$ref")
            if isinstance(reference, str):
                name = reference.rsplit("/", 1)[-1]
                if name in definitions and name not in found:
                    found.append(name)
                    pending.append(definitions[name])
            pending.extend(value for key, value in node.items() if key != "$ref")
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _fields(schema: Schema, *, descriptions: bool) -> Iterable[str]:
    required = set(schema.get("required", ()))
    for field, spec in schema["properties"].items():
        optional = "" if field in required else "?"
        text = f"{field}{optional}: {render_type(spec)}"
        if "default" in spec and field not in required:
            text += f" = {json.dumps(spec['default'])}"
        # A constant's description ("Always \"atm\".") repeats its type.
        if descriptions and "description" in spec and "const" not in spec:
            text += f"  // {_first_sentence(spec['description'])}"
        yield text
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        yield f"[parameter: string]: {render_type(extra)}"


def _inline_object(schema: Schema) -> str:
    if "properties" not in schema:
        extra = schema.get("additionalProperties")
        value = render_type(extra) if isinstance(extra, Mapping) else "any"
        return f"{{[key: string]: {value}}}"
    return "{" + "; ".join(_fields(schema, descriptions=False)) + "}"


def _array(schema: Schema) -> str:
    if "prefixItems" in schema:
        items = ", ".join(render_type(item) for item in schema["prefixItems"])
        return f"[{items}]"
    item = render_type(schema.get("items", {}))
    text = f"({item})[]" if "|" in item else f"{item}[]"
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None or high is not None:
        text += f" ({low or 0}-{high if high is not None else 'any'} items)"
    return text


def _range(schema: Schema) -> str:
    low_open = "exclusiveMinimum" in schema
    high_open = "exclusiveMaximum" in schema
    low = schema.get("exclusiveMinimum", schema.get("minimum"))
    high = schema.get("exclusiveMaximum", schema.get("maximum"))
    if low is None and high is None:
        return ""
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    low_text = "-inf" if low is None else _number(low)
    high_text = "inf" if high is None else _number(high)
    return f" {left}{low_text}, {high_text}{right}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _first_sentence(text: str) -> str:
    # The first paragraph: later ones are for people reading the code, not for the model.
    return " ".join(str(text).split("\n\n", 1)[0].split())


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen

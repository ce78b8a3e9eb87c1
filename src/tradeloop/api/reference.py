"""The API reference (docs/api-reference.md), written from the app's OpenAPI document.

`python -m tradeloop.api.reference [PATH]` (or `tradeloop api --reference [PATH]`) rewrites it:
every route in the order of the paths with its parameters, body, responses and whether it needs
the token, then every model the routes use. The output depends on the routes and models only
(not on settings, the clock or the version), so a test can compare it with the committed file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

REFERENCE = Path("docs/api-reference.md")
REFRESH = "python -m tradeloop.api.reference"

_METHODS = ("get", "put", "post", "patch", "delete")
_FORMATS = {"date-time": "datetime", "date": "date", "uuid": "uuid", "uri": "url"}
# JSON Schema keywords that bound a value, as the reference writes them.
_BOUNDS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("pattern", "matches `{}`"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
)

Schema = Mapping[str, Any]


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return f"#model-{name.lower()}"


def _number(value: Any) -> str:
    """`100000.0` as `100000`: pydantic writes integer bounds as floats."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_of(schema: Schema) -> str:
    """A schema's type as a reader writes it: `int`, `list[TradeOut]`, `date or null`."""
    if "$ref" in schema:
        name = _name(schema["$ref"])
        return f"[{name}]({_anchor(name)})"
    if "const" in schema:
        return f"`{schema['const']!r}`"
    if "enum" in schema:
        return " or ".join(f"`{value}`" for value in schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(type_of(option) for option in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_of(schema.get('items', {}))}]"
    if kind == "object" or "additionalProperties" in schema:
        values = schema.get("additionalProperties")
        return f"dict[str, {type_of(values)}]" if isinstance(values, Mapping) else "object"
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "string")
    if kind in ("integer", "number", "boolean", "null"):
        return {"integer": "int", "number": "number", "boolean": "bool", "null": "null"}[kind]
    return "any JSON"


def constraints_of(schema: Schema) -> str:
    """The bounds on a value (`≥ 1, ≤ 500`), looking inside `anyOf` for a nullable one."""
    found = [template.format(_number(schema[key])) for key, template in _BOUNDS if key in schema]
    for option in schema.get("anyOf", ()):
        found += [t.format(_number(option[key])) for key, t in _BOUNDS if key in option]
    return ", ".join(found)


def _cell(text: Any) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(schema: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" not in schema:  # FastAPI leaves out a parameter's None default
        nullable = any(option.get("type") == "null" for option in schema.get("anyOf", ()))
        return "`null`" if nullable else "optional"
    value = schema["default"]
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, float | int):
        return f"`{_number(value)}`"
    return f"`{value}`".replace("'", '"')


def _table(header: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _paragraph(text: str) -> str:
    """A docstring's paragraph as Markdown: its source line breaks joined."""
    return "\n\n".join(" ".join(part.split()) for part in text.strip().split("\n\n"))


def _operations(document: Schema) -> Iterator[tuple[str, str, Schema]]:
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def _auth(operation: Schema, document: Schema) -> str:
    if not operation.get("security"):
        return "none"
    schemes = document.get("components", {}).get("securitySchemes", {})
    names = [name for requirement in operation["security"] for name in requirement]
    described = [schemes.get(name, {}).get("description", "") for name in names]
    what = "; ".join(text for text in described if text)
    return f"token needed, sent as `Authorization: Bearer <token>`. {what}".rstrip()


def _parameters(operation: Schema) -> list[str]:
    lines: list[str] = []
    for place in ("path", "query", "header"):
        rows = [
            (
                f"`{parameter['name']}`",
                type_of(parameter.get("schema", {})),
                _default(parameter.get("schema", {}), parameter.get("required", False)),
                constraints_of(parameter.get("schema", {})),
                parameter.get("description") or parameter.get("schema", {}).get("description", ""),
            )
            for parameter in operation.get("parameters", ())
            if parameter["in"] == place
        ]
        if rows:
            lines += [f"{place.capitalize()} parameters:", ""]
            lines += _table(("name", "type", "default", "constraints", "description"), rows)
    return lines


def _content_type(content: Schema) -> tuple[str, Schema]:
    media = sorted(content)[0]
    return media, content[media].get("schema", {})


def _body(operation: Schema) -> list[str]:
    body = operation.get("requestBody")
    if body is None:
        return []
    media, schema = _content_type(body.get("content", {}))
    required = "required" if body.get("required") else "optional"
    return [f"Request body ({required}, `{media}`): {type_of(schema)}", ""]


def _responses(operation: Schema) -> list[str]:
    rows = []
    for code, response in sorted(operation.get("responses", {}).items()):
        content = response.get("content")
        if content:
            media, schema = _content_type(content)
            body = f"{type_of(schema) if schema else 'body'} (`{media}`)"
        else:
            body = "no body"
        rows.append((f"`{code}`", body, response.get("description", "")))
    return ["Responses:", "", *_table(("status", "body", "when"), rows)]


def _route(method: str, path: str, operation: Schema, document: Schema) -> list[str]:
    lines = [f"### `{method} {path}`", ""]
    if operation.get("summary"):
        lines += [f"**{operation['summary']}**", ""]
    if operation.get("description"):
        lines += [_paragraph(operation["description"]), ""]
    lines += [f"Auth: {_auth(operation, document)}", ""]
    return lines + _parameters(operation) + _body(operation) + _responses(operation)


def _model(name: str, schema: Schema) -> list[str]:
    lines = [f'<a id="{_anchor(name)[1:]}"></a>', "", f"### {name}", ""]
    if schema.get("description"):
        lines += [_paragraph(schema["description"]), ""]
    properties = schema.get("properties")
    if not properties:
        return [*lines, f"Type: {type_of(schema)}", ""]
    required = set(schema.get("required", ()))
    rows = [
        (
            f"`{field}`",
            type_of(field_schema),
            _default(field_schema, field in required),
            constraints_of(field_schema),
            field_schema.get("description", ""),
        )
        for field, field_schema in properties.items()
    ]
    return lines + _table(("field", "type", "default", "constraints", "description"), rows)


def render(document: Schema) -> str:
    """The reference of an OpenAPI `document` as Markdown."""
    info = document.get("info", {})
    lines = [
        f"# {info.get('title', 'API')} API reference",
        "",
        f"Generated from the app's OpenAPI document by `{REFRESH}`: do not edit it by hand.",
        "[api.md](api.md) is the guide (authorisation, errors, examples).",
        "",
    ]
    if info.get("description"):
        lines += [_paragraph(info["description"]), ""]
    rows = [
        (f"[`{method} {path}`](#{_slug(method, path)})", op.get("summary", ""), _short_auth(op))
        for method, path, op in _operations(document)
    ]
    lines += ["## Routes", "", *_table(("route", "summary", "token"), rows)]
    for method, path, operation in _operations(document):
        lines += _route(method, path, operation, document)
    schemas = document.get("components", {}).get("schemas", {})
    lines += ["## Models", ""]
    for name in sorted(schemas):
        lines += _model(name, schemas[name])
    return "\n".join(lines).rstrip() + "\n"


def _short_auth(operation: Schema) -> str:
    return "yes" if operation.get("security") else "no"


def _slug(method: str, path: str) -> str:
    """GitHub's anchor for the heading "`METHOD /path`": lowercase, punctuation dropped."""
    text = f"{method} {path}".lower()
    kept = "".join(char for char in text if char.isalnum() or char in " -_")
    return kept.replace(" ", "-")


def reference() -> str:
    """The reference of tradeloop's API as the code defines it now."""
    from tradeloop.api.app import create_app
    from tradeloop.settings import Settings

    # The document depends on the routes and models only: no settings are read.
    return render(create_app(Settings.model_construct()).openapi())


def write(path: Path = REFERENCE) -> Path:
    """Write the reference to `path` and return it."""
    path.write_text(reference(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    """`python -m tradeloop.api.reference [PATH]`: write the reference (default: REFERENCE)."""
    arguments = sys.argv[1:] if argv is None else argv
    written = write(Path(arguments[0]) if arguments else REFERENCE)
    print(f"wrote {written}")


if __name__ == "__main__":
    main()

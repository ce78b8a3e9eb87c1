"""JSON schemas rendered as compact declarations for the model (`tradeloop.agent.schema_text`)."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from tradeloop.agent.schema_text import referenced, render_definition, render_schema, render_type
from tradeloop.domain.strategy.spec import StrategySpec


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 20}, "number (0, 20]"),
        ({"type": "integer", "minimum": 2}, "integer [2, inf)"),
        ({"type": "number"}, "number"),
        ({"enum": ["long", "short"]}, '"long"|"short"'),
        ({"const": "atr"}, '"atr"'),
        ({"$ref": "#/$defs/AtrStop"}, "AtrStop"),
        ({"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}, "A|null"),
        ({"type": "array", "items": {"$ref": "#/$defs/C"}, "maxItems": 4}, "C[] (0-4 items)"),
        (
            {"type": "array", "items": {"oneOf": [{"type": "number"}, {"type": "string"}]}},
            "(number|string)[]",
        ),
        (
            {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]},
            "[number, number]",
        ),
        ({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}, "string HH:MM"),
        ({"type": "object", "additionalProperties": True}, "{[key: string]: any}"),
        ({}, "any"),
    ],
)
def test_render_type(schema: dict[str, object], text: str) -> None:
    assert render_type(schema) == text


class Stop(BaseModel):
    """A stop.

    Only this first paragraph is shown.
    """

    kind: Literal["atr"] = Field(description='Always "atr".')
    multiple: Annotated[float, Field(gt=0, le=20, description="ATR multiple. E.g. 1.5.")]
    period: int = Field(14, ge=2, description="ATR period in bars.")


def test_a_model_renders_as_one_declaration_with_optional_fields_and_defaults() -> None:
    text = render_definition("Stop", Stop.model_json_schema())
    assert text == (
        "// A stop.\n"
        "Stop = {\n"
        '  kind: "atr"\n'
        "  multiple: number (0, 20]  // ATR multiple. E.g. 1.5.\n"
        "  period?: integer [2, inf) = 14  // ATR period in bars.\n"
        "}"
    )
    assert render_definition("Stop", Stop.model_json_schema(), descriptions=False).endswith(
        'Stop = {kind: "atr"; multiple: number (0, 20]; period?: integer [2, inf) = 14}'
    )


def test_referenced_follows_references_transitively_once_each() -> None:
    schema = StrategySpec.model_json_schema()
    names = referenced(schema, schema["properties"]["entry"])
    assert names[:2] == ["EntryAll", "EntryAny"]
    assert {"Condition", "IndicatorOperand", "PriceOperand", "AllOf", "AnyOf"} <= set(names)
    assert len(names) == len(set(names))
    assert "ExitRules" not in names


def test_render_schema_with_a_root_and_no_definitions_shows_the_top_level_only() -> None:
    text = render_schema(StrategySpec.model_json_schema(), names=(), root="StrategySpec")
    assert text.startswith("// A trading strategy on NIFTY or BANKNIFTY")
    assert "  exit: ExitRules" in text and "AtrStop = {" not in text

"""Reference tools: what the model reads before it writes a spec (indicators, the spec format).

Both results are sized for the model's bounded history (the runtime cuts a result at 1500
characters): the indicator list is one short line each, and the spec format comes in sections
rendered as compact declarations (`tradeloop.agent.schema_text`), each under that size.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import JsonValue, PlainValidator

from tradeloop.agent import ToolResult, tool
from tradeloop.agent.schema_text import referenced, render_schema
from tradeloop.domain.indicators.reference import catalogue
from tradeloop.domain.strategy.spec import StrategySpec


def _spec_document(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(
            f"a strategy spec is a JSON object, got {type(value).__name__}: write the spec "
            "itself, not a string holding it"
        )
    return value


SpecDocument = Annotated[
    dict[str, Any], PlainValidator(_spec_document, json_schema_input_type=StrategySpec)
]
"""A tool parameter that takes a strategy spec document. Its JSON schema is `StrategySpec`'s
(the agent's call schema then constrains decoding to a structurally valid spec, definitions in
the top-level `$defs`); it is validated by the tool itself (`StrategySpec.from_document`), whose
errors name each field and its fix, so only a non-object is refused before the tool runs."""

MAX_INDICATORS_DETAILED = 8
SECTION_BUDGET_CHARS = 1300  # leaves room for the JSON wrapping and escaping
SchemaSection = Literal[
    "overview", "instrument", "entry", "operands", "exit", "targets", "filters", "all"
]

EXAMPLE_SPEC: dict[str, JsonValue] = {
    "name": "nifty_rsi_reversion_5m",
    "symbol": "NIFTY",
    "timeframe": "5m",
    "direction": "long",
    "entry": {
        "all": [{"left": {"indicator": "rsi", "period": 14}, "op": "crosses_above", "right": 30}]
    },
    "exit": {
        "stop_loss": {"kind": "atr", "multiple": 1.5},
        "take_profit": {"kind": "r_multiple", "r": 1.5},
        "max_bars_held": 24,
    },
    "filters": {"time_window": {"start": "09:30", "end": "14:30"}},
}


@tool(timeout_seconds=None, max_calls=2, keywords=("parameter",))
def list_indicators(names: list[str] | None = None) -> ToolResult:
    """List the indicators a strategy's conditions may use.

    Without names: every indicator as `name(param=default, ...) -> outputs`. With names: each
    one's description, parameter ranges and output units (a price, points, percent, ...).
    Use an indicator in a spec as {"indicator": "rsi", "period": 14}; add "output": "signal"
    to read another output than the first.

    Args:
        names: Indicators to describe in detail (at most 8), e.g. ["rsi", "supertrend"]; omit
            for the short list of all.
    """
    entries = {entry["name"]: entry for entry in catalogue()}
    if not names:
        return ToolResult.ok(
            {
                "indicators": [_signature(entry) for entry in entries.values()],
                "next": "call list_indicators with names=[...] for ranges and units",
            }
        )
    unknown = [name for name in names if name not in entries]
    if unknown:
        return ToolResult.failure("UnknownIndicator", unknown_names(unknown, list(entries)))
    if len(names) > MAX_INDICATORS_DETAILED:
        return ToolResult.failure(
            "TooManyNames",
            f"asked for {len(names)} indicators: ask for at most {MAX_INDICATORS_DETAILED} "
            "at a time",
        )
    return ToolResult.ok({"indicators": [_details(entries[name]) for name in names]})


@tool(timeout_seconds=None, max_calls=3, keywords=("format", "section", "field"))
def strategy_schema(section: SchemaSection = "overview") -> ToolResult:
    """The format of a strategy spec (the JSON document the other tools take), as type
    declarations: `field?: type = default` (`?` = optional), `number (0, 20]` = a range.

    Start with the overview (the top-level fields and a complete valid example), then read the
    section you are writing: instrument, entry (conditions), operands (what a condition
    compares), exit (stop loss and time exits), targets (take profit, trailing stop) or filters
    (time window, regime).

    Args:
        section: "overview", "instrument", "entry", "operands", "exit", "targets", "filters",
            or "all" (everything at once: long).
    """
    schema = StrategySpec.model_json_schema()
    if section == "all":
        return ToolResult.ok(
            {"section": section, "schema": render_schema(schema, root="StrategySpec")}
        )
    if section == "overview":
        text = render_schema(schema, names=(), root="StrategySpec")
        return ToolResult.ok(
            {"schema": text, "example": EXAMPLE_SPEC, "sections": list(schema_sections())}
        )
    names = schema_sections()[section]
    text = render_schema(schema, names=names, budget=SECTION_BUDGET_CHARS)
    elsewhere = _shown_elsewhere(schema, names)
    if elsewhere:
        text += f"\n// Declared in other sections: {elsewhere}"
    return ToolResult.ok({"section": section, "schema": text})


@cache
def schema_sections() -> dict[str, tuple[str, ...]]:
    """The definitions each section of `strategy_schema` declares; each appears in one only."""
    schema = StrategySpec.model_json_schema()
    properties = schema["properties"]
    entry = referenced(schema, properties["entry"])
    operands = tuple(name for name in entry if name.endswith("Operand"))
    exits = referenced(schema, properties["exit"])
    exit_rules = schema["$defs"][exits[0]]["properties"]
    targets = tuple(
        name
        for field in ("take_profit", "trailing_stop")
        for name in referenced(schema, exit_rules[field])
    )
    return {
        "instrument": tuple(referenced(schema, properties["instrument"])),
        "entry": tuple(name for name in entry if name not in operands),
        "operands": operands,
        "exit": tuple(name for name in exits if name not in targets),
        "targets": targets,
        "filters": tuple(n for n in referenced(schema, properties["filters"]) if n not in entry),
    }


def _shown_elsewhere(schema: dict[str, Any], names: tuple[str, ...]) -> str:
    """`Condition in "entry"; IndicatorOperand, PriceOperand in "operands"` for the types
    `names` use but do not declare."""
    reached: set[str] = set()
    for name in names:
        reached.update(referenced(schema, schema["$defs"][name]))
    parts = []
    for section, declared in schema_sections().items():
        used = [name for name in declared if name in reached and name not in names]
        if used:
            parts.append(f'{", ".join(used)} in "{section}"')
    return "; ".join(parts)


def _signature(entry: dict[str, Any]) -> str:
    params = ", ".join(f"{param['name']}={_number(param['default'])}" for param in entry["params"])
    outputs = "|".join(output["name"] for output in entry["outputs"])
    return f"{entry['name']}({params}) -> {outputs}"


def _details(entry: dict[str, Any]) -> dict[str, JsonValue]:
    return {
        "name": entry["name"],
        "description": entry["description"],
        "params": {
            param["name"]: (
                f"{param['type']} {_number(param['minimum'])}..{_number(param['maximum'])}, "
                f"default {_number(param['default'])}: {param['description']}"
            )
            for param in entry["params"]
        },
        "outputs": {output["name"]: output["unit"] for output in entry["outputs"]},
    }


def unknown_names(unknown: list[str], valid: list[str], noun: str = "indicator") -> str:
    """`unknown indicator 'rsx' (did you mean 'rsi'?)`, for each name; indicators list all."""
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"unknown {noun} {name!r}{hint}")
    listing = f"; valid: {', '.join(valid)}" if noun == "indicator" else ""
    return "; ".join(parts) + listing


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

"""The strategy spec's JSON schema as the planner's decoding grammar: narrower, never wider.

The call schema (`ToolRegistry.call_schema`) is what a server's constrained decoding follows, so
every reply it lets through should be a spec worth running. `StrategySpec`'s own schema leaves
two doors open that a small model walks through (seen with Qwen2.5-Coder-0.5B: eight
conditions of the form `{"left": 1, "op": "<", "right": 100}`, and `{"indicator": "ema",
"fast": 9}`):

* an indicator operand is any name with any numeric keys. Here it is one variant per registered
  indicator: its name as a constant, its outputs as an enum, its parameters with their types
  and inclusive ranges, and no other key;
* a condition's left side may be a number. Here it is a price field or an indicator (a number
  goes on the right: `rsi > 30`, not `30 < rsi`; the spec itself still accepts both);
* a time of day (an entry window's start and end, the square-off) is any HH:MM, and the model
  wrote 20:00-21:00. Here it is a time inside the NSE session, 09:15 to 15:30 (`SESSION_TIME`).

The registry applies it to its call schema (`ToolRegistry(narrow=narrow_spec_definitions)`, in
`tradeloop.tools.default_registry`). Everything else is `StrategySpec`'s schema as it is, so a
reply valid under this grammar is valid under the spec's schema; the tools still validate
every spec in full (`StrategySpec.from_document`), which also checks what no schema can
(periods in order, ranges that make sense together).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from tradeloop.domain.indicators.base import IndicatorDef, Param
from tradeloop.domain.indicators.registry import REGISTRY
from tradeloop.domain.strategy.spec import StrategySpec

NUMBER_LEFT = {"type": "number"}
ANY_TIME = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
SESSION_TIME = "^(09:(1[5-9]|[2-5][0-9])|1[0-4]:[0-5][0-9]|15:([0-2][0-9]|30))$"
"""HH:MM from 09:15 to 15:30: the NSE session (`domain.market.session`)."""
LEFT_DESCRIPTION = (
    "Left operand: a price field or an indicator (a number goes on the right: rsi > 30)."
)


def narrow_spec_definitions(definitions: dict[str, Any]) -> None:
    """Narrow, in place, the `Condition` and `IndicatorOperand` definitions of a JSON schema's
    `$defs` (a call schema's, or `StrategySpec`'s own) as the module docstring says. Other
    definitions are left alone; a schema without them is left as it is."""
    if "IndicatorOperand" in definitions:
        definitions["IndicatorOperand"] = {
            "description": definitions["IndicatorOperand"].get("description", ""),
            "anyOf": [_indicator_variant(each) for each in REGISTRY.values()],
        }
    condition = definitions.get("Condition")
    if condition is not None:
        left = condition["properties"]["left"]
        for key in ("oneOf", "anyOf"):
            if key in left:
                left[key] = [option for option in left[key] if option != NUMBER_LEFT]
        left["description"] = LEFT_DESCRIPTION
    for definition in definitions.values():
        _session_times(definition)


def _session_times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("pattern") == ANY_TIME:
            node["pattern"] = SESSION_TIME
        for value in node.values():
            _session_times(value)
    elif isinstance(node, list):
        for item in node:
            _session_times(item)


@cache
def _decoding_spec_schema() -> dict[str, Any]:
    schema = StrategySpec.model_json_schema()
    narrow_spec_definitions(schema["$defs"])
    return schema


def decoding_spec_schema() -> dict[str, Any]:
    """`StrategySpec`'s JSON schema as the call schema carries it for decoding, standing alone
    (its definitions in its own `$defs`). A fresh copy each call."""
    return copy.deepcopy(_decoding_spec_schema())


def _indicator_variant(definition: IndicatorDef) -> dict[str, Any]:
    properties: dict[str, Any] = {"indicator": {"const": definition.name}}
    if len(definition.outputs) > 1:
        properties["output"] = {"enum": list(definition.outputs)}
    for param in definition.params:
        properties[param.name] = _param_schema(param)
    return {
        "type": "object",
        "properties": properties,
        "required": ["indicator"],
        "additionalProperties": False,
    }


def _param_schema(param: Param) -> dict[str, Any]:
    kind = "integer" if param.kind == "int" else "number"
    low: float | int = int(param.minimum) if kind == "integer" else param.minimum
    high: float | int = int(param.maximum) if kind == "integer" else param.maximum
    return {"type": kind, "minimum": low, "maximum": high}

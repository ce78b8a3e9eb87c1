"""Arguments that must name something the run has already seen, bound in the call schema.

A small model asked for a strategy id writes one that looks right (`16a7b8c9d1e2f367`,
`ema_crossover`) but that no tool ever returned. A tool marks such an argument with
`from_results("spec_id")` (its `json_schema_extra`); before each step a chat planner rewrites
the call schema with `bind_to_results`:

* a marked argument becomes an `enum` of the values that successful results of this run hold
  under that key, at any depth (`{"strategies": [{"spec_id": ...}]}` counts);
* when no result has given one yet, an optional marked argument is left out, and a tool whose
  marked argument is required is not offered at all;
* the marker itself is removed, so the server sees standard JSON schema.

A decoding aid, not a permission: the tool still validates what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradeloop.agent.records import StepRecord

FROM_RESULTS = "x-from-results"
MAX_VALUES = 50  # an enum this long is plenty for one run's ids


def from_results(key: str) -> dict[str, str]:
    """`json_schema_extra` for an argument that must be a value a result gave under `key`."""
    return {FROM_RESULTS: key}


def seen_values(records: Iterable[StepRecord], key: str) -> list[str]:
    """The distinct strings that successful results in `records` hold under `key`, oldest
    first (at most `MAX_VALUES`, the newest kept)."""
    found: dict[str, None] = {}
    for record in records:
        if record.executed and record.result is not None and record.result.status != "error":
            for value in _values_under(record.result.data, key):
                found.pop(value, None)
                found[value] = None
    return list(found)[-MAX_VALUES:]


def bind_to_results(schema: dict[str, Any], records: Iterable[StepRecord]) -> dict[str, Any]:
    """`schema` (a call schema: an `anyOf` of tool variants) with each marked argument bound to
    the values seen in `records` (see the module docstring), rewritten in place and returned:
    pass a copy (`ToolRegistry.call_schema` hands out a fresh one each call)."""
    bound = schema
    history = list(records)
    variants = []
    for variant in bound.get("anyOf", []):
        args = variant.get("properties", {}).get("args", {})
        properties: dict[str, Any] = args.get("properties", {})
        offered = True
        for name, prop in list(properties.items()):
            key = prop.pop(FROM_RESULTS, None)
            if key is None:
                continue
            values = seen_values(history, key)
            if values:
                properties[name] = {"enum": values, "description": prop.get("description", "")}
            elif name in args.get("required", []):
                offered = False
            else:
                del properties[name]
        if offered:
            variants.append(variant)
    if variants:
        bound["anyOf"] = variants
    return bound


def _values_under(data: Any, key: str) -> list[str]:
    if isinstance(data, dict):
        own = [data[key]] if isinstance(data.get(key), str) else []
        return own + [found for value in data.values() for found in _values_under(value, key)]
    if isinstance(data, list):
        return [found for item in data for found in _values_under(item, key)]
    return []

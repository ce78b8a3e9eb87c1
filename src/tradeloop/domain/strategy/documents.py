"""Small builders of spec documents (plain JSON-like dicts) for the generators.

They build what an LLM would write, so generated specs go through the same validation.
"""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]


def indicator(name: str, output: str | None = None, **params: float) -> Document:
    operand: Document = {"indicator": name, **params}
    if output is not None:
        operand["output"] = output
    return operand


def price(field: str = "close") -> Document:
    return {"price": field}


def condition(left: Any, op: str, right: Any) -> Document:
    return {"left": left, "op": op, "right": right}


def intraday(timeframe: str, start: str, end: str) -> tuple[Document, str | None]:
    """The filters' time window and the square-off for a timeframe (none on daily bars)."""
    if timeframe == "1d":
        return {}, None
    return {"time_window": {"start": start, "end": end}}, "15:15"

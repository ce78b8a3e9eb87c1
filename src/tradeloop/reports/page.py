"""What every report page shares: its style, its frame and how a number is shown in a cell."""

from __future__ import annotations

import html
import math
from typing import Any, Literal

from tradeloop.domain.money import rupees

NumberKind = Literal["count", "pct", "rupees", "number", "score"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
td.text, th.text { text-align: left; }
td.gain { color: #1a7f37; } td.loss { color: #cf222e; }
"""


def page(title: str, body: str) -> str:
    """A whole HTML page: `title` (escaped here) and `body` (HTML, as given)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def shown(value: Any, kind: NumberKind) -> str:
    """`value` as a table cell shows it: "—" when missing or NaN (a score shows "NaN": the
    reader sees it was not a number), "∞" and "-∞" for the infinities."""
    if value is None:
        return "—"
    number = float(value)
    if math.isnan(number):
        return "—" if kind != "score" else "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if kind == "count":
        return f"{int(number):,}"
    if kind == "pct":
        return f"{number:.2f} %"
    if kind == "rupees":
        return rupees(number)
    if kind == "score":
        return f"{number:.3f}"
    return f"{number:.2f}"

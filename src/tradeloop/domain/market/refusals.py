"""How a refusal of candles (or of any table of rows) is worded: one message naming each failed
rule, how many rows break it, a few of them, and the fix; input text is clipped so the message
stays short whatever the input holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tradeloop.domain.market.calendar import IST
from tradeloop.errors import DataValidationError

EXAMPLES_SHOWN = 5
"""How many offending rows each failed rule shows."""
NAMES_SHOWN = 10
"""How many names (columns, symbols) a list in a message shows."""
VALUE_CHARS = 80
"""The longest piece of input text a message quotes."""


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """One broken rule: what it is, how many rows break it, examples and the remedy."""

    rule: str
    count: int | None
    """Rows breaking the rule; None for a rule about the whole frame (columns, dtypes)."""
    examples: tuple[str, ...]
    fix: str

    def describe(self) -> str:
        if self.count is None:
            lines = [f"- {self.rule}"]
        else:
            lines = [f"- {self.rule}: {self.count} row{'' if self.count == 1 else 's'}"]
        lines.extend(f"    {example}" for example in self.examples)
        if self.count is not None and self.count > len(self.examples) and self.examples:
            lines.append(f"    ... and {self.count - len(self.examples)} more")
        lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


def clip(text: str, limit: int = VALUE_CHARS) -> str:
    """`text` if it fits in `limit` characters, else its start and end around what was cut."""
    if len(text) <= limit:
        return text
    cut = f" ... [{len(text) - limit:,} characters cut] ... "
    keep = max(limit - len(cut), 2)
    return text[: keep - keep // 3] + cut + text[len(text) - keep // 3 :]


def clip_list(names: Sequence[object], shown: int = NAMES_SHOWN) -> str:
    """The first `shown` names, each clipped, and how many more there are."""
    listed = ", ".join(clip(str(name)) for name in names[:shown])
    more = len(names) - shown
    return f"{listed} and {more:,} more" if more > 0 else listed


def format_ist(ts: datetime) -> str:
    """A UTC timestamp as IST wall-clock text; seconds only when they are not zero."""
    local = ts.astimezone(IST)
    pattern = "%Y-%m-%d %H:%M:%S" if local.second or local.microsecond else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} IST"


def raise_if_any(failures: Sequence[RuleFailure], what: str = "candles") -> None:
    """Refuse the whole input with one `DataValidationError` describing every failure."""
    if failures:
        count = len(failures)
        heading = f"{what} refused ({count} rule{'s' if count > 1 else ''} failed):"
        raise DataValidationError("\n".join([heading, *(f.describe() for f in failures)]))

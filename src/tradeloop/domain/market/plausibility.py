"""Refuse candles that pass every rule of `validation` but cannot be real: the relaxable rules.

`validate_candles` refuses what is never a candle (a price of 1e308, NaN, <= 0, a volume beyond
int64); those rules are not relaxable. The rules here refuse what is almost always a mistake in
real index data, and can be relaxed by the user when the data is what they meant:

- **future**: a bar that opens after now (from an injected clock) has not happened yet; a date
  format read the wrong way round or a typo in the year puts it there. Relaxed by
  `PlausibilityRules.allow_future`.
- **move**: a price more than `max_move_fraction` away from the close before it (the previous
  row's, or for the first row the stored series' last close before the frame), or a stored bar
  right after the frame closing that far from the frame's last close. A misplaced decimal point,
  prices in paise, or another instrument's file looks like this. Index minute data gaps ±10% on
  a crash day at most, so the default (0.2) lets real data through.

`check_plausibility` is pure: the caller passes the time and the stored neighbours. A failure
is a `DataValidationError` naming each row, its values and the option that relaxes the rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from tradeloop.domain.market.candles import PRICE_COLUMNS
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.domain.market.refusals import (
    EXAMPLES_SHOWN,
    RuleFailure,
    format_ist,
    raise_if_any,
)

MOVE_OPTION = "--max-move"
FUTURE_OPTION = "--allow-future"


@dataclass(frozen=True, slots=True)
class StoredBar:
    """A stored bar next to the frame being written: its open time and close."""

    ts: datetime
    close: float


def check_plausibility(
    frame: pl.DataFrame,
    rules: PlausibilityRules,
    now: datetime,
    before: StoredBar | None,
    after: StoredBar | None,
) -> None:
    """Refuse `frame` (validated, ts-sorted) with one `DataValidationError` if a rule fails.

    `before`/`after` are the stored bars of the same series right before the frame's first bar
    and right after its last (None where there is none).
    """
    raise_if_any(plausibility_failures(frame, rules, now, before, after), "implausible candles")


def plausibility_failures(
    frame: pl.DataFrame,
    rules: PlausibilityRules,
    now: datetime,
    before: StoredBar | None,
    after: StoredBar | None,
) -> list[RuleFailure]:
    """Every failed rule of `check_plausibility`, none when the frame is plausible."""
    if frame.is_empty():
        return []
    failures = []
    if not rules.allow_future:
        failures.extend(_future_failures(frame, now))
    failures.extend(_move_failures(frame, rules.max_move_fraction, before, after))
    return failures


def _future_failures(frame: pl.DataFrame, now: datetime) -> list[RuleFailure]:
    rows = frame.with_row_index("row").filter(pl.col("ts") > now.astimezone(UTC))
    if rows.is_empty():
        return []
    examples = tuple(
        f"row {row} ({format_ist(ts)}) opens after now ({format_ist(now)})"
        for row, ts in rows.select("row", "ts").head(EXAMPLES_SHOWN).iter_rows()
    )
    return [
        RuleFailure(
            "bars in the future",
            rows.height,
            examples,
            "check the year and the date format (day and month swapped? a two-digit year?) "
            f"and fix the source; if the bars are meant to be in the future (a synthetic or "
            f"test series), allow them: {FUTURE_OPTION} on `tradeloop data import` or "
            "`tradeloop data fetch`, or [plausibility] allow_future = true",
        )
    ]


def _move_failures(
    frame: pl.DataFrame, limit: float, before: StoredBar | None, after: StoredBar | None
) -> list[RuleFailure]:
    first_reference = before.close if before is not None else None
    reference = pl.col("close").shift(1, fill_value=first_reference)
    moves = frame.with_row_index("row").with_columns(
        *((pl.col(c) / reference - 1).abs().alias(f"move_{c}") for c in PRICE_COLUMNS),
        reference.alias("reference"),
    )
    worst = moves.with_columns(pl.max_horizontal(f"move_{c}" for c in PRICE_COLUMNS).alias("worst"))
    broken = worst.filter(pl.col("worst") > limit)
    examples = [_describe_move(record, before) for record in broken.head(EXAMPLES_SHOWN).to_dicts()]
    largest = float(broken["worst"].max()) if broken.height else 0.0  # type: ignore[arg-type]
    count = broken.height
    last = frame.row(frame.height - 1, named=True)
    if after is not None:
        move = abs(after.close / last["close"] - 1)
        if move > limit:
            count += 1
            largest = max(largest, move)
            if len(examples) < EXAMPLES_SHOWN:
                examples.append(
                    f"row {frame.height - 1} ({format_ist(last['ts'])}): close={last['close']}; "
                    f"the stored bar after it ({format_ist(after.ts)}) closes at {after.close}, "
                    f"{_percent(move)} away"
                )
    if not count:
        return []
    return [
        RuleFailure(
            f"prices more than {_percent(limit)} from the close before them",
            count,
            tuple(examples),
            "a misplaced decimal point, prices in paise, or another instrument's file looks "
            "like this: fix the source or import the file under its own symbol; if the move "
            f"is real, allow it: {MOVE_OPTION} {_relaxed(largest)} on `tradeloop data import` or "
            "`tradeloop data fetch`, or [plausibility] max_move_fraction",
        )
    ]


def _describe_move(record: dict[str, Any], before: StoredBar | None) -> str:
    row: int = record["row"]
    column = max(reversed(PRICE_COLUMNS), key=lambda c: float(record[f"move_{c}"]))  # close on ties
    if row == 0 and before is not None:
        source = f"the stored close at {format_ist(before.ts)}"
    else:
        source = f"row {row - 1}'s close"
    return (
        f"row {row} ({format_ist(record['ts'])}): {column}={record[column]} is "
        f"{_percent(record[f'move_{column}'])} from {source}, {record['reference']}"
    )


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%" if fraction < 1e4 else f"{fraction:.3g} times the close"


def _relaxed(move: float) -> str:
    """A `--max-move` value that lets a move of `move` through (rounded up)."""
    if not math.isfinite(move):
        return "(none is large enough: the prices are absurd)"
    if move < 1e4:
        relaxed = math.ceil(move * 100) / 100
        return f"{relaxed if relaxed >= move else relaxed + 0.01:g}"
    step = 10.0 ** (math.floor(math.log10(move)) - 2)  # three significant digits, rounded up
    return f"{math.ceil(move / step) * step:.4g}"

"""Semantic validation of a StrategySpec: the rules a JSON schema cannot say.

Structure and field ranges are checked by the models (`conditions.py`, `rules.py`); indicator
names, parameters and outputs by the registry as each operand is parsed. What is left is checked
here, on a parsed spec, and every problem names its place in the document and the fix:

* conditions that can never hold: a bounded output compared outside its range (``rsi < 0``,
  ``rsi > 100``), ``between`` with low >= high, two constants compared, an operand compared
  with itself, contradictory thresholds ANDed together (``rsi < 30`` and ``rsi > 70``);
* operands of different units compared (``close > rsi``: a price against a 0..100 oscillator);
* exits that contradict the direction: a swing-low stop on a short, a CE bought for a short, a
  break-even level at or beyond the take profit;
* timing that cannot work: an entry window that is empty, outside 09:15-15:30, holds no bar
  close of the timeframe or ends at or after the square-off; a square-off that is not a bar open
  of the timeframe; an intraday square-off or window on daily bars.

`StrategySpec` runs `spec_problems` in its own validator, so a spec that exists is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING, Final

from tradeloop.domain.market.candles import INTERVAL_MINUTES
from tradeloop.domain.market.session import CLOSE_MINUTE, OPEN_MINUTE
from tradeloop.domain.strategy.bounds import INF, Bounds, format_bounds, operand_unit, output_bounds
from tradeloop.domain.strategy.conditions import (
    AllOf,
    Condition,
    IndicatorOperand,
    Op,
    PriceOperand,
    operand_key,
    operand_label,
)
from tradeloop.domain.strategy.rules import (
    OptionInstrument,
    PercentStop,
    RMultipleTarget,
    SwingStop,
)
from tradeloop.errors import SpecError

if TYPE_CHECKING:
    from tradeloop.domain.strategy.spec import StrategySpec


_MIRROR: Final[dict[Op, Op]] = {
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "crosses_above": "crosses_below",
    "crosses_below": "crosses_above",
    "between": "between",
}

Operand = float | IndicatorOperand | PriceOperand


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a spec is refused: where (a path in the JSON document) and what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate_spec(spec: StrategySpec) -> None:
    """Raise a SpecError listing every problem of `spec` (none for a spec built normally)."""
    problems = spec_problems(spec)
    if problems:
        raise SpecError(f"strategy spec {spec.name!r} is invalid:\n" + describe(problems))


def describe(problems: Iterable[Problem]) -> str:
    return "\n".join(f"  - {problem}" for problem in problems)


def spec_problems(spec: StrategySpec) -> list[Problem]:
    """Every semantic problem of `spec`, in document order."""
    problems = list(_entry_problems(spec))
    problems.extend(_exit_problems(spec))
    problems.extend(_timing_problems(spec))
    return problems


# ------------------------------------------------------------------------------- conditions


def _entry_problems(spec: StrategySpec) -> Iterator[Problem]:
    entry = spec.entry
    regime = [(f"filters.regime[{index}]", c) for index, c in enumerate(spec.filters.regime)]
    branches: list[list[tuple[str, Condition]]] = []
    direct: list[tuple[str, Condition]] = []
    for index, item in enumerate(entry.items):
        path = f"entry.{entry.mode}[{index}]"
        if isinstance(item, Condition):
            direct.append((path, item))
            if entry.mode == "any":
                branches.append([(path, item)])
            continue
        group_key = "all" if isinstance(item, AllOf) else "any"
        members = item.all if isinstance(item, AllOf) else item.any
        placed = [(f"{path}.{group_key}[{inner}]", c) for inner, c in enumerate(members)]
        for inner_path, condition in placed:
            yield from _condition_problems(inner_path, condition)
        if isinstance(item, AllOf):
            branches.append(placed)
    for path, condition in [*direct, *regime]:
        yield from _condition_problems(path, condition)
    if entry.mode == "all":
        branches = [direct]
    for branch in branches:
        yield from _contradictions([*branch, *regime])


def _condition_problems(path: str, condition: Condition) -> Iterator[Problem]:
    operands = condition.operands
    variables = [operand for operand in operands if not isinstance(operand, int | float)]

    def label() -> str:  # only when there is a problem: a label costs more than the checks
        return f"`{condition.label()}`"

    if not variables:
        yield Problem(
            path,
            f"{label()} compares constants only, so it is always or never true: compare an "
            'indicator or a price field, e.g. {"indicator": "rsi", "period": 14}',
        )
        return
    keys = [operand_key(operand) for operand in variables]
    if len(set(keys)) < len(keys):
        yield Problem(
            path,
            f"{label()} compares {operand_label(variables[0])} with itself: change a parameter or "
            "the output of one side",
        )
        return
    units = {unit for unit in map(operand_unit, variables) if unit is not None}
    if len(units) > 1:
        yield Problem(
            path,
            f"{label()} compares different units ({' vs '.join(sorted(units))}): compare like "
            "with like, e.g. close with ema or rsi with a number",
        )
        return
    if condition.op == "between":
        yield from _between_problems(path, condition, label())
        return
    variable, op, constant = _normalised(condition)
    if constant is not None:
        reason = _never_true(op, constant, output_bounds(variable))
        if reason:
            yield Problem(path, f"{label()} can never be true: {reason}")


def _normalised(condition: Condition) -> tuple[Operand, Op, float | None]:
    """`variable op constant` (mirrored when the constant is on the left); None when both
    sides vary."""
    left, right = condition.left, condition.right
    assert not isinstance(right, tuple)
    if isinstance(right, int | float) and not isinstance(left, int | float):
        return left, condition.op, float(right)
    if isinstance(left, int | float) and not isinstance(right, int | float):
        return right, _MIRROR[condition.op], float(left)
    return left, condition.op, None


def _never_true(op: Op, constant: float, bounds: Bounds) -> str | None:
    low, high = bounds
    span = f"it is always within {format_bounds(bounds)}"
    impossible = {
        "<": constant <= low,
        "<=": constant < low,
        ">": constant >= high,
        ">=": constant > high,
        "crosses_above": constant >= high or constant < low,
        "crosses_below": constant <= low or constant > high,
    }[op]
    if not impossible:
        return None
    return f"{span}; pick a threshold strictly inside that range"


def _between_problems(path: str, condition: Condition, label: str) -> Iterator[Problem]:
    assert isinstance(condition.right, tuple)
    low, high = condition.right
    if isinstance(low, int | float) and isinstance(high, int | float):
        if low >= high:
            yield Problem(
                path,
                f"{label}: low {_number(low)} must be below high {_number(high)}; write "
                "[low, high] in increasing order",
            )
            return
        bounds = output_bounds(condition.left)
        if not isinstance(condition.left, int | float) and (high < bounds[0] or low > bounds[1]):
            yield Problem(
                path,
                f"{label} can never be true: {operand_label(condition.left)} is always within "
                f"{format_bounds(bounds)}; pick [low, high] overlapping that range",
            )


@dataclass(frozen=True, slots=True)
class _Interval:
    """The values one operand may take for every threshold on it to hold."""

    low: float = -INF
    low_closed: bool = False
    high: float = INF
    high_closed: bool = False

    def meet(self, op: Op, value: float) -> _Interval:
        low, low_closed, high, high_closed = self.low, self.low_closed, self.high, self.high_closed
        if op in (">", ">=") and (value > low or (value == low and op == ">")):
            low, low_closed = value, op == ">="
        if op in ("<", "<=") and (value < high or (value == high and op == "<")):
            high, high_closed = value, op == "<="
        return _Interval(low, low_closed, high, high_closed)

    @property
    def empty(self) -> bool:
        return self.low > self.high or (
            self.low == self.high and not (self.low_closed and self.high_closed)
        )


def _contradictions(conditions: list[tuple[str, Condition]]) -> Iterator[Problem]:
    """Thresholds on one operand that cannot hold together (`rsi < 30` and `rsi > 70`)."""
    intervals: dict[object, tuple[_Interval, list[str]]] = {}
    for path, condition in conditions:
        if condition.op == "between":
            low, high = condition.right if isinstance(condition.right, tuple) else (None, None)
            if isinstance(low, int | float) and isinstance(high, int | float):
                limits: list[tuple[Op, float]] = [(">=", float(low)), ("<=", float(high))]
                variable: Operand = condition.left
            else:
                continue
        else:
            variable, op, constant = _normalised(condition)
            if constant is None or op not in ("<", "<=", ">", ">="):
                continue
            limits = [(op, constant)]
        if isinstance(variable, int | float):
            continue
        key = operand_key(variable)
        interval, labels = intervals.get(key, (_Interval(), []))
        for op, value in limits:
            interval = interval.meet(op, value)
        labels = [*labels, f"`{condition.label()}` ({path})"]
        intervals[key] = (interval, labels)
        if interval.empty:
            yield Problem(
                path,
                f"{' and '.join(labels)} can never hold together: widen or drop one of them",
            )
            return


# ------------------------------------------------------------------------------------ exits


def _exit_problems(spec: StrategySpec) -> Iterator[Problem]:
    exit_rules = spec.exit
    stop = exit_rules.stop_loss
    if isinstance(stop, SwingStop):
        wanted = "swing_low" if spec.direction == "long" else "swing_high"
        if stop.kind != wanted:
            yield Problem(
                "exit.stop_loss.kind",
                f"a {spec.direction} strategy puts its stop at the {wanted.replace('_', ' ')} "
                f'(below a long entry, above a short one): use "kind": "{wanted}"',
            )
    instrument = spec.instrument
    if isinstance(instrument, OptionInstrument):
        wanted_type = "CE" if spec.direction == "long" else "PE"
        if instrument.option_type != wanted_type:
            yield Problem(
                "instrument.option_type",
                f"options are bought: a {spec.direction} view buys a {wanted_type}, not a "
                f'{instrument.option_type}; use "option_type": "{wanted_type}"',
            )
        if instrument.exits_on == "premium":
            yield from _premium_exit_problems(spec)
    target = exit_rules.take_profit
    break_even = exit_rules.break_even_after_r
    if isinstance(target, RMultipleTarget) and break_even is not None and break_even >= target.r:
        yield Problem(
            "exit.break_even_after_r",
            f"break-even after {_number(break_even)} R never happens before the "
            f"{_number(target.r)} R take profit: use a value below {_number(target.r)} or "
            "drop it",
        )


def _premium_exit_problems(spec: StrategySpec) -> Iterator[Problem]:
    """On the premium, only percent levels have a meaning: an ATR or a swing is the index's."""
    if not isinstance(spec.exit.stop_loss, PercentStop):
        yield Problem(
            "exit.stop_loss",
            f'"exits_on": "premium" measures the stop on the option\'s premium, where a '
            f"{spec.exit.stop_loss.kind} stop has no meaning: use "
            '{"kind": "percent", "percent": 30} (30 % of the entry premium), or "exits_on": '
            '"underlying"',
        )
    for field in ("take_profit", "trailing_stop"):
        rule = getattr(spec.exit, field, None)
        if rule is not None and rule.kind == "atr":
            yield Problem(
                f"exit.{field}",
                f'"exits_on": "premium" has no ATR of the premium: use a percent or R-multiple '
                f'{field.replace("_", " ")}, or "exits_on": "underlying"',
            )


# ----------------------------------------------------------------------------------- timing


def _timing_problems(spec: StrategySpec) -> Iterator[Problem]:
    bar = INTERVAL_MINUTES[spec.timeframe]
    square_off = spec.exit.square_off
    window = spec.filters.time_window
    if spec.timeframe == "1d":
        if square_off is not None:
            yield Problem(
                "exit.square_off",
                'daily bars have no intraday bar to square off at: set "square_off": null',
            )
        if window is not None:
            yield Problem(
                "filters.time_window",
                "daily bars all close at 15:30, so a time window cannot apply: set "
                '"time_window": null or use an intraday timeframe',
            )
        return
    if square_off is not None:
        minute = _minute(square_off)
        on_bar_open = (minute - OPEN_MINUTE) % bar == 0 and square_off.second == 0
        if not OPEN_MINUTE < minute < CLOSE_MINUTE or not on_bar_open:
            yield Problem(
                "exit.square_off",
                f"{_clock(square_off)} is not a {spec.timeframe} bar open after 09:15 and "
                f"before 15:30 (bars open at 09:15 + multiples of {bar} min): use e.g. 15:15",
            )
    if window is None:
        return
    start, end = _minute(window.start), _minute(window.end)
    span = f"{_clock(window.start)}-{_clock(window.end)}"
    if start >= end:
        yield Problem(
            "filters.time_window",
            f"the window {span} is empty: start must be before end, e.g. 09:30-14:30",
        )
        return
    if start < OPEN_MINUTE or end > CLOSE_MINUTE:
        yield Problem(
            "filters.time_window",
            f"the window {span} leaves the session 09:15-15:30 IST: keep it inside",
        )
        return
    if square_off is not None and end >= _minute(square_off):
        yield Problem(
            "filters.time_window.end",
            f"entries until {_clock(window.end)} reach the {_clock(square_off)} square-off: end "
            "the window before it",
        )
        return
    closes = range(OPEN_MINUTE + bar, CLOSE_MINUTE + bar, bar)
    if not any(start <= min(close, CLOSE_MINUTE) <= end for close in closes):
        yield Problem(
            "filters.time_window",
            f"no {spec.timeframe} bar closes inside {span}, so nothing can enter: widen it to "
            f"hold a multiple of {bar} min after 09:15",
        )


def _minute(value: time) -> int:
    return value.hour * 60 + value.minute


def _clock(value: time) -> str:
    return value.strftime("%H:%M")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))

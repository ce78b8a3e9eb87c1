"""The condition language of a StrategySpec: operands, comparisons and all/any groups.

An operand is one of

* a number: ``30``;
* a price field of the bar: ``{"price": "close"}``;
* an indicator output: ``{"indicator": "rsi", "period": 14}`` or
  ``{"indicator": "macd", "output": "signal", "fast_period": 12}``. Every key other than
  ``indicator`` and ``output`` is a numeric parameter of that indicator; missing parameters take
  the indicator's defaults and a missing ``output`` is its first output. Both are filled in on
  validation, so a parsed spec always states every parameter (and its id does not depend on
  whether a default was written out).

A condition is ``{"left": operand, "op": ">", "right": operand}``; ``between`` takes
``"right": [low, high]`` and holds when low <= left <= high. Conditions are combined with
``{"all": [...]}`` or ``{"any": [...]}``, and one level of nesting of the other kind.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from tradeloop.domain.indicators.registry import get_indicator
from tradeloop.domain.strategy.variants import by_shape, tag
from tradeloop.errors import SpecError

PriceField = Literal["open", "high", "low", "close", "volume"]
Op = Literal["<", "<=", ">", ">=", "crosses_above", "crosses_below", "between"]
MAX_CONDITIONS = 8

OperandKey = tuple[object, ...]
"""Identifies what an operand reads: equal keys read the same array."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PriceOperand(_Model):
    """A price field of the bar."""

    price: PriceField = Field(description="Which field of the bar: open, high, low, close, volume.")

    @property
    def key(self) -> OperandKey:
        return ("price", self.price)


class IndicatorOperand(BaseModel):
    """An output of an indicator. Keys other than indicator/output are its numeric parameters."""

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        allow_inf_nan=False,
        json_schema_extra={
            "description": (
                "An indicator output. Keys other than indicator and output are the indicator's "
                'numeric parameters (defaults fill the rest), e.g. {"indicator": "rsi", '
                '"period": 14} or {"indicator": "macd", "output": "signal"}.'
            )
        },
    )
    __pydantic_extra__: dict[str, float] = Field(init=False)

    indicator: str = Field(description="Indicator name, e.g. rsi, ema, macd, atr, adx, vwap.")
    output: str | None = Field(
        None, description="Which output of the indicator; absent = its first output."
    )

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any) -> Any:
        """Check the name, output and parameters against the registry and fill the defaults."""
        if not isinstance(data, dict) or not isinstance(data.get("indicator"), str):
            return data  # field validation reports the missing or mistyped name
        params = {key: value for key, value in data.items() if key not in ("indicator", "output")}
        output = data.get("output")
        if output is not None and not isinstance(output, str):
            return data
        for key, value in params.items():
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e15:
                # float() of a huge JSON integer overflows; no parameter is anywhere near it.
                raise PydanticCustomError(
                    "indicator",
                    "{reason}",
                    {"reason": f"{key} has more than 15 digits: out of range"},
                )
        try:
            definition = get_indicator(data["indicator"].strip().lower())
            resolved_output = definition.validate_output(output)
            values = definition.validate_params(params)
        except SpecError as exc:
            raise PydanticCustomError("indicator", "{reason}", {"reason": str(exc)}) from None
        return {"indicator": definition.name, "output": resolved_output, **values}

    @property
    def params(self) -> dict[str, float]:
        """Every parameter of the indicator, defaults included."""
        return dict(self.__pydantic_extra__ or {})

    @property
    def output_name(self) -> str:
        return self.output or get_indicator(self.indicator).default_output

    @property
    def key(self) -> OperandKey:
        return ("indicator", self.indicator, self.output_name, *sorted(self.params.items()))

    def label(self) -> str:
        """`rsi(14)`, `macd(12, 26, 9).signal`: how summaries and messages name it."""
        numbers = ", ".join(_number(value) for value in self.params.values())
        text = f"{self.indicator}({numbers})" if numbers else self.indicator
        single_output = len(get_indicator(self.indicator).outputs) == 1
        return text if single_output else f"{text}.{self.output_name}"


def _pick_operand(value: Any) -> str | None:
    if isinstance(value, bool):
        return None  # JSON true/false is not a number here, whatever Python thinks
    if isinstance(value, int | float):
        return tag("operand", "constant")
    if isinstance(value, IndicatorOperand):
        return tag("operand", "indicator")
    if isinstance(value, PriceOperand):
        return tag("operand", "price")
    if isinstance(value, dict):
        if "indicator" in value:
            return tag("operand", "indicator")
        if "price" in value:
            return tag("operand", "price")
    return None


Operand = Annotated[
    Annotated[float, Tag(tag("operand", "constant"))]
    | Annotated[IndicatorOperand, Tag(tag("operand", "indicator"))]
    | Annotated[PriceOperand, Tag(tag("operand", "price"))],
    by_shape(
        _pick_operand,
        'an operand is a number, {"price": "close"} or {"indicator": "rsi", "period": 14}',
        "operand",
    ),
]


def _pick_right(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return tag("right", "range")
    return tag("right", "operand")


def operand_key(operand: float | IndicatorOperand | PriceOperand) -> OperandKey:
    if isinstance(operand, IndicatorOperand | PriceOperand):
        return operand.key
    return ("constant", float(operand))


def operand_label(operand: float | IndicatorOperand | PriceOperand) -> str:
    if isinstance(operand, IndicatorOperand):
        return operand.label()
    if isinstance(operand, PriceOperand):
        return operand.price
    return _number(operand)


class Condition(_Model):
    """`left op right`, decided on the close of each bar."""

    left: Operand = Field(description="Left operand: a number, a price field or an indicator.")
    op: Op = Field(
        description=(
            "Comparison. crosses_above: left > right on this bar and left <= right on the bar "
            "before (crosses_below mirrors it). between: low <= left <= high."
        )
    )
    right: Annotated[
        Annotated[Operand, Tag(tag("right", "operand"))]
        | Annotated[tuple[Operand, Operand], Tag(tag("right", "range"))],
        by_shape(
            _pick_right,
            'right is an operand, or [low, high] with op "between"',
            "right",
        ),
    ] = Field(description="Right operand, or [low, high] for between.")

    @model_validator(mode="after")
    def _right_matches_op(self) -> Condition:
        if self.op == "between" and not isinstance(self.right, tuple):
            raise PydanticCustomError(
                "between_needs_range",
                'op "between" needs "right": [low, high], e.g. [40, 60]',
            )
        if self.op != "between" and isinstance(self.right, tuple):
            raise PydanticCustomError(
                "range_needs_between",
                'a [low, high] right side only goes with op "between"; give one operand here',
            )
        return self

    @property
    def operands(self) -> tuple[float | IndicatorOperand | PriceOperand, ...]:
        right = self.right if isinstance(self.right, tuple) else (self.right,)
        return (self.left, *right)

    def label(self) -> str:
        if isinstance(self.right, tuple):
            low, high = (operand_label(side) for side in self.right)
            return f"{operand_label(self.left)} between {low} and {high}"
        words = self.op.replace("_", " ")
        return f"{operand_label(self.left)} {words} {operand_label(self.right)}"


class AllOf(_Model):
    """Every condition holds."""

    all: list[Condition] = Field(
        min_length=1, max_length=MAX_CONDITIONS, description="Conditions that must all hold."
    )


class AnyOf(_Model):
    """At least one condition holds."""

    any: list[Condition] = Field(
        min_length=1, max_length=MAX_CONDITIONS, description="Conditions of which one must hold."
    )


def _member(group_key: str) -> Any:
    def pick(value: Any) -> str | None:
        if isinstance(value, Condition | AllOf | AnyOf):
            return tag("item", "group" if isinstance(value, AllOf | AnyOf) else "condition")
        if isinstance(value, dict):
            if group_key in value:
                return tag("item", "group")
            if "left" in value or "op" in value:
                return tag("item", "condition")
        return None

    return by_shape(
        pick,
        f'each item is a condition {{"left", "op", "right"}} or a group {{"{group_key}": [...]}}',
        "entry_item",
    )


class EntryAll(_Model):
    """Enter when every item holds; an item may be an {"any": [...]} group."""

    all: list[
        Annotated[
            Annotated[Condition, Tag(tag("item", "condition"))]
            | Annotated[AnyOf, Tag(tag("item", "group"))],
            _member("any"),
        ]
    ] = Field(
        min_length=1,
        max_length=MAX_CONDITIONS,
        description='Items that must all hold: conditions or {"any": [conditions]} groups.',
    )

    @property
    def mode(self) -> Literal["all", "any"]:
        return "all"

    @property
    def items(self) -> list[Condition | AllOf | AnyOf]:
        return list(self.all)


class EntryAny(_Model):
    """Enter when one item holds; an item may be an {"all": [...]} group."""

    any: list[
        Annotated[
            Annotated[Condition, Tag(tag("item", "condition"))]
            | Annotated[AllOf, Tag(tag("item", "group"))],
            _member("all"),
        ]
    ] = Field(
        min_length=1,
        max_length=MAX_CONDITIONS,
        description='Items of which one must hold: conditions or {"all": [conditions]} groups.',
    )

    @property
    def mode(self) -> Literal["all", "any"]:
        return "any"

    @property
    def items(self) -> list[Condition | AllOf | AnyOf]:
        return list(self.any)


def _pick_entry(value: Any) -> str | None:
    if isinstance(value, EntryAll | EntryAny):
        return tag("entry", value.mode)
    if isinstance(value, dict):
        if "all" in value and "any" not in value:
            return tag("entry", "all")
        if "any" in value and "all" not in value:
            return tag("entry", "any")
    return None


Entry = Annotated[
    Annotated[EntryAll, Tag(tag("entry", "all"))] | Annotated[EntryAny, Tag(tag("entry", "any"))],
    by_shape(
        _pick_entry,
        'entry is {"all": [...]} or {"any": [...]} (exactly one of the two keys)',
        "entry",
    ),
]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))

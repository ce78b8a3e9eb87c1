"""Turn pydantic's validation errors on a StrategySpec into messages a person or an LLM can act
on: the field's path in the JSON document (`exit.stop_loss.percent`, `entry.all[1].left`), what
is wrong, the value given, and the fix (valid keys with a "did you mean", the field's meaning).
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from tradeloop.domain.strategy.rules import OptionInstrument
from tradeloop.domain.strategy.variants import is_tag

SEMANTIC_ERROR = "spec_semantics"
"""Error type of the problems `validation.spec_problems` finds; its context holds them."""

_GENERIC_REMEDY = "see `tradeloop strategy schema`"


def field_path(location: Sequence[int | str]) -> str:
    """`("entry", "all", 0, "left")` -> `entry.all[0].left`, without union tags."""
    text = ""
    for segment in location:
        if is_tag(segment):
            continue
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else str(segment)
    return text or "(top level)"


def describe_errors(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem: `path: what is wrong (got value): how to fix it`."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        if error["type"] == SEMANTIC_ERROR:
            lines.extend(str(problem) for problem in error.get("ctx", {}).get("problems", []))
            continue
        lines.append(f"{field_path(error['loc'])}: {_message(error, root)}")
    return lines


def _message(error: ErrorDetails, root: type[BaseModel]) -> str:
    kind = error["type"]
    location = error["loc"]
    if kind == "extra_forbidden":
        return _unknown_key(location, root)
    if kind == "missing" and location and isinstance(location[-1], int):
        return "missing item: a range is written [low, high], with exactly two items"
    if kind == "missing":
        description = _field_description(location, root)
        meaning = f" ({description})" if description else ""
        return f"required field is missing: add it{meaning}"
    message = error["msg"]
    given = error.get("input")
    if kind in ("literal_error", "enum"):
        return f"{message} (got {_short(given)})"
    if kind.endswith(("_type", "_parsing")) or _is_bound(kind):
        description = _field_description(location, root)
        meaning = f"; it is {_lower_first(description)}" if description else ""
        return f"{message} (got {_short(given)}){meaning}"
    return message


def _is_bound(kind: str) -> bool:
    return kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") or (
        kind.startswith(("too_short", "too_long", "string_"))
    )


_WRITING_WORDS = frozenset(
    {"side", "action", "transaction_type", "write", "writing", "sell", "position", "buy_sell"}
)
"""Keys a spec might use to ask for writing options, which tradeloop does not do."""


def _unknown_key(location: Sequence[int | str], root: type[BaseModel]) -> str:
    key = str(location[-1])
    model = _model_at(location[:-1], root)
    if model is None:
        return f"unknown key {key!r}: remove it ({_GENERIC_REMEDY})"
    valid = list(model.model_fields)
    if model is OptionInstrument and key.lower() in _WRITING_WORDS:
        return (
            f"unknown key {key!r}: options are bought, never written (sold short): a long view "
            'buys a CE, a short view buys a PE; set "direction" and "option_type" and remove '
            f"{key!r}"
        )
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}: {hint}valid keys here: {', '.join(valid)}"


def _field_description(location: Sequence[int | str], root: type[BaseModel]) -> str:
    if not location or not isinstance(location[-1], str) or is_tag(location[-1]):
        return ""
    model = _model_at(location[:-1], root)
    if model is None or location[-1] not in model.model_fields:
        return ""
    return (model.model_fields[str(location[-1])].description or "").rstrip(".")


def _model_at(location: Sequence[int | str], root: type[BaseModel]) -> type[BaseModel] | None:
    """The model class that the value at `location` is validated as, when it can be told."""
    current: Any = root
    for segment in location:
        current = _step(_unwrap(current, segment), segment)
        if current is None:
            return None
    current = _unwrap(current, None)
    if inspect.isclass(current) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(annotation: Any, segment: int | str | None) -> Any:
    """Strip Annotated and Optional; pick a union member by the tag in `segment` if any."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [member for member in get_args(annotation) if member is not type(None)]
            if is_tag(segment):
                return next((m for m in members if _member_tag(m) == segment), None)
            if len(members) == 1:
                annotation = members[0]
                continue
            models = [m for m in map(_strip, members) if inspect.isclass(m)]
            return models[0] if len(models) == 1 else annotation
        return annotation


def _member_tag(member: Any) -> str | None:
    if get_origin(member) is Annotated:
        for extra in get_args(member)[1:]:
            if isinstance(extra, Tag):
                return extra.tag
    return None


def _strip(member: Any) -> Any:
    return get_args(member)[0] if get_origin(member) is Annotated else member


def _step(annotation: Any, segment: int | str) -> Any:
    if is_tag(segment):
        return annotation  # _unwrap already chose the member
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(segment))
        return None if field is None else field.annotation
    if isinstance(segment, int) and get_origin(annotation) in (list, tuple):
        arguments = [a for a in get_args(annotation) if a is not Ellipsis]
        return arguments[min(segment, len(arguments) - 1)] if arguments else None
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _lower_first(text: str) -> str:
    """'Stop loss' -> 'stop loss', but 'ATR multiple' stays as written (an acronym)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]

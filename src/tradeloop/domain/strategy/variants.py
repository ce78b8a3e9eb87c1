"""Unions picked by one key of the JSON object, with an error that lists the choices.

pydantic's own discriminated unions answer a wrong `kind` with a message about "tags"; these
answer `stop_loss needs "kind": one of "percent", "atr", ...`, which a person or an LLM can act
on. Tags are written `key=value`, and `spec_errors.field_path` drops them from error paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Discriminator


def tag(key: str, value: str) -> str:
    """The tag of the union member chosen when `key` equals `value`."""
    return f"{key}={value}"


def is_tag(segment: object) -> bool:
    """True for a tag inside a pydantic error location (never a field name or an index)."""
    return isinstance(segment, str) and "=" in segment


def keyed(key: str, choices: Mapping[str, str], field: str) -> Discriminator:
    """Pick a member by `value[key]`; `choices` maps each accepted value to its member's tag
    value (two values may share one member)."""
    listing = ", ".join(f'"{value}"' for value in choices)

    def pick(value: Any) -> str | None:
        raw = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
        if isinstance(raw, str) and raw in choices:
            return tag(key, choices[raw])
        return None

    return Discriminator(
        pick,
        custom_error_type=f"invalid_{key}",
        custom_error_message=f'{field} needs "{key}": one of {listing}',
    )


def by_shape(pick: Callable[[Any], str | None], message: str, error_type: str) -> Discriminator:
    """Pick a member by the shape of the value (a number, which keys an object has, ...)."""
    return Discriminator(pick, custom_error_type=error_type, custom_error_message=message)

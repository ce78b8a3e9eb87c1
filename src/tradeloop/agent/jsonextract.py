"""Get the JSON object out of a model's reply: strip `<think>` blocks, find the first object.

Models wrap JSON in prose or code fences, or think aloud before answering, even when decoding is
constrained by a schema (some servers ignore it). This module is pure text handling so that it
can be tested, fuzzed and measured without a model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tradeloop.errors import ModelError

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_PREVIEW_CHARS = 120
# Each candidate is scanned to its end, so the search is quadratic in the worst case; a reply
# with this many unusable `{` is hopeless anyway.
_MAX_CANDIDATES = 64


def strip_think(text: str) -> str:
    """Remove reasoning blocks: `<think>…</think>`, a dangling `…</think>` prefix, and an
    unclosed `<think>…` tail (a reply cut off while still thinking)."""
    text = _THINK_BLOCK.sub("", text)
    # Some chat templates open the block in the prompt, so only its end reaches us.
    closing = list(_THINK_CLOSE.finditer(text))
    if closing:
        text = text[closing[-1].end() :]
    opening = _THINK_OPEN.search(text)
    if opening:
        text = text[: opening.start()]
    return text.strip()


def balanced_object_end(text: str, start: int) -> int | None:
    """Index just past the `}` that closes the `{` at `start`, or None if it never closes.

    Braces inside JSON strings do not count, and a backslash escapes the next character.
    """
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        character = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode_object(candidate: str) -> dict[str, Any]:
    value = json.loads(candidate, parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def parse_reply(text: str) -> dict[str, Any]:
    """The first JSON object in a reply, decoded; `ModelError` saying what is wrong otherwise."""
    cleaned = strip_think(text)
    if not cleaned:
        raise ModelError(
            "the reply is empty (after removing <think> blocks): reply with one JSON object "
            '{"tool": "<tool name>", "args": {...}}'
        )
    # Fast path: the whole reply is the object, as schema-constrained decoding produces.
    if cleaned.startswith("{") and cleaned.endswith("}"):
        try:
            return _decode_object(cleaned)
        except ValueError:
            pass
    first_problem: str | None = None
    start = cleaned.find("{")
    candidates = 0
    while start != -1 and candidates < _MAX_CANDIDATES:
        candidates += 1
        end = balanced_object_end(cleaned, start)
        if end is None:
            first_problem = first_problem or (
                f"the JSON object starting at character {start} is never closed "
                "(the reply may have been cut off)"
            )
        else:
            try:
                return _decode_object(cleaned[start:end])
            except ValueError as exc:
                first_problem = (
                    first_problem or f"invalid JSON ({exc}) in {_preview(cleaned[start:end])}"
                )
        start = cleaned.find("{", start + 1)
    if first_problem is None:
        raise ModelError(
            f"the reply contains no JSON object: {_preview(cleaned)}. Reply with one JSON object "
            '{"tool": "<tool name>", "args": {...}} and nothing else'
        )
    raise ModelError(f"{first_problem}. Reply with one valid JSON object and nothing else")


def _preview(text: str) -> str:
    if len(text) <= _PREVIEW_CHARS:
        return repr(text)
    return repr(text[:_PREVIEW_CHARS]) + f"… ({len(text)} chars)"

"""Get the JSON object out of a model's reply: one object and nothing else, after a leading
`<think>` block.

Models wrap JSON in prose or code fences, think aloud before answering, or write two calls at
once, even when decoding is constrained by a schema (some servers ignore it). None of these is
guessed at (invariant 2: only a valid call runs): `parse_reply` says what was wrong, in a
message short enough to feed back. This module is pure text handling so that it can be tested,
fuzzed and measured without a model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tradeloop.errors import ModelError

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_PREVIEW_CHARS = 160
_DECODER = json.JSONDecoder(parse_constant=lambda name: _reject_constant(name))
_REPLY_WITH = 'Reply with one JSON object {"tool": "<tool name>", "args": {...}} and nothing else'
MAX_REPLY_CHARS = 16_000
"""The longest reply parsed: a valid call, even one carrying a full strategy spec, is a few
kilobytes; anything longer is refused unread (and `adapters` cut it to this length, so a
runaway reply is never echoed whole into the next request)."""


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


def parse_reply(text: str) -> dict[str, Any]:
    """The reply's one JSON object, decoded; `ModelError` saying what is wrong otherwise.

    A reply is exactly one JSON object, after one leading `<think>…</think>` block (or the
    `…</think>` tail of one its template opened in the prompt) and surrounding whitespace are
    removed. Prose around the object, a code fence, or a second object are errors fed back to
    the model, never guessed at: the call that would run might not be the one the model meant.
    """
    if len(text) > MAX_REPLY_CHARS:
        raise ModelError(
            f"the reply is longer than {MAX_REPLY_CHARS} characters ({_preview(text)}): a call "
            "is one short JSON object"
        )
    cleaned = _strip_leading_think(text).strip()
    if not cleaned:
        raise ModelError(f"the reply is empty (after the <think> block): {_REPLY_WITH}")
    if cleaned.startswith("```"):
        raise ModelError(f"the reply wraps the JSON in a code fence: {_REPLY_WITH}, no fence")
    if not cleaned.startswith("{"):
        problem = "starts with text" if "{" in cleaned else "contains no JSON object"
        raise ModelError(f"the reply {problem}: {_preview(cleaned)}. {_REPLY_WITH}")
    if balanced_object_end(cleaned, 0) is None:
        raise ModelError(
            "the JSON object is never closed (the reply may have been cut off): "
            f"{_preview(cleaned)}. {_REPLY_WITH}"
        )
    try:
        value, end = _DECODER.raw_decode(cleaned)
    except RecursionError:
        raise ModelError(f"the JSON object is nested too deeply. {_REPLY_WITH}") from None
    except ValueError as exc:
        raise ModelError(f"invalid JSON ({exc}) in {_preview(cleaned)}. {_REPLY_WITH}") from None
    rest = cleaned[end:].strip()
    if rest.startswith("{"):
        raise ModelError(
            f"the reply holds more than one JSON object: reply with exactly one call; "
            f"after the first came {_preview(rest)}"
        )
    if rest:
        raise ModelError(f"the JSON object is followed by text: {_preview(rest)}. {_REPLY_WITH}")
    if not isinstance(value, dict):  # pragma: no cover - a reply starting with "{" is an object
        raise ModelError(f"the reply is not a JSON object. {_REPLY_WITH}")
    return value


def _strip_leading_think(text: str) -> str:
    """`text` without one leading reasoning block. A reply that does not open one but closes
    one (`…</think>`, the block opened by the chat template) loses everything up to the close."""
    stripped = text.lstrip()
    if _THINK_OPEN.match(stripped):
        closing = _THINK_CLOSE.search(stripped)
        if closing is None:
            raise ModelError(
                "the reply is a <think> block that never closes (no answer after the "
                f"reasoning). {_REPLY_WITH}"
            )
        return stripped[closing.end() :]
    if _THINK_OPEN.search(stripped) is None:
        closing = _THINK_CLOSE.search(stripped)
        if closing is not None:
            return stripped[closing.end() :]
    return stripped


def _preview(text: str) -> str:
    """At most `_PREVIEW_CHARS` of the text, quoted, and its length when cut: never the whole of
    a long reply (it is fed back to the model and recorded)."""
    if len(text) <= _PREVIEW_CHARS:
        shown = repr(text)
        return shown if len(shown) <= _PREVIEW_CHARS + 2 else shown[:_PREVIEW_CHARS] + "…"
    return repr(text[:_PREVIEW_CHARS])[: _PREVIEW_CHARS + 2] + f"… ({len(text)} chars)"

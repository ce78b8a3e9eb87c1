"""Pure reply parsing: `<think>` stripping and first-balanced-object extraction."""

from __future__ import annotations

import pytest

from tradeloop.agent.jsonextract import balanced_object_end, parse_reply, strip_think
from tradeloop.errors import ModelError

CALL = '{"tool": "add", "args": {"a": 1, "b": 2}}'
PARSED = {"tool": "add", "args": {"a": 1, "b": 2}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan</think>answer", "answer"),
        ("<THINK>a</THINK> x <think>b</think> y", "x  y"),
        ("reasoning without an opening tag</think>answer", "answer"),
        ("answer<think>cut off while thinking", "answer"),
        ("<think>\nmulti\nline\n</think>\n\nanswer\n", "answer"),
        ("no tags", "no tags"),
    ],
)
def test_strip_think(text: str, expected: str) -> None:
    assert strip_think(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        CALL,
        f"  {CALL}\n",
        f"Here you go: {CALL} hope that helps",
        f"```json\n{CALL}\n```",
        f'<think>maybe {{"tool": "other"}} no</think>{CALL}',
        f"{{not json}} then {CALL}",
    ],
)
def test_parse_reply_finds_the_call(text: str) -> None:
    assert parse_reply(text) == PARSED


def test_braces_and_escaped_quotes_inside_strings_do_not_confuse_matching() -> None:
    text = 'prose {"tool": "echo", "args": {"text": "a } and \\" { b"}} trailing }'
    assert parse_reply(text) == {"tool": "echo", "args": {"text": 'a } and " { b'}}


def test_balanced_object_end_respects_strings_and_escapes() -> None:
    text = 'x{"a": "}\\"}", "b": {"c": 1}}y'
    assert text[balanced_object_end(text, 1) or 0 :] == "y"
    assert balanced_object_end('{"a": 1', 0) is None


def test_nested_object_is_found_when_the_outer_one_is_not_json() -> None:
    assert parse_reply(f"{{call: {CALL}}}") == PARSED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the reply is empty"),
        ("<think>only thinking</think>", "the reply is empty"),
        ("I will add the numbers.", "contains no JSON object"),
        ('{"tool": "add", "args": {"a": 1', "is never closed"),
        ('{"tool": "add", "args": {"a": NaN}}', "NaN is not valid JSON"),
        ("{'tool': 'add'}", "invalid JSON"),
        ("[1, 2, 3]", "contains no JSON object"),
    ],
)
def test_unusable_replies_raise_model_errors_that_say_why(text: str, expected: str) -> None:
    with pytest.raises(ModelError, match=expected):
        parse_reply(text)


def test_many_unclosed_braces_are_bounded() -> None:
    with pytest.raises(ModelError, match="never closed"):
        parse_reply("{" * 20_000)

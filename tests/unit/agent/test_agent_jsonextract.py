"""Pure reply parsing: one JSON object and nothing else, after a leading `<think>` block.

Prose around the object, a code fence or a second object used to be tolerated (the first
balanced object was taken); they are now errors fed back to the model (issue 14, invariant 2).
"""

from __future__ import annotations

import pytest

from tradeloop.agent.jsonextract import (
    MAX_REPLY_CHARS,
    balanced_object_end,
    parse_reply,
    strip_think,
)
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
        f'<think>maybe {{"tool": "other"}} no</think>{CALL}',
        f"<THINK>\nmulti\nline\n</THINK>\n\n{CALL}\n",
        f"reasoning the chat template opened</think>{CALL}",
    ],
)
def test_parse_reply_takes_the_one_object(text: str) -> None:
    assert parse_reply(text) == PARSED


def test_braces_and_escaped_quotes_inside_strings_do_not_confuse_matching() -> None:
    text = '{"tool": "echo", "args": {"text": "a } and \\" { b"}}'
    assert parse_reply(text) == {"tool": "echo", "args": {"text": 'a } and " { b'}}


def test_balanced_object_end_respects_strings_and_escapes() -> None:
    text = 'x{"a": "}\\"}", "b": {"c": 1}}y'
    assert text[balanced_object_end(text, 1) or 0 :] == "y"
    assert balanced_object_end('{"a": 1', 0) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Here you go: {CALL}", "the reply starts with text"),
        (f"{CALL} hope that helps", "the JSON object is followed by text"),
        (f"```json\n{CALL}\n```", "code fence"),
        (f"{CALL}\n{CALL}", "more than one JSON object"),
        (f'{CALL}{{"tool": "finish", "args": {{}}}}', "more than one JSON object"),
        (f"{{not json}} then {CALL}", "invalid JSON"),
        (f"{{call: {CALL}}}", "invalid JSON"),
        (f"<think>a</think><think>b</think>{CALL}", "the reply starts with text"),
        (f"<think>plan {CALL}", "never closes"),
    ],
)
def test_anything_but_one_object_is_refused_never_guessed(text: str, expected: str) -> None:
    with pytest.raises(ModelError, match=expected):
        parse_reply(text)


def test_errors_show_a_bounded_preview_never_the_whole_reply() -> None:
    for text in ("x" * 200_000, f"{CALL} " + "y" * 10_000, "prose " * 3_000 + CALL, "\x00" * 150):
        with pytest.raises(ModelError) as caught:
            parse_reply(text)
        assert len(str(caught.value)) < 400


def test_a_reply_over_the_limit_is_refused_unread() -> None:
    with pytest.raises(ModelError, match=f"longer than {MAX_REPLY_CHARS} characters"):
        parse_reply("{" + " " * MAX_REPLY_CHARS + "}")


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
        ('[{"tool": "add", "args": {}}]', "starts with text"),
    ],
)
def test_unusable_replies_raise_model_errors_that_say_why(text: str, expected: str) -> None:
    with pytest.raises(ModelError, match=expected):
        parse_reply(text)


def test_many_unclosed_braces_are_bounded() -> None:
    with pytest.raises(ModelError, match="never closed"):
        parse_reply("{" * 15_000)
    with pytest.raises(ModelError, match="nested too deeply"):
        parse_reply('{"a":' + "[" * 5_000 + "]" * 5_000 + "}")

"""Keep secrets out of the audit trail and out of the model's prompt.

Values are redacted by the name of their key (case-insensitive substring match), wherever they
sit in nested objects. Numbers and booleans are kept: under a key like `prompt_tokens` they are
counts, not credentials. Free text (the model's raw reply, error messages) is scrubbed for
`"key": "value"`, `key=value` and `key: Bearer value` pairs with a secret-looking key.
"""

from __future__ import annotations

import re

from pydantic import JsonValue

REDACTED = "***REDACTED***"
SECRET_KEY_PARTS: tuple[str, ...] = (
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "authorization",
    "credential",
    "cookie",
)

_KEY_PATTERN = "|".join(re.escape(part) for part in SECRET_KEY_PARTS)
_SECRET_KEY = rf"[\w-]*(?:{_KEY_PATTERN})[\w-]*"
# Three shapes of a secret in free text; an unquoted `key: word` is left alone because it is
# far more often prose ("args.api_key: Extra inputs are not permitted") than a credential.
_TEXT_PAIRS = (
    re.compile(  # JSON or Python mappings: "api_key": "abc" / 'token': 'abc'
        rf"""(?P<key>["']{_SECRET_KEY}["']\s*:\s*)"""
        r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""",
        re.IGNORECASE,
    ),
    re.compile(  # query strings and environment style: access_token=abc
        rf"""(?P<key>{_SECRET_KEY}\s*=\s*)(?P<value>"[^"]*"|'[^']*'|[^\s&,;}}\]]+)""",
        re.IGNORECASE,
    ),
    re.compile(  # HTTP headers: Authorization: Bearer abc
        rf"""(?P<key>{_SECRET_KEY}\s*:\s*)(?P<value>(?:Bearer|Basic|Token)\s+[^\s,;]+)""",
        re.IGNORECASE,
    ),
)


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def redact(value: JsonValue) -> JsonValue:
    """A copy of `value` with every secret-named entry replaced by the redaction marker."""
    if isinstance(value, dict):
        return {
            key: _redact_entry(item) if is_secret_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _redact_entry(value: JsonValue) -> JsonValue:
    if value is None or isinstance(value, bool | int | float):
        return value
    return REDACTED


def scrub_text(text: str) -> str:
    """Replace the values of secret-named pairs inside free text."""
    for pattern in _TEXT_PAIRS:
        text = pattern.sub(_replace_pair, text)
    return text


def _replace_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if re.fullmatch(r"-?\d+(\.\d+)?|true|false|null|none", value, re.IGNORECASE):
        return match.group(0)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{REDACTED}{quote}"

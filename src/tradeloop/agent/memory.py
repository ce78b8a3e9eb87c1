"""Short-term memory: the last steps of a run, summarised compactly for the model's prompt.

The window is bounded so a long run cannot outgrow the model's context, and each result is
summarised: whole when its compact JSON fits `max_result_chars`, else shortened (long strings
cut, long lists kept to their first items, deep nesting elided) and then cut to the bound, with
markers saying what was cut, so the model knows it saw only part. The full results stay in the
run record.
"""

from __future__ import annotations

import json
from collections import deque

from pydantic import JsonValue

from tradeloop.agent.records import StepRecord
from tradeloop.agent.redaction import redact

DEFAULT_WINDOW = 10
DEFAULT_MAX_RESULT_CHARS = 1500
MAX_STRING_CHARS = 200
MAX_LIST_ITEMS = 5
MAX_DEPTH = 4
MAX_ERROR_CHARS = 1000
"""Why a step ran nothing, as the model sees it: errors quoting a huge reply are cut."""


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with a marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated {len(text) - limit} chars]"


def compact_json(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def shorten(value: JsonValue, depth: int = 0) -> JsonValue:
    """`value` with long strings cut, long lists shortened and deep nesting elided (marked)."""
    if isinstance(value, str):
        if len(value) <= MAX_STRING_CHARS:
            return value
        return f"{value[:MAX_STRING_CHARS]}… [+{len(value) - MAX_STRING_CHARS} chars]"
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"{{… {len(value)} keys}}"
        return {key: shorten(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return f"[… {len(value)} items]"
        kept: list[JsonValue] = [shorten(item, depth + 1) for item in value[:MAX_LIST_ITEMS]]
        if len(value) > MAX_LIST_ITEMS:
            kept.append(f"… {len(value) - MAX_LIST_ITEMS} more item(s)")
        return kept
    return value


def summarise_value(value: JsonValue, max_chars: int) -> str:
    """A compact, redacted rendering of a tool result's data, at most `max_chars` characters
    (plus a marker): whole when it fits, else `shorten`ed first and then cut."""
    redacted = redact(value)
    whole = compact_json(redacted)
    if len(whole) <= max_chars:
        return whole
    return truncate(compact_json(shorten(redacted)), max_chars)


def describe_call(record: StepRecord) -> str:
    """The call of a step as the model wrote it (redacted), or its rejected reply."""
    if record.call is None:
        return truncate(record.planner_raw or "", MAX_STRING_CHARS)
    return compact_json({"tool": record.call.tool, "args": redact(record.call.args)})


def describe_outcome(record: StepRecord, max_result_chars: int = DEFAULT_MAX_RESULT_CHARS) -> str:
    """What came of a step, in one short block: the result summary, the error or the refusal."""
    error = truncate(record.error or "", MAX_ERROR_CHARS)
    if record.call is None:
        return f"your reply was rejected: {error}"
    if record.result is None:
        return f"rejected, not run: {error}"
    if record.validator is not None and not record.validator.approved:
        return f"refused by the validator: {'; '.join(record.validator.reasons)}"
    prefix = ""
    if record.validator is not None and record.executed_args != record.validated_args:
        prefix = (
            f"(run as {compact_json(redact(record.executed_args))}: the validator changed the "
            f"arguments: {'; '.join(record.validator.reasons) or 'no reason'}) "
        )
    result = record.result
    data = "" if result.data is None else summarise_value(result.data, max_result_chars)
    if result.error is not None:
        retry = "retryable" if result.error.retryable else "not retryable"
        detail = f"error {result.error.type} ({retry}): {result.error.message}"
        return prefix + detail + (f" data: {data}" if data else "")
    return f"{prefix}{result.status}: {data or 'null'}"


class ShortTermMemory:
    """The last `window` step records of one run."""

    def __init__(
        self, window: int = DEFAULT_WINDOW, max_result_chars: int = DEFAULT_MAX_RESULT_CHARS
    ) -> None:
        if window < 1:
            raise ValueError("the memory window must hold at least one step")
        self.window = window
        self.max_result_chars = max_result_chars
        self._records: deque[StepRecord] = deque(maxlen=window)
        self._total = 0

    def add(self, record: StepRecord) -> None:
        self._records.append(record)
        self._total += 1

    @property
    def records(self) -> tuple[StepRecord, ...]:
        return tuple(self._records)

    @property
    def last(self) -> StepRecord | None:
        return self._records[-1] if self._records else None

    @property
    def total_steps(self) -> int:
        """Steps seen so far, including those that fell out of the window."""
        return self._total

    @property
    def hidden_steps(self) -> int:
        """Steps that fell out of the window."""
        return self._total - len(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def outcome(self, record: StepRecord) -> str:
        """`describe_outcome` with this memory's bound on result characters."""
        return describe_outcome(record, self.max_result_chars)

    def render(self) -> str:
        """The remembered steps, oldest first, one short block each."""
        if not self._records:
            return "(no steps yet)"
        lines = []
        if self.hidden_steps:
            lines.append(f"({self.hidden_steps} earlier step(s) not shown)")
        lines.extend(self._render_record(record) for record in self._records)
        return "\n".join(lines)

    def _render_record(self, record: StepRecord) -> str:
        header = f"Step {record.index + 1}:"
        if record.call is None:
            return f"{header} {self.outcome(record)}"
        call = f"{header} {record.call.tool} {compact_json(redact(record.call.args))}"
        return f"{call}\n  -> {self.outcome(record)}"

"""Short-term memory: the last steps of a run, rendered compactly for the model's prompt.

The window is bounded so a long run cannot outgrow the model's context; large tool results are
cut with a marker saying how much was cut, so the model knows it saw only part.
"""

from __future__ import annotations

import json
from collections import deque

from pydantic import JsonValue

from tradeloop.agent.records import StepRecord
from tradeloop.agent.redaction import redact

DEFAULT_WINDOW = 10
DEFAULT_MAX_RESULT_CHARS = 1500


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with a marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated {len(text) - limit} chars]"


def compact_json(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


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

    def __len__(self) -> int:
        return len(self._records)

    def render(self) -> str:
        """The remembered steps, oldest first, one short block each."""
        if not self._records:
            return "(no steps yet)"
        lines = []
        hidden = self._total - len(self._records)
        if hidden:
            lines.append(f"({hidden} earlier step(s) not shown)")
        lines.extend(self._render_record(record) for record in self._records)
        return "\n".join(lines)

    def _render_record(self, record: StepRecord) -> str:
        header = f"Step {record.index + 1}:"
        if record.call is None:
            return f"{header} your reply was rejected: {record.error}"
        call = f"{header} {record.call.tool} {compact_json(redact(record.call.args))}"
        if record.result is None:
            return f"{call}\n  -> rejected, not run: {record.error}"
        if record.validator is not None and not record.validator.approved:
            reasons = "; ".join(record.validator.reasons)
            return f"{call}\n  -> refused by the validator: {reasons}"
        if record.validator is not None and record.executed_args != record.validated_args:
            call += f"\n  (run as {compact_json(redact(record.executed_args))}: the validator "
            call += f"changed the arguments: {'; '.join(record.validator.reasons) or 'no reason'})"
        result = record.result
        data = (
            ""
            if result.data is None
            else truncate(compact_json(redact(result.data)), self.max_result_chars)
        )
        if result.error is not None:
            retry = "retryable" if result.error.retryable else "not retryable"
            detail = f"error {result.error.type} ({retry}): {result.error.message}"
            return f"{call}\n  -> {detail}" + (f" data: {data}" if data else "")
        return f"{call}\n  -> {result.status}: {data or 'null'}"

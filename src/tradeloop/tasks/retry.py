"""Retry policy shared by every task: only transient infrastructure failures are retried."""

from __future__ import annotations

from typing import Any

from tradeloop.errors import is_transient


def only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry a failed task only when it raised a TransientError.

    User errors, model errors, operational stops and our bugs fail at once: retrying them would
    repeat the same failure (or, for an order create, risk a duplicate).
    """
    try:
        state.result()
    except BaseException as exc:
        return is_transient(exc)
    return False

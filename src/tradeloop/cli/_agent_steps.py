"""The agent's steps as a table that reads at 80 columns (two columns, call and outcome, below
`WIDE` columns; a column for each part from there on).

Arguments and results are shown as one `key=value` line per key (a spec by its name, a key left
null, a default, left out), wrapped whole rather than cut to `{"sp…`; the validator and token
columns appear only when a step has something in them (the rule-based planner has neither).
The run file (under `agent_runs/`) keeps every argument and result in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from tradeloop.cli._common import compact_table

if TYPE_CHECKING:
    from tradeloop.agent.records import StepRecord

VALUE_CHARS = 40  # a value longer than this is cut, with the count of what was cut
KEYS_SHOWN = 4  # a result shows this many of its keys, then how many more it has


def _value(value: Any) -> str:
    """A value as a trader reads it: text bare, a spec (an object with a name) by its name, the
    rest as compact JSON; cut to `VALUE_CHARS`."""
    from tradeloop.agent.memory import compact_json, truncate

    if isinstance(value, dict) and isinstance(value.get("name"), str):
        text = value["name"]
    elif isinstance(value, str):
        text = value
    else:
        text = compact_json(value)
    return truncate(text, VALUE_CHARS)


def key_values(value: Any, keys: int | None = None) -> str:
    """`value` as `key=value` lines (an object; a key set to null, a default, is left out), or
    as one value; at most `keys` keys."""
    if value is None:
        return "-"
    if not isinstance(value, dict):
        return escape(_value(value))
    items = [(key, inner) for key, inner in value.items() if inner is not None]
    shown = items if keys is None else items[:keys]
    lines = [f"{key}={_value(inner)}" for key, inner in shown]
    if len(shown) < len(items):
        lines.append(f"(+{len(items) - len(shown)} more)")
    return escape("\n".join(lines)) if lines else "{}"


def _validator_cell(step: StepRecord) -> str:
    if step.validator is None:
        return "-"
    if not step.validator.approved:
        return "refused: " + "; ".join(step.validator.reasons)
    return "rewrote args" if step.validator.args is not None else "approved"


def _status_cell(step: StepRecord) -> str:
    if step.result is not None:
        if step.result.error is not None:
            return f"error {step.result.error.type}"
        return step.result.status
    if step.stop == "crashed":
        return f"crashed {step.error_type}"
    if step.stop == "loop_detected":
        return "loop detected"
    if step.stop == "planner_error":
        return "planner error"
    return "rejected"


def _tokens_cell(step: StepRecord) -> str:
    if step.prompt_tokens is None and step.completion_tokens is None:
        return "-"
    return f"{step.prompt_tokens or 0}+{step.completion_tokens or 0}"


def _note_cell(step: StepRecord) -> str:
    if step.error:
        return escape(_value(step.error))
    if step.result is not None and step.result.error is not None:
        return escape(_value(step.result.error.message))
    return key_values(step.result.data if step.result is not None else None, KEYS_SHOWN)


def _duration(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 100 else f"{milliseconds:,.0f} ms"


WIDE = 120  # from this width on, each part of a step has its own column


def steps_table(title: str, steps: tuple[StepRecord, ...], width: int = WIDE) -> Table:
    """Every step: its tool, arguments, status, duration and what it returned (the note).

    On a terminal narrower than `WIDE` columns a step reads in two columns, the call (tool over
    its arguments) and its outcome (status and duration over what it returned), so each
    `key=value` gets half the width instead of a sixth."""
    if width < WIDE:
        return _stacked_table(title, steps)
    validated = any(step.validator is not None for step in steps)
    counted = any(_tokens_cell(step) != "-" for step in steps)
    table = compact_table(title, show_lines=True)
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("tool", no_wrap=True)
    table.add_column("args", overflow="fold", ratio=1)
    if validated:
        table.add_column("validator", overflow="fold")
    table.add_column("status", overflow="fold")
    table.add_column("duration", justify="right", no_wrap=True)
    if counted:
        table.add_column("tokens", no_wrap=True)
    table.add_column("note", overflow="fold", ratio=1)
    for step in steps:
        table.add_row(
            str(step.index + 1),
            _tool(step),
            key_values(_args(step)),
            *((escape(_validator_cell(step)),) if validated else ()),
            escape(_status_cell(step)),
            _duration(step.step_seconds),
            *((_tokens_cell(step),) if counted else ()),
            _note_cell(step),
        )
    return table


def _stacked_table(title: str, steps: tuple[StepRecord, ...]) -> Table:
    table = compact_table(title, show_lines=True)
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("tool / args", overflow="fold", ratio=1)
    table.add_column("status, duration / result", overflow="fold", ratio=1)
    for step in steps:
        outcome = [f"{escape(_status_cell(step))}  {_duration(step.step_seconds)}"]
        if _tokens_cell(step) != "-":
            outcome[0] += f"  {_tokens_cell(step)} tokens"
        if step.validator is not None:
            outcome.append(f"validator: {escape(_validator_cell(step))}")
        outcome.append(_note_cell(step))
        table.add_row(
            str(step.index + 1),
            f"[bold]{_tool(step)}[/]\n{key_values(_args(step))}",
            "\n".join(outcome),
        )
    return table


def _tool(step: StepRecord) -> str:
    return step.call.tool if step.call is not None else "-"


def _args(step: StepRecord) -> Any:
    return step.executed_args or (step.call.args if step.call is not None else None)

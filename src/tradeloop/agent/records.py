"""The immutable records of a run: proposed calls, validator decisions, steps and the run itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator

from tradeloop.agent.tool import ToolResult
from tradeloop.errors import ModelError

JsonObject = dict[str, JsonValue]
StopReason = Literal["done", "planner_error", "loop_detected", "crashed"]
Outcome = Literal["done", "max_steps", "loop_detected", "planner_error", "crashed"]
"""Why a run ended. `crashed`: a tool, the planner or the runtime raised an exception that is
neither the model's mistake nor transient (our bug, an operational stop); the runner records it
with its traceback and raises it, so no `AgentRun` is returned for it."""

_CALL_SHAPE = 'reply with exactly one JSON object {"tool": "<tool name>", "args": {...}}'


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCall(_Record):
    """A call as the model proposed it: a tool name and raw arguments, not yet validated."""

    tool: str
    args: JsonObject = Field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: object) -> ToolCall:
        """Check the envelope of a decoded reply; raise `ModelError` saying what to change."""
        if isinstance(raw, ToolCall):
            return raw
        if not isinstance(raw, Mapping):
            raise ModelError(f"the reply is a JSON {_json_kind(raw)}, not an object: {_CALL_SHAPE}")
        unexpected = sorted(str(key) for key in raw if key not in ("tool", "args"))
        if unexpected:
            raise ModelError(
                f"unexpected key(s) {', '.join(repr(key) for key in unexpected)} in the reply: "
                f"{_CALL_SHAPE}"
            )
        tool, args = raw.get("tool"), raw.get("args")
        if not isinstance(tool, str) or not tool:
            raise ModelError(f'the reply has no "tool" name (a string): {_CALL_SHAPE}')
        if args is None and "args" not in raw:
            raise ModelError(
                f'the reply has no "args" object (use "args": {{}} for none): {_CALL_SHAPE}'
            )
        if not isinstance(args, Mapping):
            raise ModelError(f'"args" must be a JSON object, got a JSON {_json_kind(args)}')
        return cls.model_validate({"tool": tool, "args": dict(args)})

    def key(self) -> str:
        """Canonical text of the call: equal for the same tool and arguments in any key order."""
        return json.dumps({"tool": self.tool, "args": self.args}, sort_keys=True, default=str)


def _json_kind(value: object) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


class ValidatorDecision(_Record):
    """What the validator hook (the risk manager) said about a call, with its reasons."""

    approved: bool
    reasons: tuple[str, ...] = ()
    args: JsonObject | None = Field(
        None, description="Rewritten arguments, when the hook changed them."
    )

    @classmethod
    def approve(cls, *reasons: str) -> ValidatorDecision:
        return cls(approved=True, reasons=reasons)

    @classmethod
    def refuse(cls, *reasons: str) -> ValidatorDecision:
        if not reasons:
            raise ValueError("a refusal needs at least one reason: the model is told why")
        return cls(approved=False, reasons=reasons)

    @classmethod
    def rewrite(cls, args: Mapping[str, Any], *reasons: str) -> ValidatorDecision:
        return cls(approved=True, reasons=reasons, args=dict(args))


class AgentContext(_Record):
    """What a planner knows about the run when it proposes step `step_index` (0-based)."""

    run_id: str
    goal: str
    context: JsonObject = Field(default_factory=dict)
    step_index: int = Field(ge=0)
    max_steps: int = Field(ge=1)


class StepRecord(_Record):
    """One step of a run, as it happened. Written to the audit trail as one JSON line."""

    index: int = Field(ge=0)
    planner_raw: str | None = Field(None, description="The model's final raw reply for this step.")
    planner_feedback: tuple[str, ...] = Field(
        (), description="Errors fed back to the model while this step was being planned."
    )
    planner_retried: tuple[str, ...] = Field(
        (), description="Transient planner failures (model unreachable) retried in this step."
    )
    call: ToolCall | None = None
    validated_args: JsonObject | None = None
    validator: ValidatorDecision | None = None
    executed_args: JsonObject | None = Field(
        None, description="Arguments the tool actually ran with."
    )
    result: ToolResult | None = None
    attempts: int = Field(0, ge=0, description="Tool executions, retries included.")
    error: str | None = Field(
        None, description="Why the step ran no tool (bad reply, loop, ...) or why it crashed."
    )
    error_type: str | None = None
    stop: StopReason | None = None
    planner_seconds: float = 0.0
    tool_seconds: float = 0.0
    step_seconds: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def executed(self) -> bool:
        return self.executed_args is not None


ToolOutcome = Literal["ok", "done", "error", "refused"]


class ToolRun(_Record):
    """One tool that ran in a run (or that the validator refused), and how it came out."""

    step: int = Field(ge=1, description="The step's number, from 1.")
    tool: str
    outcome: ToolOutcome
    detail: str | None = Field(None, description="The error's type, or the refusal's reason.")


class RunReport(_Record):
    """What a run actually did, next to what the model says it did (`tradeloop.agent.endings`).

    `claims_without_action` flags the model's summary where it claims an action ("deleted",
    "placed an order", "deployed") that no tool performed in the run.
    """

    model_text: str | None = Field(None, description="The summary the model finished with.")
    tools_run: tuple[ToolRun, ...] = ()
    steps_not_run: int = Field(0, ge=0, description="Steps that ran no tool (rejected calls).")
    claims_without_action: tuple[str, ...] = ()
    refusal: str | None = Field(None, description="The refusal the run ended with, if any.")

    def render(self) -> str:
        """Plain text lines for people: the model's words, then what ran, then the warnings."""
        lines = []
        if self.refusal is not None:
            lines.append(f"refused: {self.refusal}")
        elif self.model_text is not None:
            lines.append(f"model's summary: {self.model_text}")
        ran = ", ".join(
            f"{each.tool} (step {each.step}: {each.outcome}"
            + (f" {each.detail}" if each.detail else "")
            + ")"
            for each in self.tools_run
        )
        lines.append(f"tools run: {ran or 'none'}")
        if self.steps_not_run:
            lines.append(f"steps that ran no tool: {self.steps_not_run}")
        lines.extend(f"warning: {claim}" for claim in self.claims_without_action)
        return "\n".join(lines)


class AgentRun(_Record):
    """A finished run. `outcome` says why it ended; the steps say everything that happened.

    A run that crashed is not returned: `AgentRunner.run` raises its exception (see `Outcome`).
    """

    run_id: str
    goal: str
    context: JsonObject = Field(default_factory=dict)
    planner: str
    outcome: Outcome
    steps: tuple[StepRecord, ...]
    error: str | None = None
    final_result: ToolResult | None = None
    started_at: AwareDatetime
    finished_at: AwareDatetime
    duration_seconds: float
    run_file: Path | None = None
    report: RunReport | None = Field(
        None, description="What the run actually did, next to the model's summary."
    )

    @model_validator(mode="after")
    def _done_has_result(self) -> AgentRun:
        if self.outcome == "done" and self.final_result is None:
            raise ValueError("a run that ended 'done' carries its final result")
        return self

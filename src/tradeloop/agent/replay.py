"""Replay a recorded run without any model: re-execute its calls and compare the results.

Only what can be replayed safely and meaningfully is run again: a step that executed a tool that
is idempotent and deterministic. A tool that acts on the world (not idempotent) is never run
again, and a non-deterministic one (a clock, a live quote) is not compared. The step a run
crashed in is not run again either (its traceback is in the run file). Results are compared
after redaction, exactly as they were written. A tool that raises a bug during the replay raises
it, as in a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tradeloop.agent.executor import Executor
from tradeloop.agent.records import JsonObject, StepRecord
from tradeloop.agent.registry import ToolRegistry
from tradeloop.agent.runlog import read_run, redact_result
from tradeloop.agent.tool import ToolResult
from tradeloop.errors import ModelError

ComparisonStatus = Literal["same", "different", "skipped"]


class StepComparison(BaseModel):
    """One recorded step against its replay."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    tool: str | None
    args: JsonObject | None
    status: ComparisonStatus
    recorded: ToolResult | None = None
    replayed: ToolResult | None = None
    note: str = ""


class ReplayReport(BaseModel):
    """Every step of a run compared with its replay."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    path: Path
    comparisons: tuple[StepComparison, ...]

    @property
    def differences(self) -> tuple[StepComparison, ...]:
        return tuple(item for item in self.comparisons if item.status == "different")

    @property
    def identical(self) -> bool:
        return not self.differences


def replay(
    run_file: Path, registry: ToolRegistry, *, executor: Executor | None = None
) -> ReplayReport:
    """Re-execute the recorded validated calls of `run_file` with `registry`'s tools.

    Retries keep their backoff unless an `executor` with another sleep function is passed; no
    validator runs (its decisions are part of the record, and the arguments replayed are those
    the tool actually ran with).
    """
    recorded = read_run(run_file)
    runner = executor if executor is not None else Executor()
    comparisons = tuple(_compare(step, registry, runner) for step in recorded.steps)
    return ReplayReport(run_id=recorded.run_id, path=run_file, comparisons=comparisons)


def _compare(step: StepRecord, registry: ToolRegistry, executor: Executor) -> StepComparison:
    tool_name = step.call.tool if step.call is not None else None
    base = {
        "index": step.index,
        "tool": tool_name,
        "args": step.executed_args,
        "recorded": step.result,
    }
    if step.stop == "crashed":
        return StepComparison(
            **base,
            status="skipped",
            note=f"the run crashed in this step ({step.error_type}): see its run file's traceback",
        )
    if step.executed_args is None or tool_name is None or step.result is None:
        return StepComparison(**base, status="skipped", note="no tool ran in this step")
    if tool_name not in registry:
        return StepComparison(
            **base, status="different", note=f"tool '{tool_name}' is no longer registered"
        )
    target = registry.get(tool_name)
    if not target.idempotent:
        return StepComparison(
            **base, status="skipped", note="not replayed: the tool is not idempotent (it acts)"
        )
    if not target.deterministic:
        return StepComparison(
            **base, status="skipped", note="not compared: the tool is not deterministic"
        )
    try:
        resolved = registry.resolve({"tool": tool_name, "args": step.executed_args})
    except ModelError as exc:
        return StepComparison(
            **base, status="different", note=f"the recorded arguments are now invalid: {exc}"
        )
    replayed = redact_result(executor.execute(resolved).result)
    same = replayed.model_dump(mode="json") == step.result.model_dump(mode="json")
    return StepComparison(
        **base,
        status="same" if same else "different",
        replayed=replayed,
        note="" if same else "the result changed",
    )

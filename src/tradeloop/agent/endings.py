"""Honest endings: what a run actually did, next to what the model says it did.

`build_report` lists the tools that ran (with their outcomes) beside the model's final summary,
and flags a summary that claims an action no tool performed. The check is deterministic: a
small table of capabilities (`CAPABILITIES`), each with the words that claim it and the tool
names that perform it. A claim is flagged when its words appear (not negated: "nothing was
deleted" claims nothing) and no tool of that capability succeeded in the run; the flag says
whether the registry has such a tool at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from tradeloop.agent.records import RunReport, StepRecord, ToolOutcome, ToolRun
from tradeloop.agent.tool import ToolResult

REFUSE_TOOL = "refuse"
_NEGATION = re.compile(
    r"\b(not|no|never|cannot|can't|couldn't|didn't|unable|nothing|none|without|refused?)\b|n't\b",
    re.IGNORECASE,
)
_NEGATION_WINDOW = 40  # characters before a claim, within its sentence, that may negate it


@dataclass(frozen=True)
class Capability:
    """An action a summary may claim, and the tools that can perform it."""

    name: str
    claim: re.Pattern[str]
    tools: re.Pattern[str]


def _capability(name: str, claim: str, tools: str) -> Capability:
    return Capability(name, re.compile(claim, re.IGNORECASE), re.compile(tools))


CAPABILITIES: tuple[Capability, ...] = (
    _capability(
        "delete",
        r"\b(deleted|removed|erased|wiped|purged|cleared|forgot(?:ten)?)\b",
        r"delete|remove|erase|purge|clear|forget",
    ),
    _capability(
        "place an order",
        r"\b(placed|submitted|sent|executed)\b[^.]{0,40}?\borders?\b|\b(bought|sold)\b",
        r"order|buy|sell",
    ),
    _capability(
        "deploy",
        r"\b(deployed|went live|started (?:live|paper) trading)\b",
        r"deploy|go_live|start_trading",
    ),
    _capability("backtest", r"\b(backtested|ran (?:a |the )?backtests?)\b", r"backtest"),
    _capability("validate", r"\bvalidated\b", r"validate"),
)


def build_report(
    steps: Sequence[StepRecord],
    final_result: ToolResult | None,
    tool_names: Iterable[str],
    capabilities: Sequence[Capability] = CAPABILITIES,
) -> RunReport:
    """The report of a run from its steps (see the module docstring)."""
    tools_run = tuple(run for step in steps if (run := _tool_run(step)) is not None)
    text = _summary_text(final_result)
    last_tool = steps[-1].call.tool if steps and steps[-1].call is not None else None
    refusal = text if final_result is not None and last_tool == REFUSE_TOOL else None
    succeeded = [run.tool for run in tools_run if run.outcome in ("ok", "done")]
    claims: tuple[str, ...] = ()
    if text is not None:
        claims = tuple(unsupported_claims(text, succeeded, tool_names, capabilities))
    return RunReport(
        model_text=text,
        tools_run=tools_run,
        steps_not_run=sum(1 for step in steps if not step.executed and step.validator is None),
        claims_without_action=claims,
        refusal=refusal,
    )


def unsupported_claims(
    text: str,
    succeeded: Sequence[str],
    tool_names: Iterable[str],
    capabilities: Sequence[Capability] = CAPABILITIES,
) -> list[str]:
    """A warning for each capability `text` claims that no succeeded tool performs."""
    registered = list(tool_names)
    warnings = []
    for capability in capabilities:
        claimed = _claimed_word(text, capability.claim)
        if claimed is None:
            continue
        if any(capability.tools.search(name) for name in succeeded):
            continue
        able = [name for name in registered if capability.tools.search(name)]
        why = (
            f"no tool of this run can {capability.name}"
            if not able
            else f"{', '.join(able)} did not run successfully"
        )
        warnings.append(
            f"the summary says '{claimed}', but no tool performed it ({why}): "
            "treat that part of the summary as untrue"
        )
    return warnings


def _claimed_word(text: str, claim: re.Pattern[str]) -> str | None:
    for match in claim.finditer(text):
        sentence_start = max(text.rfind(mark, 0, match.start()) for mark in ".!?;\n") + 1
        before = text[max(sentence_start, match.start() - _NEGATION_WINDOW) : match.start()]
        if not _NEGATION.search(before):
            return match.group(0)
    return None


def _tool_run(step: StepRecord) -> ToolRun | None:
    if step.call is None:
        return None
    if step.validator is not None and not step.validator.approved:
        reasons = "; ".join(step.validator.reasons)
        return ToolRun(step=step.index + 1, tool=step.call.tool, outcome="refused", detail=reasons)
    if step.result is None or not step.executed:
        return None
    result = step.result
    outcome: ToolOutcome = result.status
    detail = result.error.type if result.error is not None else None
    return ToolRun(step=step.index + 1, tool=step.call.tool, outcome=outcome, detail=detail)


def _summary_text(final_result: ToolResult | None) -> str | None:
    if final_result is None:
        return None
    data: JsonValue = final_result.data
    if isinstance(data, dict):
        summary = data.get("summary")
        return summary if isinstance(summary, str) else None
    return data if isinstance(data, str) else None

"""Honest endings: the run report lists what ran beside the model's summary, flags claims no
tool performed, and a request no tool can do is refused with a message the model relays."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import Calls, make_tools, runner_for

from tradeloop.agent import ToolRegistry, read_run
from tradeloop.agent.builtin_tools import refuse
from tradeloop.agent.endings import build_report, unsupported_claims

ADD = {"tool": "add", "args": {"a": 1, "b": 2}}


def finish(summary: str) -> dict:
    return {"tool": "finish", "args": {"summary": summary}}


def test_a_finish_claiming_a_deletion_no_tool_made_is_flagged(registry: ToolRegistry) -> None:
    run = runner_for([finish("Deleted all remembered strategies.")], registry).run("forget")
    assert run.outcome == "done" and run.report is not None
    assert run.report.claims_without_action == (
        "the summary says 'Deleted', but no tool performed it (no tool of this run can delete): "
        "treat that part of the summary as untrue",
    )
    assert "warning: the summary says 'Deleted'" in run.report.render()


def test_a_claimed_order_is_flagged_when_the_order_tool_did_not_run(
    registry: ToolRegistry,
) -> None:
    run = runner_for([ADD, finish("Placed a live order for 50 units.")], registry).run("trade")
    assert run.report is not None
    (claim,) = run.report.claims_without_action
    assert "'Placed a live order'" in claim and "place_order did not run successfully" in claim


def test_a_claim_backed_by_a_tool_that_ran_is_not_flagged(registry: ToolRegistry) -> None:
    order = {"tool": "place_order", "args": {"quantity": 5}}
    run = runner_for([order, finish("Placed an order for 5 units.")], registry).run("trade")
    assert run.report is not None and run.report.claims_without_action == ()


@pytest.mark.parametrize(
    "text",
    [
        "Nothing was deleted: no tool can delete strategies.",
        "I cannot place an order from research; no order was placed.",
        "The strategy was not deployed.",
        "Backtests are remembered; the best spec is abc.",
    ],
)
def test_a_negated_or_absent_claim_is_not_flagged(text: str) -> None:
    assert unsupported_claims(text, [], ["add", "finish"]) == []


def test_the_report_lists_the_tools_run_and_their_outcomes(
    registry: ToolRegistry, calls: Calls
) -> None:
    steps = [
        ADD,
        {"tool": "ad", "args": {}},
        {"tool": "check_spec", "args": {"period": 1}},
        finish("Added 1 and 2; the spec check failed."),
    ]
    run = runner_for(steps, registry).run("add and check")
    report = run.report
    assert report is not None
    assert [(each.step, each.tool, each.outcome, each.detail) for each in report.tools_run] == [
        (1, "add", "ok", None),
        (3, "check_spec", "error", "SpecError"),
        (4, "finish", "done", None),
    ]
    assert report.steps_not_run == 1
    assert report.model_text == "Added 1 and 2; the spec check failed."
    assert report.render() == (
        "model's summary: Added 1 and 2; the spec check failed.\n"
        "tools run: add (step 1: ok), check_spec (step 3: error SpecError), finish (step 4: done)\n"
        "steps that ran no tool: 1"
    )


def test_a_run_that_did_not_finish_reports_what_ran_without_a_summary(
    registry: ToolRegistry,
) -> None:
    run = runner_for([ADD, ADD, ADD], registry).run("loop")
    assert run.outcome == "loop_detected" and run.report is not None
    assert run.report.model_text is None
    assert run.report.render() == "tools run: add (step 1: ok)\nsteps that ran no tool: 2"


def test_the_report_is_written_in_the_footer(registry: ToolRegistry, tmp_path: Path) -> None:
    summary = "Deleted everything; password=hunter2"
    run = runner_for([finish(summary)], registry, run_dir=tmp_path).run("g", run_id="ending")
    footer = read_run(tmp_path / "ending.jsonl").footer
    assert footer is not None and footer.report is not None
    assert footer.report.claims_without_action == run.report.claims_without_action  # type: ignore[union-attr]
    assert footer.report.model_text is not None and "hunter2" not in footer.report.model_text


def test_a_request_no_tool_can_do_is_refused_with_a_message_to_relay(calls: Calls) -> None:
    registry = ToolRegistry([*make_tools(calls), refuse])
    step = {
        "tool": "refuse",
        "args": {
            "request": "delete the remembered strategies",
            "reason": "no tool deletes strategy memory",
        },
    }
    run = runner_for([step], registry).run("delete all remembered strategies")
    assert run.outcome == "done" and run.report is not None
    expected = (
        "Cannot delete the remembered strategies: no tool deletes strategy memory. This agent "
        "acts only through its tools, and none of them does this; nothing was done for this "
        "request."
    )
    assert run.final_result is not None
    assert run.final_result.data == {
        "summary": expected,
        "refused": "delete the remembered strategies",
    }
    assert run.report.refusal == expected
    assert run.report.claims_without_action == ()  # "deletes" is not a claim of having deleted
    assert run.report.render().startswith(f"refused: {expected}\ntools run: refuse (step 1: done)")


def test_build_report_without_steps_is_empty() -> None:
    report = build_report([], None, [])
    assert report.render() == "tools run: none"

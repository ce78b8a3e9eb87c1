"""The audit trail: JSON lines per run, written incrementally, secrets redacted, read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agent_helpers import runner_for
from pydantic import BaseModel

from tradeloop.agent import Tool, ToolRegistry, ToolResult, list_runs, read_run
from tradeloop.agent.redaction import REDACTED, redact, scrub_text
from tradeloop.agent.runlog import find_run_file, run_file_path
from tradeloop.errors import DataValidationError, NotFoundError

SECRET = "eyJ-super-secret-token-value"
FINISH = {"tool": "finish", "args": {"summary": "done"}}


class ConnectArgs(BaseModel):
    client_id: str
    access_token: str
    headers: dict[str, str] = {}


class Connect(Tool[ConnectArgs]):
    name = "connect"
    description = "Connect to a broker."
    Args = ConnectArgs

    def call(self, args: ConnectArgs) -> ToolResult:
        return ToolResult.ok(
            {
                "client_id": args.client_id,
                "session": {"API_KEY": SECRET, "Refresh_Token": SECRET, "expires_in": 3600},
                "prompt_tokens": 12,
            }
        )


def test_secrets_in_args_results_context_and_raw_text_are_redacted(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    registry.register(Connect())
    connect = {
        "tool": "connect",
        "args": {
            "client_id": "1000",
            "access_token": SECRET,
            "headers": {"Authorization": f"Bearer {SECRET}"},
        },
    }
    raw_connect = json.dumps(connect)
    run = runner_for([raw_connect, FINISH], registry, run_dir=tmp_path).run(
        f"connect with token={SECRET}", {"dhan": {"password": SECRET, "client_id": "1000"}}
    )
    assert run.outcome == "done"
    text = (tmp_path / f"{run.run_id}.jsonl").read_text()
    assert SECRET not in text
    recorded = read_run(tmp_path / f"{run.run_id}.jsonl")
    step = recorded.steps[0]
    assert step.executed_args == {
        "client_id": "1000",
        "access_token": REDACTED,
        "headers": {"Authorization": REDACTED},
    }
    assert step.call is not None and step.call.args["access_token"] == REDACTED
    assert step.result is not None
    assert step.result.data == {
        "client_id": "1000",
        "session": {"API_KEY": REDACTED, "Refresh_Token": REDACTED, "expires_in": 3600},
        "prompt_tokens": 12,
    }
    assert recorded.header.context == {"dhan": {"password": REDACTED, "client_id": "1000"}}
    assert recorded.header.goal == f"connect with token={REDACTED}"
    # The in-memory run is the caller's: it keeps the real values.
    assert run.steps[0].executed_args is not None
    assert run.steps[0].executed_args["access_token"] == SECRET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"api_key": "abc", "n": 1}', f'{{"api_key": "{REDACTED}", "n": 1}}'),
        ("{'Secret': 'abc'}", f"{{'Secret': '{REDACTED}'}}"),
        ("GET /x?access_token=abc&page=2", f"GET /x?access_token={REDACTED}&page=2"),
        ("Authorization: Bearer abc.def", f"Authorization: {REDACTED}"),
        ("prompt_tokens=12", "prompt_tokens=12"),
        (
            "args.api_key: Extra inputs are not permitted",
            "args.api_key: Extra inputs are not permitted",
        ),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_redact_keeps_counts_and_shapes() -> None:
    value = {"tokens": 5, "items": [{"password": ["a"]}, {"name": "x"}], "cookie": None}
    assert redact(value) == {
        "tokens": 5,
        "items": [{"password": REDACTED}, {"name": "x"}],
        "cookie": None,
    }


def test_read_run_round_trips_header_steps_and_footer(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    add = {"tool": "add", "args": {"a": 1, "b": 2}}
    run = runner_for([add, FINISH], registry, run_dir=tmp_path).run("goal")
    recorded = read_run(tmp_path / f"{run.run_id}.jsonl")
    assert recorded.header.run_id == run.run_id
    assert recorded.steps == run.steps
    assert recorded.footer is not None and recorded.footer.outcome == "done"
    assert recorded.footer.final_result == run.final_result


def test_a_torn_last_line_leaves_an_incomplete_run(registry: ToolRegistry, tmp_path: Path) -> None:
    add = {"tool": "add", "args": {"a": 1, "b": 2}}
    run = runner_for([add, FINISH], registry, run_dir=tmp_path).run("goal")
    path = tmp_path / f"{run.run_id}.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:25])  # the process died mid-line
    recorded = read_run(path)
    assert recorded.outcome == "incomplete"
    assert len(recorded.steps) == 1


def test_a_damaged_line_in_the_middle_is_refused_by_line_number(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    add = {"tool": "add", "args": {"a": 1, "b": 2}}
    run = runner_for([add, FINISH], registry, run_dir=tmp_path).run("goal")
    path = tmp_path / f"{run.run_id}.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"index":0', '"index":"zero"')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"line 2: not a valid run file line \(index"):
        read_run(path)


def test_list_runs_newest_first(registry: ToolRegistry, tmp_path: Path) -> None:
    for day in (1, 3, 2):
        moment = datetime(2025, 1, day, tzinfo=UTC)
        runner_for([FINISH], registry, run_dir=tmp_path, now=lambda moment=moment: moment).run(
            f"goal {day}"
        )
    (tmp_path / "junk.jsonl").write_text("not json\n")
    summaries = list_runs(tmp_path)
    assert [summary.goal for summary in summaries] == ["goal 3", "goal 2", "goal 1"]
    assert all(summary.outcome == "done" and summary.steps == 1 for summary in summaries)
    assert len(list_runs(tmp_path, limit=2)) == 2
    assert list_runs(tmp_path / "missing") == []


def test_unknown_run_ids_suggest_close_ones_and_paths_are_refused(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    runner_for([FINISH], registry, run_dir=tmp_path).run("goal", run_id="20250101T000000Z-abcdef12")
    with pytest.raises(NotFoundError, match="Did you mean 20250101T000000Z-abcdef12"):
        find_run_file(tmp_path, "20250101T000000Z-abcdef13")
    with pytest.raises(NotFoundError, match="is not a run id"):
        run_file_path(tmp_path, "../../etc/passwd")

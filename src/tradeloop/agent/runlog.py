"""The audit trail of runs: one JSON-lines file per run under a directory the caller passes in.

`<run_id>.jsonl` holds a header line (run metadata), one line per step, and a footer line (the
outcome). Lines are written and flushed as they happen, so a crash keeps every step so far. A run
that crashed has a footer with outcome `crashed`, the exception's type, message and traceback; a
file without a footer is an incomplete run (the process died or was interrupted). Secrets are
redacted before anything is written.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from tradeloop.agent.records import JsonObject, Outcome, RunReport, StepRecord, ToolCall
from tradeloop.agent.redaction import redact, scrub_text
from tradeloop.agent.tool import ToolErrorDetail, ToolResult
from tradeloop.errors import DataValidationError, NotFoundError

FORMAT_VERSION = 1
RUN_FILE_SUFFIX = ".jsonl"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class _Line(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunHeader(_Line):
    kind: Literal["header"] = "header"
    format_version: int = FORMAT_VERSION
    run_id: str
    goal: str
    context: JsonObject = Field(default_factory=dict)
    planner: str
    tools: tuple[str, ...]
    max_steps: int
    loop_limit: int
    started_at: AwareDatetime


class RunFooter(_Line):
    kind: Literal["footer"] = "footer"
    outcome: Outcome
    steps: int
    finished_at: AwareDatetime
    duration_seconds: float
    error: str | None = None
    error_type: str | None = Field(None, description="The exception's type when it crashed.")
    traceback: str | None = Field(None, description="The exception's traceback when it crashed.")
    final_result: ToolResult | None = None
    report: RunReport | None = Field(
        None, description="The tools that ran next to the model's summary, and its flags."
    )


class RecordedRun(BaseModel):
    """A run read back from its file; `footer` is None when the run never finished."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    header: RunHeader
    steps: tuple[StepRecord, ...]
    footer: RunFooter | None

    @property
    def run_id(self) -> str:
        return self.header.run_id

    @property
    def outcome(self) -> Outcome | Literal["incomplete"]:
        return self.footer.outcome if self.footer is not None else "incomplete"


def check_run_id(run_id: str) -> str:
    """Refuse ids that could name a file outside the runs directory."""
    if not _RUN_ID.match(run_id):
        raise NotFoundError(
            f"'{run_id}' is not a run id: ids are letters, digits, '.', '_' and '-' "
            "(see `tradeloop agent ls`)"
        )
    return run_id


def run_file_path(directory: Path, run_id: str) -> Path:
    return directory / f"{check_run_id(run_id)}{RUN_FILE_SUFFIX}"


def find_run_file(directory: Path, run_id: str) -> Path:
    """The file of an existing run; `NotFoundError` with close ids when there is none."""
    path = run_file_path(directory, run_id)
    if path.is_file():
        return path
    known = [candidate.stem for candidate in directory.glob(f"*{RUN_FILE_SUFFIX}")]
    close = difflib.get_close_matches(run_id, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise NotFoundError(
        f"no agent run '{run_id}' in {directory}.{hint} List runs with `tradeloop agent ls`."
    )


def redact_result(result: ToolResult) -> ToolResult:
    error = result.error
    if error is not None:
        error = ToolErrorDetail(
            type=error.type, message=scrub_text(error.message), retryable=error.retryable
        )
    return ToolResult(status=result.status, data=redact(result.data), error=error)


def _redact_args(args: JsonObject | None) -> JsonObject | None:
    if args is None:
        return None
    redacted = redact(args)
    assert isinstance(redacted, dict)  # redact() keeps the shape of its input
    return redacted


def _redact_report(report: RunReport | None) -> RunReport | None:
    if report is None:
        return None
    return report.model_copy(
        update={
            "model_text": scrub_text(report.model_text) if report.model_text else None,
            "refusal": scrub_text(report.refusal) if report.refusal else None,
        }
    )


def redact_step(record: StepRecord) -> StepRecord:
    """The record as it may be written: secret-named values and pairs in text replaced."""
    call = record.call
    if call is not None:
        call = ToolCall(tool=call.tool, args=_redact_args(call.args) or {})
    validator = record.validator
    if validator is not None and validator.args is not None:
        validator = validator.model_copy(update={"args": _redact_args(validator.args)})
    return record.model_copy(
        update={
            "planner_raw": scrub_text(record.planner_raw) if record.planner_raw else None,
            "planner_feedback": tuple(scrub_text(text) for text in record.planner_feedback),
            "planner_retried": tuple(scrub_text(text) for text in record.planner_retried),
            "call": call,
            "validated_args": _redact_args(record.validated_args),
            "validator": validator,
            "executed_args": _redact_args(record.executed_args),
            "result": redact_result(record.result) if record.result is not None else None,
            "error": scrub_text(record.error) if record.error else None,
        }
    )


class RunLogWriter:
    """Appends one run's lines to `<directory>/<run_id>.jsonl`, flushing each line."""

    def __init__(self, directory: Path, run_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = run_file_path(directory, run_id)
        # "x": a run id names one run; never append to or overwrite another run's file.
        self._handle: IO[str] | None = self.path.open("x", encoding="utf-8")

    def write_header(self, header: RunHeader) -> None:
        context = _redact_args(header.context) or {}
        self._write(header.model_copy(update={"goal": scrub_text(header.goal), "context": context}))

    def write_step(self, record: StepRecord) -> None:
        # The step's own JSON with a leading "kind" key: one dump, no intermediate dict.
        self._write_text('{"kind":"step",' + redact_step(record).model_dump_json()[1:])

    def write_footer(self, footer: RunFooter) -> None:
        final = footer.final_result
        self._write(
            footer.model_copy(
                update={
                    "error": scrub_text(footer.error) if footer.error else None,
                    "traceback": scrub_text(footer.traceback) if footer.traceback else None,
                    "final_result": redact_result(final) if final is not None else None,
                    "report": _redact_report(footer.report),
                }
            )
        )
        self.close()

    def _write(self, line: _Line) -> None:
        self._write_text(line.model_dump_json())

    def _write_text(self, text: str) -> None:
        if self._handle is None:
            raise RuntimeError(f"{self.path} is closed: the run's footer was already written")
        self._handle.write(text + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLogWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_run(path: Path) -> RecordedRun:
    """Read a run file. A torn last line (a crash mid-write) is ignored; other damage is refused."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise NotFoundError(f"run file {path} does not exist") from exc
    header: RunHeader | None = None
    steps: list[StepRecord] = []
    footer: RunFooter | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
            kind = document.pop("kind", None) if isinstance(document, dict) else None
            if kind == "header" and number == 1:
                header = RunHeader.model_validate({"kind": kind, **document})
            elif kind == "step" and header is not None:
                steps.append(StepRecord.model_validate(document))
            elif kind == "footer" and header is not None:
                footer = RunFooter.model_validate({"kind": kind, **document})
            else:
                raise ValueError(f"unexpected line kind {kind!r}")
        except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
            if number == len(lines) and header is not None:
                break  # the process died while writing this line: keep what came before
            raise DataValidationError(
                f"{path}, line {number}: not a valid run file line ({_first_line(exc)}); "
                "run files are written by the agent runner and should not be edited"
            ) from exc
    if header is None:
        raise DataValidationError(f"{path} is empty: it holds no run header")
    return RecordedRun(path=path, header=header, steps=tuple(steps), footer=footer)


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        return f"{location}: {first['msg']}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    goal: str
    planner: str
    started_at: datetime
    steps: int
    outcome: Outcome | Literal["incomplete"]
    path: Path


def list_runs(directory: Path, limit: int = 20) -> list[RunSummary]:
    """The most recent runs first; unreadable files are skipped, not fatal."""
    summaries = []
    for path in directory.glob(f"*{RUN_FILE_SUFFIX}"):
        try:
            run = read_run(path)
        except (DataValidationError, NotFoundError):
            continue
        summaries.append(
            RunSummary(
                run_id=run.run_id,
                goal=run.header.goal,
                planner=run.header.planner,
                started_at=run.header.started_at,
                steps=len(run.steps),
                outcome=run.outcome,
                path=path,
            )
        )
    summaries.sort(key=lambda summary: summary.started_at, reverse=True)
    return summaries[:limit]

"""`tradeloop agent`: run the agent, research with it, list its runs, show one, and replay one
without a model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from tradeloop.cli._agent_steps import key_values, steps_table
from tradeloop.cli._common import EXIT_BUG, compact_table, console, err_console, fail, settings
from tradeloop.errors import TradeloopError, UserError

if TYPE_CHECKING:
    # Imported where used: the agent package loads every module of it (a tenth of a second),
    # which `tradeloop --help` need not pay for.
    from tradeloop.agent import Planner, ToolRegistry
    from tradeloop.agent.records import RunReport
    from tradeloop.settings import Settings

agent_app = typer.Typer(
    help="Run the agent, and inspect or replay its recorded runs.", no_args_is_help=True
)

_CELL_CHARS = 60
EXIT_CRASHED = EXIT_BUG


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(agent_app, name="agent")


class PlannerChoice(StrEnum):
    scripted = "scripted"
    ollama = "ollama"


def _registry(current: Settings, run_id: str | None = None) -> ToolRegistry:
    """The default tools; backtests are remembered under `run_id` (a replay passes none)."""
    from tradeloop.app.agent import tool_registry

    return tool_registry(current, run_id)


def _run_file(current: Settings, run_id: str) -> Path:
    from tradeloop.agent.runlog import RUN_FILE_SUFFIX, find_run_file

    if run_id.endswith(RUN_FILE_SUFFIX) and Path(run_id).is_file():
        return Path(run_id)
    return find_run_file(current.agent_runs_dir, run_id)


def _cell(value: Any) -> str:
    from tradeloop.agent.memory import compact_json, truncate

    if value is None:
        return "-"
    text = value if isinstance(value, str) else compact_json(value)
    return truncate(text, _CELL_CHARS)


def _json(value: Any) -> str:
    """`value` (a model's python dump) as JSON for scripts: times IST with their offset, as
    the API writes them; paths as text."""
    from datetime import datetime

    from tradeloop.domain.market.calendar import to_ist

    def convert(inner: Any) -> Any:
        if isinstance(inner, datetime):
            return to_ist(inner).isoformat()
        if isinstance(inner, Path):
            return str(inner)
        raise TypeError(f"{type(inner).__name__} is not JSON")

    return json.dumps(value, indent=2, default=convert)


@agent_app.command("ls")
def list_command(
    limit: int = typer.Option(20, min=1, help="How many of the most recent runs to list."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the runs as JSON (times IST with their offset) for scripts."
    ),
) -> None:
    """List recent agent runs, newest first: the run id with its goal under it, when it started
    (IST), the planner, its steps and its outcome."""
    from tradeloop.agent.memory import truncate
    from tradeloop.agent.runlog import list_runs
    from tradeloop.domain.market.calendar import IST

    current = settings()
    summaries = list_runs(current.agent_runs_dir, limit=limit)
    if as_json:
        typer.echo(_json([item.model_dump() for item in summaries]))
        return
    if not summaries:
        console.print(f"no agent runs in {current.agent_runs_dir}")
        return
    table = compact_table(f"agent runs in {current.agent_runs_dir}")
    # The id is what the user copies into `show` and `replay`: never cut it; the goal folds.
    widest = max(len(item.run_id) for item in summaries)
    table.add_column("run id / goal", overflow="fold", min_width=widest)
    table.add_column("started (IST)", no_wrap=True)
    for column in ("planner", "steps", "outcome"):
        table.add_column(column, no_wrap=True, justify="right" if column == "steps" else "left")
    for summary in summaries:
        goal = escape(truncate(summary.goal, _CELL_CHARS))
        table.add_row(
            f"{summary.run_id}\n[dim]{goal}[/]",
            f"{summary.started_at.astimezone(IST):%Y-%m-%d %H:%M}",
            summary.planner,
            str(summary.steps),
            summary.outcome,
        )
    console.print(table)


@agent_app.command("show")
def show_command(
    run_id: str = typer.Argument(..., help="A run id from `tradeloop agent ls`."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the run as recorded (header, steps, footer; times IST with their offset).",
    ),
) -> None:
    """Show every step of a run: tool, arguments, validator, status, duration and tokens."""
    from tradeloop.agent.memory import compact_json
    from tradeloop.agent.runlog import read_run
    from tradeloop.domain.market.refusals import format_ist

    run = read_run(_run_file(settings(), run_id))
    if as_json:
        typer.echo(_json(run.model_dump() | {"run_id": run.run_id, "outcome": run.outcome}))
        return
    # The run id on its own line: it is copied into `replay`.
    console.print(
        f"run [bold]{run.run_id}[/]\ngoal: {escape(run.header.goal)}\n"
        f"planner: {run.header.planner}  started: {format_ist(run.header.started_at)}  "
        f"outcome: [bold]{run.outcome}[/]",
        highlight=False,
    )
    console.print(steps_table("steps", run.steps, console.width))
    if run.footer is not None and run.footer.error:
        console.print(f"[yellow]{escape(run.footer.error)}[/]", highlight=False)
    if run.footer is not None and run.footer.traceback:
        console.print(run.footer.traceback, highlight=False, markup=False)
    if run.footer is not None and run.footer.final_result is not None:
        console.print(f"result: {compact_json(run.footer.final_result.data)}", highlight=False)
    if run.footer is not None:
        print_report(run.footer.report)


def print_report(report: RunReport | None) -> None:
    """What the run did next to what the model said: its summary, the tools that ran, and a
    warning (yellow) for each claim no tool performed."""
    if report is None:
        return
    for line in report.render().splitlines():
        if line.startswith("warning: "):
            console.print(f"[yellow]{escape(line)}[/]", highlight=False)
        else:
            console.print(line, highlight=False, markup=False)


@agent_app.command("replay")
def replay_command(
    run_id: str = typer.Argument(..., help="A run id from `tradeloop agent ls`."),
) -> None:
    """Re-run a recorded run's tool calls without the model; exit 1 when a result differs."""
    from tradeloop.agent import replay

    current = settings()
    report = replay(_run_file(current, run_id), _registry(current))
    counts = {status: 0 for status in ("same", "different", "skipped")}
    for comparison in report.comparisons:
        counts[comparison.status] += 1
    if report.differences:
        table = compact_table(f"replay of {report.run_id}: results that differ", show_lines=True)
        table.add_column("step", justify="right", no_wrap=True)
        table.add_column("tool", no_wrap=True)
        for column in ("args", "recorded", "replayed", "why"):
            table.add_column(column, overflow="fold", ratio=1)
        for item in report.differences:
            table.add_row(
                str(item.index + 1),
                item.tool or "-",
                key_values(item.args),
                key_values(item.recorded.model_dump(mode="json") if item.recorded else None),
                key_values(item.replayed.model_dump(mode="json") if item.replayed else None),
                escape(item.note),
            )
        console.print(table)
    console.print(
        f"replay of {report.run_id}: {counts['same']} same, {counts['different']} different, "
        f"{counts['skipped']} skipped",
        highlight=False,
    )
    if report.differences:
        raise typer.Exit(1)


@contextmanager
def _crash_reported() -> Iterator[None]:
    """A run that crashed on our bug: print the exception and the runner's note saying where the
    traceback is, and exit 70. Our own errors (and anything the runner did not record) pass."""
    try:
        yield
    except Exception as exc:
        notes = getattr(exc, "__notes__", None)
        if isinstance(exc, TradeloopError) or not notes:
            raise
        err_console.print(
            f"[bold red]crashed:[/] {escape(f'{type(exc).__name__}: {exc}')}\n"
            + escape("\n".join(notes)),
            highlight=False,
        )
        raise typer.Exit(EXIT_CRASHED) from exc


def _scripted_planner(script: Path | None) -> Planner:
    from tradeloop.agent import ScriptedPlanner

    if script is None:
        raise UserError(
            "the scripted planner needs --script FILE: a JSON array of "
            '{"tool": ..., "args": {...}} calls ending with a finish call; '
            "or use --planner ollama"
        )
    steps = read_script(script)
    if not isinstance(steps, list):
        raise UserError(f"--script {script} must be a JSON array of calls")
    return ScriptedPlanner(steps)


def read_script(script: Path, option: str = "--script") -> Any:
    """The JSON document in `script`; whatever keeps it from being read is the user's to fix."""
    shape = 'a JSON array of {"tool": ..., "args": {...}} calls'
    try:
        return json.loads(script.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{option} {script} does not exist: check the path") from None
    except IsADirectoryError:
        raise UserError(f"{option} {script} is a directory: give the file of {shape}") from None
    except OSError as exc:
        raise UserError(f"{option} {script} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{option} {script} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{option} {script} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}; it must be {shape}"
        ) from None
    except RecursionError:
        raise UserError(
            f"{option} {script} is nested too deeply to read; it must be {shape}"
        ) from None


@agent_app.command("run")
def run_command(
    goal: str = typer.Argument(..., help="What the agent should achieve, in plain words."),
    planner: PlannerChoice = typer.Option(PlannerChoice.scripted, help="Who proposes the calls."),
    script: Path | None = typer.Option(None, help="Calls for the scripted planner (JSON array)."),
    max_steps: int = typer.Option(10, min=1, help="The run stops after this many steps."),
) -> None:
    """Run the agent on GOAL and record the run under the data directory."""
    from tradeloop.agent import AgentRunner
    from tradeloop.agent.runner import new_run_id, utc_now

    current = settings()
    run_id = new_run_id(utc_now())
    registry = _registry(current, run_id)
    chosen: Planner
    if planner is PlannerChoice.ollama:
        from tradeloop.app.agent import ollama_planner

        checked = ollama_planner(current, registry)
        checked.check_model()
        chosen = checked
    else:
        chosen = _scripted_planner(script)
    runner = AgentRunner(chosen, registry, max_steps=max_steps, run_dir=current.agent_runs_dir)
    with _crash_reported():
        run = runner.run(goal, run_id=run_id)
    console.print(steps_table(f"run {run.run_id} ({chosen.name})", run.steps, console.width))
    console.print(f"outcome: [bold]{run.outcome}[/]  recorded in {run.run_file}", highlight=False)
    print_report(run.report)
    if run.outcome != "done":
        raise fail(run.error or run.outcome)


class ResearchPlannerChoice(StrEnum):
    rules = "rules"
    ollama = "ollama"


def check_ollama(current: Settings) -> None:
    """Refuse before the flow (and Prefect) starts when Ollama does not answer or lacks the
    model: the flow checks again where it runs, but here the fix is printed alone, without
    Prefect's log of a failed flow run."""
    from tradeloop.adapters.ollama_planner import OllamaChatModel

    OllamaChatModel(
        model=current.ollama_model,
        host=current.ollama_host,
        timeout_seconds=current.ollama_timeout_s,
    ).check_model()


@agent_app.command("research")
def research_command(
    planner: ResearchPlannerChoice = typer.Option(
        ResearchPlannerChoice.rules,
        help="rules: the offline rule-based planner; ollama: the local LLM (TRADELOOP_OLLAMA_*).",
    ),
    max_steps: int = typer.Option(20, min=1, max=200, help="The run stops after this many steps."),
    symbol: str = typer.Option("NIFTY", help="The index to research: NIFTY or BANKNIFTY."),
    seed: int = typer.Option(7, min=0, help="Seed of the rule-based planner's candidates."),
    goal: str | None = typer.Option(
        None, help="The goal given to the planner (default: find the best-scoring strategy)."
    ),
) -> None:
    """Research strategies with the agent (the agent-research Prefect flow) and show its steps.

    Every backtest is remembered in strategy memory (`tradeloop research best`); the run is
    recorded for `tradeloop agent show` and `tradeloop agent replay`.
    """
    current = settings()  # configures Prefect's home before the flow module imports Prefect
    if planner is ResearchPlannerChoice.ollama:
        check_ollama(current)
    from tradeloop.agent.runlog import read_run
    from tradeloop.flows.agent import AgentParameters, agent_research_flow

    options: dict[str, Any] = {
        "planner": planner.value,
        "max_steps": max_steps,
        "symbol": symbol,
        "seed": seed,
    }
    if goal is not None:
        options["goal"] = goal
    try:
        parameters = AgentParameters(**options)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(part) for part in error['loc']).replace('_', '-')}: "
            + error["msg"].removeprefix("Value error, ")
            for error in exc.errors(include_url=False)
        )
        raise UserError(f"invalid option: {problems}") from None
    from tradeloop.cli._prefect import prefect_api

    with prefect_api(), _crash_reported():
        summary = agent_research_flow(parameters)
    report = None
    if summary.run_file is not None:
        recorded = read_run(Path(summary.run_file))
        console.print(
            steps_table(f"run {summary.run_id} ({summary.planner})", recorded.steps, console.width)
        )
        report = recorded.footer.report if recorded.footer is not None else None
    console.print(
        f"outcome: [bold]{summary.outcome}[/] after {summary.steps} step(s)", highlight=False
    )
    if report is not None:
        print_report(report)
    elif summary.summary:
        console.print(summary.summary, highlight=False, markup=False)
    if summary.best_spec_id:
        console.print(
            f"best spec: [bold]{summary.best_spec_id}[/] (see `tradeloop research best`)",
            highlight=False,
        )
    console.print(
        f"run id: {summary.run_id}  (replay it: `tradeloop agent replay {summary.run_id}`)",
        highlight=False,
        soft_wrap=True,
    )
    if summary.outcome != "done":
        raise fail(summary.error or summary.outcome)

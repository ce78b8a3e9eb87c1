"""`tradeloop research`: run the research flow, read the leaderboard from strategy memory, list
the runs it holds and write a run's report (leaderboard and score histogram)."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from tradeloop.cli._common import console, settings
from tradeloop.cli._leaderboard import (
    leaderboard_table,
    memory_table,
    print_left_out,
    print_memory_notes,
    print_row_notes,
    run_row,
    runs_table,
)
from tradeloop.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from tradeloop.flows.research import ResearchParameters
    from tradeloop.settings import Settings

research_app = typer.Typer(help="Generate, backtest and score strategies.", no_args_is_help=True)

__all__ = ["leaderboard_table", "register", "research_parameters"]  # the demo prints the table
SCREENFUL = 20  # leaderboard rows `research run` prints unless --limit says otherwise


def register(app: typer.Typer) -> None:
    app.add_typer(research_app, name="research")


def _json(value: object) -> str:
    """`value` as JSON for scripts: NaN and infinities become null (JSON has neither)."""
    from pydantic import TypeAdapter

    def clean(item: object) -> object:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {key: clean(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [clean(inner) for inner in item]
        return item

    return json.dumps(clean(TypeAdapter(type(value)).dump_python(value, mode="json")), indent=2)


# The option of `research run` that sets each ResearchParameters field, and what a valid value is.
_OPTIONS: dict[str, tuple[str, str]] = {
    "symbols": ("--symbol", "give NIFTY or BANKNIFTY (repeat --symbol for both)"),
    "spec_dir": ("--spec-dir", "give a directory of StrategySpec JSON files"),
    "templates": ("--templates", "give a timeframe such as 5m or 15m"),
    "random_count": ("--random", "give a whole number of random specs per symbol, 0 to 100000"),
    "seed": ("--seed", "give a whole number, 0 or more"),
    "start": ("--from", "give a day as YYYY-MM-DD"),
    "end": ("--to", "give a day as YYYY-MM-DD, on or after --from"),
    "folds": ("--walk-forward", "give a number of folds from 1 to 20, or leave it out"),
    "batch_size": ("--batch-size", "give a whole number of specs per batch, 1 to 100000"),
    "generator": ("--generator", "give rules (the default) or ollama"),
    "llm_count": ("--llm-count", "give a whole number of LLM specs per symbol, 1 to 100"),
    "llm_timeframe": ("--llm-timeframe", "give a timeframe such as 5m or 15m"),
}


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"invalid option {option} {text!r}: not a day; give a day as YYYY-MM-DD "
            "(e.g. 2025-03-03)"
        ) from None


def _spec_dir(path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.exists():
        raise UserError(
            f"invalid option --spec-dir {path}: it does not exist; give a directory of "
            "StrategySpec JSON files (e.g. examples/strategies)"
        )
    if not path.is_dir():
        raise UserError(
            f"invalid option --spec-dir {path}: it is a file, not a directory; give the "
            "directory that holds it (every *.json in it is read)"
        )
    return str(path)


def research_parameters(**options: object) -> ResearchParameters:
    """The flow's parameters from the command's options; a refused value is a `UserError`
    naming the option and a valid value, raised before Prefect starts."""
    from tradeloop.flows.research import ResearchParameters

    try:
        return ResearchParameters.model_validate(options)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = error["msg"].removeprefix("Value error, ")
            if not error["loc"]:  # a rule across options (--from and --to): it names them
                problems.append(f"--from/--to: {message}")
                continue
            field = str(error["loc"][0])
            option, remedy = _OPTIONS.get(field, (f"--{field.replace('_', '-')}", ""))
            given = error.get("input")
            shown = f" {given}" if isinstance(given, int | str) else ""
            problems.append(f"{option}{shown}: {message}" + (f"; {remedy}" if remedy else ""))
        raise UserError("invalid option " + "; ".join(problems)) from None


def _symbols_to_research(parameters: ResearchParameters) -> list[str]:
    """The symbols the flow will load candles for. Every spec file is read (a bad one is a
    `SpecError` naming the file, now rather than from inside the flow); templates and random
    specs are made for every symbol, specs from --spec-dir only for their own."""
    from tradeloop.domain.strategy.spec import load_spec

    from_files: set[str] = set()
    if parameters.spec_dir is not None:
        from_files = {
            load_spec(path).symbol for path in sorted(Path(parameters.spec_dir).glob("*.json"))
        }
    if parameters.templates or parameters.random_count or parameters.generator == "ollama":
        return list(parameters.symbols)
    return [symbol for symbol in parameters.symbols if symbol in from_files]


def _check_candles(current: Settings, parameters: ResearchParameters) -> None:
    """Refuse a symbol without 1m candles in the window now, rather than from inside the flow."""
    symbols = _symbols_to_research(parameters)
    if not symbols:
        return
    from tradeloop.app.stores import candle_store
    from tradeloop.domain.market.calendar import IST

    stored = {
        series.symbol: series
        for series in candle_store(current).series()
        if series.interval == "1m"
    }
    missing = [symbol for symbol in symbols if symbol not in stored]
    if missing:
        listed = ", ".join(sorted(stored)) or "nothing yet"
        raise NotFoundError(
            f"no 1m candles for {', '.join(missing)} in the candle store (1m candles stored: "
            f"{listed}): import them with `tradeloop data import` or `tradeloop data synth`, "
            "or choose another --symbol"
        )
    for symbol in symbols:
        first = stored[symbol].first.astimezone(IST).date()
        last = stored[symbol].last.astimezone(IST).date()
        too_late = parameters.start is not None and parameters.start > last
        too_early = parameters.end is not None and parameters.end < first
        if too_late or too_early:
            raise UserError(
                f"no 1m candles for {symbol} from {parameters.start or 'the first day'} to "
                f"{parameters.end or 'the last day'}: the store holds {first} to {last}; choose "
                "--from/--to inside it, or import the days you want"
            )


@research_app.command("run")
def run(
    spec_dir: Path | None = typer.Option(
        None, "--spec-dir", help="Directory of StrategySpec JSON files (e.g. examples/strategies)."
    ),
    templates: list[str] = typer.Option(
        [], "--templates", help="Add the built-in templates for this timeframe (repeatable)."
    ),
    random_count: int = typer.Option(0, "--random", help="Random specs per symbol."),
    symbols: list[str] = typer.Option(["NIFTY", "BANKNIFTY"], "--symbol"),
    start: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD, IST)."),
    end: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD, IST)."),
    folds: int | None = typer.Option(None, "--walk-forward", help="Walk-forward folds."),
    seed: int = typer.Option(7, help="Seed of the random search."),
    batch_size: int = typer.Option(
        200, "--batch-size", help="Specs evaluated and remembered together."
    ),
    generator: str = typer.Option(
        "rules",
        "--generator",
        help="rules (templates, random search, spec files) or ollama (also asks the Ollama "
        "model of the ollama_* settings for new specs: see docs/generation.md).",
    ),
    llm_count: int = typer.Option(5, "--llm-count", help="LLM specs per symbol (ollama)."),
    llm_timeframe: str = typer.Option(
        "5m", "--llm-timeframe", help="Timeframe of the LLM specs (ollama)."
    ),
    limit: int = typer.Option(
        SCREENFUL,
        "--limit",
        min=1,
        help="Leaderboard rows to print (the top ones); --json prints every row.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the result, the whole leaderboard included, as JSON."
    ),
) -> None:
    """Run the research flow (through Prefect) and print the top of the leaderboard.

    Evaluations are remembered batch by batch: a run stopped part-way keeps its finished
    batches, and a re-run with the same options evaluates only what memory does not hold.
    With --generator ollama, Ollama must answer and have the model before anything starts.
    """
    current = settings()
    parameters = research_parameters(
        symbols=symbols,
        spec_dir=_spec_dir(spec_dir),
        templates=templates,
        random_count=random_count,
        seed=seed,
        start=_day(start, "--from"),
        end=_day(end, "--to"),
        folds=folds,
        batch_size=batch_size,
        generator=generator,
        llm_count=llm_count,
        llm_timeframe=llm_timeframe,
    )
    if parameters.generator == "ollama":
        from tradeloop.app.generation import llm_generator

        llm_generator(current).check_model()  # no server or no model: the fix, now
    _check_candles(current, parameters)
    from tradeloop.cli._prefect import prefect_api
    from tradeloop.flows.research import research_flow

    with prefect_api():
        result = research_flow(parameters)
    if as_json:
        typer.echo(_json(result.model_dump(mode="python")))
        return
    rows = result.leaderboard
    shown = rows[:limit]
    console.print(leaderboard_table(shown, current.strategy, console=console))
    print_row_notes(console, shown)
    print_left_out(console, len(shown), len(rows))
    if result.reused:
        console.print(
            f"Reused {result.reused} evaluation(s) from strategy memory (same specs, candles, "
            f"costs and settings); evaluated {result.evaluated}.",
            highlight=False,
        )
    if result.report:
        console.print(
            "The run's report (leaderboard, score histogram with the gate; "
            f"`tradeloop research report {result.run_id} --open` opens it):",
            highlight=False,
        )
        console.print(result.report, highlight=False, soft_wrap=True)  # whole, to copy


@research_app.command("best")
def best(
    limit: int = typer.Option(10, min=1, help="How many strategies."),
    symbol: str | None = typer.Option(None, help="Only this symbol."),
    passed_only: bool = typer.Option(False, "--passed", help="Only strategies that passed."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON for scripts."),
) -> None:
    """The best remembered strategies (latest evaluation of each), from strategy memory:
    the research window's score and the lockbox gate's PSR, DSR and trials, with every reason.

    At 80 columns the table keeps the name and the whole spec id (wrapped) and the DSR; a
    terminal of 120 columns or more adds the lockbox Sharpe, PSR and trials. Times are IST.
    """
    from tradeloop.app.stores import strategy_memory
    from tradeloop.domain.market.instruments import index_instrument

    if symbol is not None:  # a spec's symbol is a known index: any other name matches nothing
        try:
            symbol = index_instrument(symbol).symbol
        except NotFoundError as exc:
            raise NotFoundError(f"--symbol {symbol!r}: {exc}") from None
    current = settings()
    records = strategy_memory(current).best(limit, symbol=symbol, passed_only=passed_only)
    if as_json:
        typer.echo(_json([record.model_dump(mode="python") for record in records]))
        return
    console.print(memory_table(records, console=console))
    print_memory_notes(console, records)
    if not records:
        console.print("nothing remembered yet: run `tradeloop research run --spec-dir ...`")


@research_app.command("runs")
def runs(
    as_json: bool = typer.Option(False, "--json", help="Print every run as JSON for scripts."),
) -> None:
    """The research runs strategy memory holds, the latest first: each run's id, when it
    ranked its last strategy (IST), how many strategies it ranked and how many passed the
    significance gate. `tradeloop research report RUN_ID` writes one's report."""
    from tradeloop.app.stores import strategy_memory

    current = settings()
    summaries = strategy_memory(current).runs()
    if as_json:
        typer.echo(json.dumps([run_row(summary) for summary in summaries], indent=2))
        return
    if not summaries:
        console.print(
            f"no research runs in strategy memory ({current.memory_dir}) yet: run `tradeloop "
            "research run --templates 5m` first",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(runs_table(summaries))
    console.print("`tradeloop research report RUN_ID` writes one's report", highlight=False)


@research_app.command("report")
def report(
    run_id: str = typer.Argument(
        ..., metavar="RUN_ID", help="A research run's id (`tradeloop research runs` lists them)."
    ),
    open_page: bool = typer.Option(False, "--open", help="Open the report in a web browser."),
    png: bool = typer.Option(False, "--png", help="Also write scores.png (the histogram)."),
) -> None:
    """Write a research run's report.html: what it ranked, what passed the score gate and the
    significance gate, what it deployed, its leaderboard, and the histogram of its scores with
    the score gate's min_score drawn on it. It goes to <data_dir>/reports/research/<RUN_ID>/;
    the paths written are printed."""
    import webbrowser

    from tradeloop.app.stores import strategy_memory
    from tradeloop.reports.research import (
        SCORES_PNG,
        research_folder,
        research_run,
        write_html,
    )

    current = settings()
    memory = strategy_memory(current)
    run_id = run_id.strip()
    records = memory.run_records(run_id)
    if not records:
        raise NotFoundError(_unknown_run(run_id, [run.run_id for run in memory.runs()]))
    run = research_run(run_id, records, deployed=_deployed_by(current, run_id))
    folder = research_folder(current.data_dir, run_id)
    paths = [write_html(run, current.strategy, folder)]
    if png:
        from tradeloop.reports.research_png import write_scores_png

        title = f"research {run_id}"
        paths.append(write_scores_png(run.rows, current.strategy, folder / SCORES_PNG, title))
    for path in paths:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if open_page:
        webbrowser.open(paths[0].resolve().as_uri())


def _unknown_run(run_id: str, known: list[str]) -> str:
    import difflib

    guess = difflib.get_close_matches(run_id, known, n=1)
    hint = f"did you mean {guess[0]}? " if guess else ""
    listed = "`tradeloop research runs` lists the runs strategy memory holds"
    if not known:
        listed = "strategy memory holds no research run yet: `tradeloop research run` makes one"
    return f"no research run {run_id!r} in strategy memory: {hint}{listed}"


def _deployed_by(current: Settings, run_id: str) -> int:
    """How many strategies run `run_id` deployed (retired ones included)."""
    from tradeloop.app.stores import deployment_store

    store = deployment_store(current)
    try:
        deployments = store.deployments(include_retired=True)
        return sum(deployment.run_id == run_id for deployment in deployments)
    finally:
        store.close()

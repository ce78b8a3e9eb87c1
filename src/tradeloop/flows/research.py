"""The research flow: generate → evaluate → backtest → score → remember, per symbol.

Specs come from a directory of JSON files, from the built-in templates, and from seeded random
search; every spec is walked forward on the symbol's stored 1m candles and scored on its
out-of-sample results only. Evaluations are remembered batch by batch as they complete, so a
killed run loses only the batch in flight; a spec that memory already holds for the same
candles, costs and settings (its context key) is not evaluated again. The leaderboard of every
spec of the run, evaluated now or earlier, is returned.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Literal, TypeVar, cast
from uuid import UUID

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_image_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tradeloop.app.generation import generate_with_llm
from tradeloop.app.research import research_context
from tradeloop.clock import utc_now
from tradeloop.domain.market.candles import INTERVALS
from tradeloop.domain.research import LeaderboardRow, rank, split_lockbox
from tradeloop.domain.strategy.generation import Lineage
from tradeloop.domain.strategy.generators import random_specs, template_specs
from tradeloop.domain.strategy.spec import StrategySpec, load_spec
from tradeloop.errors import NotFoundError
from tradeloop.flows.artifacts import (
    LEADERBOARD_KEY,
    LEADERBOARD_ROWS,
    REPORT_KEY,
    SCORES_KEY,
    leaderboard_table,
    research_report,
)
from tradeloop.flows.parameters import IndexSymbols
from tradeloop.settings import Settings, load_settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.research import (
    deploy_passing,
    evaluate_batch,
    gate_candidates,
    known_evaluations,
    load_minute_candles,
)
from tradeloop.tasks.research_report import note_reused, write_research_report

T = TypeVar("T")


class ResearchParameters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: IndexSymbols = Field(default_factory=lambda: ["NIFTY", "BANKNIFTY"])
    spec_dir: str | None = Field(
        None, description="Directory of *.json StrategySpec files to evaluate."
    )
    templates: list[str] = Field(
        default_factory=list, description="Timeframes for which to add the built-in templates."
    )
    random_count: int = Field(0, ge=0, le=100_000, description="Random specs per symbol.")
    random_timeframe: str = "5m"
    seed: int = Field(7, ge=0)
    start: date | None = None
    end: date | None = None
    folds: int | None = Field(None, ge=1, le=20, description="Default: [strategy] setting.")
    batch_size: int = Field(
        200, ge=1, le=100_000, description="Specs evaluated and remembered together."
    )
    generator: Literal["rules", "ollama"] = Field(
        "rules",
        description="rules: only the spec files, templates and random specs; ollama: also "
        "`llm_count` specs per symbol written by the Ollama model (the `ollama_*` settings).",
    )
    llm_count: int = Field(5, ge=1, le=100, description="LLM specs per symbol (ollama).")
    llm_timeframe: str = Field("5m", description="Timeframe of the LLM specs (ollama).")
    llm_retries: int = Field(
        2, ge=0, le=10, description="Refused replies fed back to the model per spec (ollama)."
    )

    @field_validator("templates")
    @classmethod
    def _known_template_timeframes(cls, timeframes: list[str]) -> list[str]:
        for timeframe in timeframes:
            _check_timeframe(timeframe)
        return timeframes

    @field_validator("random_timeframe", "llm_timeframe")
    @classmethod
    def _known_timeframe(cls, timeframe: str) -> str:
        return _check_timeframe(timeframe)

    @model_validator(mode="after")
    def _start_not_after_end(self) -> ResearchParameters:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(
                f"the last day {self.end} is before the first day {self.start}: "
                "give an end on or after the start"
            )
        return self


def _check_timeframe(timeframe: str) -> str:
    if timeframe not in INTERVALS:
        raise ValueError(f"timeframe {timeframe!r} is not one of {', '.join(INTERVALS)}")
    return timeframe


class GeneratedSpecs(list[StrategySpec]):
    """The specs of the generate stage (a list, as before), with the lineage of those a
    generator described (`lineage`, by spec id: model, prompt hash, parent ids) and what the
    generator failed to write (`failures`)."""

    def __init__(
        self,
        specs: list[StrategySpec],
        lineage: dict[str, Lineage] | None = None,
        failures: tuple[str, ...] = (),
    ) -> None:
        super().__init__(specs)
        kept = {spec.id for spec in specs}
        self.lineage = {key: value for key, value in (lineage or {}).items() if key in kept}
        self.failures = failures

    def __reduce__(self) -> tuple[object, ...]:  # pickled by Prefect's result store
        return (GeneratedSpecs, (list(self), self.lineage, self.failures))


@task
def generate_specs(
    settings: Settings, parameters: ResearchParameters, symbol: str
) -> GeneratedSpecs:
    """The generate stage: every spec for `symbol` from the configured sources, deduplicated;
    option specs only when the option model can price them (an IV series is stored). With
    `generator="ollama"` the Ollama model adds `llm_count` new specs, with their lineage."""
    specs: dict[str, StrategySpec] = {}
    lineage: dict[str, Lineage] = {}
    failures: tuple[str, ...] = ()
    if parameters.spec_dir is not None:
        directory = Path(parameters.spec_dir)
        if not directory.is_dir():
            raise NotFoundError(f"spec directory {directory} does not exist")
        for path in sorted(directory.glob("*.json")):
            spec = load_spec(path)
            if spec.symbol == symbol:
                specs.setdefault(spec.id, spec)
    for timeframe in parameters.templates:
        for spec in template_specs(symbol, timeframe):
            specs.setdefault(spec.id, spec)
    if parameters.random_count:
        generated = random_specs(
            parameters.seed, parameters.random_count, symbol, parameters.random_timeframe
        )
        for spec in generated:
            specs.setdefault(spec.id, spec)
    if parameters.generator == "ollama":
        written = generate_with_llm(
            settings,
            symbol,
            parameters.llm_timeframe,
            parameters.llm_count,
            parameters.start,
            parameters.end,
            max_retries=parameters.llm_retries,
        )
        for failure in written.failures:
            get_run_logger().warning("%s: %s: %s", symbol, written.model, failure)
        for spec in written.specs:
            specs.setdefault(spec.id, spec)
        lineage, failures = written.lineage, written.failures
    options = [spec for spec in specs.values() if spec.instrument.kind == "option"]
    if options:
        try:
            research_context(settings).option_market(symbol, parameters.start or utc_now().date())
        except NotFoundError as exc:
            get_run_logger().warning("%s: skipped %d option spec(s): %s", symbol, len(options), exc)
            kept = [spec for spec in specs.values() if spec.instrument.kind != "option"]
            return GeneratedSpecs(kept, lineage, failures)
    return GeneratedSpecs(list(specs.values()), lineage, failures)


def _gate(
    settings: Settings,
    run_id: str,
    symbol: str,
    records: list[StrategyRecord],
    candles: pl.DataFrame,
    lockbox_start: datetime | None,
) -> list[StrategyRecord]:
    """`records` with those that passed the score gate replaced by their lockbox verdicts."""
    scoring = settings.strategy
    candidates = [r for r in records if r.score > 0 and r.score >= scoring.min_score]
    if lockbox_start is None or not candidates:
        return records
    gated = gate_candidates(
        settings, run_id, symbol, _as_is(candidates), _as_is(candles), lockbox_start
    )
    verdicts = {record.spec_id: record for record in gated}
    return [verdicts.get(record.spec_id, record) for record in records]


class _Progress:
    """The run's progress in the Prefect UI (symbols done, and batches done of the symbol in
    hand), sent at most every `EVERY` seconds and when the run completes: each update is a
    round trip to the Prefect API, which cost more than a batch's evaluation."""

    EVERY = 5.0

    def __init__(self) -> None:
        self.artifact = cast(  # a sync call in a sync flow returns the id, not a coroutine
            UUID, create_progress_artifact(0.0, description="research: share of the batches done")
        )
        self.sent = time.monotonic()

    def show(self, share: float) -> None:
        now = time.monotonic()
        if share >= 1.0 or now - self.sent >= self.EVERY:
            update_progress_artifact(self.artifact, 100.0 * min(share, 1.0))
            self.sent = now


def _as_is(value: T) -> T:
    """`value` for Prefect to pass to a task as it is, without walking its every nested object
    (a year of candles, hundreds of specs) to look for futures."""
    return cast(T, quote(value))


class ResearchResult(BaseModel):
    """The leaderboard of a research run and how much of it was evaluated by this run.

    Attributes:
        leaderboard: every spec of the run, ranked, whether evaluated now or reused.
        evaluated: specs this run walked forward.
        reused: specs strategy memory already held for the same candles, costs and settings.
        deployed: the deployment ids this run made: the best `[deploy] top_k` strategies that
            passed the significance gate, to paper (`tradeloop deployments ls`).
        run_id: the run's id in strategy memory (`tradeloop research report RUN_ID`).
        report: the run's HTML page, or None when it could not be drawn (the log says why).
    """

    model_config = ConfigDict(frozen=True)

    leaderboard: list[LeaderboardRow]
    evaluated: int
    reused: int
    deployed: list[str] = []
    run_id: str = ""
    report: str | None = None


@flow(name="research", flow_run_name="research-{parameters.seed}")
def research_flow(parameters: ResearchParameters | None = None) -> ResearchResult:
    """Evaluate every generated spec per symbol in batches, remembering each batch as it
    completes and skipping what memory already holds; return the leaderboard."""
    parameters = parameters or ResearchParameters()
    settings = load_settings()
    run_id = str(flow_run.get_id() or f"local-{parameters.seed}")
    records: list[StrategyRecord] = []
    reused = 0
    symbols = [name.upper() for name in parameters.symbols]
    progress = _Progress()
    for place, symbol in enumerate(symbols):
        specs = generate_specs(settings, parameters, symbol)
        if not specs:
            continue
        candles = load_minute_candles(settings, symbol, parameters.start, parameters.end)
        lockbox = split_lockbox(candles, settings.strategy.lockbox_fraction)
        research = lockbox.research
        key, known = known_evaluations(
            settings, symbol, _as_is(specs), _as_is(research), parameters.folds
        )
        done = {record.spec_id for record in known}
        todo = [spec for spec in specs if spec.id not in done]
        if known:
            get_run_logger().info(
                "%s: %d of %d specs already in strategy memory for these candles, costs and "
                "settings; evaluating the other %d",
                symbol,
                len(known),
                len(specs),
                len(todo),
            )
        evaluated = list(known)
        reused += len(known)
        size = parameters.batch_size
        batches = max(1, -(-len(todo) // size))
        for index, first in enumerate(range(0, len(todo), size)):
            batch = todo[first : first + size]
            part = f"{symbol}.{index:05d}"
            evaluated.extend(
                evaluate_batch(
                    settings,
                    run_id,
                    part,
                    _as_is(batch),
                    _as_is(research),
                    parameters.folds,
                    key,
                    specs.lineage,
                )
            )
            progress.show((place + (index + 1) / batches) / len(symbols))
        records.extend(_gate(settings, run_id, symbol, evaluated, candles, lockbox.start))
        progress.show((place + 1) / len(symbols))
    deployed = deploy_passing(settings, run_id, _as_is(records))
    rows = rank([record.leaderboard_row() for record in records])
    note_reused(settings, run_id, _as_is(records))
    report = write_research_report(settings, run_id, _as_is(rows), len(deployed))
    create_table_artifact(
        table=leaderboard_table(rows),
        key=LEADERBOARD_KEY,
        description=f"The top {LEADERBOARD_ROWS} of {len(rows)} strategies of this research run",
    )
    if report is not None:
        create_image_artifact(
            image_url=report.scores_url,
            key=SCORES_KEY,
            description=f"Scores of the {len(rows)} strategies of this research run, with the "
            f"score gate (min_score {settings.strategy.min_score}); the page: {report.page}",
        )
    create_markdown_artifact(
        markdown=research_report(
            rows,
            len(records) - reused,
            reused,
            deployed,
            settings.strategy,
            run_id=run_id,
            page=None if report is None else report.page,
        ),
        key=REPORT_KEY,
        description="What this research run evaluated, what passed the gate, what it deployed",
    )
    return ResearchResult(
        leaderboard=rows,
        evaluated=len(records) - reused,
        reused=reused,
        deployed=[d.id for d in deployed],
        run_id=run_id,
        report=None if report is None else str(report.page),
    )

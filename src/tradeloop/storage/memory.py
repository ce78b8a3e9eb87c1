"""Long-term strategy memory: every evaluated strategy, its scores and the context it ran in.

The "remember" stage of the loop writes one `StrategyRecord` per (spec, symbol, window); the next
generation asks for the best of them (`best`). Records are append-only: a research run writes
one Parquet file per batch (`<root>/run=<run_id>[.<part>].parquet`, atomically) as each batch
completes, and DuckDB reads them all. Re-remembering the same run id and part replaces that file,
so a retried Prefect task does not duplicate records. Each record carries the digest of what
decided it besides the spec (`context_key`), so a re-run finds what is already known
(`evaluated`) and a killed run loses at most the batch in flight.

A run's records (`run_records`) are its leaderboard: each spec's latest record of the run, the
lockbox verdict (part `<symbol>.gate`) over the evaluation it judged. A research run that ranked
earlier runs' evaluations without evaluating them again notes which (`remember_reused`: the
spec, symbol and the record's run and time, in `<root>/reused/`), so its leaderboard reads back
whole while each evaluation stays stored once; `runs` lists the runs memory holds.
"""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.storage._files import exclusive_writer, write_parquet_atomically
from tradeloop.storage.memory_runs import REUSED_SCHEMA, RunSummary, by_run, reused_frame

if TYPE_CHECKING:
    from tradeloop.domain.backtest.gate import GateCard, TrialStats
    from tradeloop.domain.research import Evaluation, LeaderboardRow

_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "evaluated_at": pl.Datetime("us", "UTC"),
    "spec_id": pl.String(),
    "name": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "regime": pl.String(),
    "window_start": pl.Datetime("us", "UTC"),
    "window_end": pl.Datetime("us", "UTC"),
    "score": pl.Float64(),
    "passed": pl.Boolean(),
    "reasons": pl.String(),
    "metrics": pl.String(),
    "spec_json": pl.String(),
    "source": pl.String(),
    "context_key": pl.String(),
    "gate": pl.String(),
    "lineage": pl.String(),
}


class StrategyRecord(BaseModel):
    """One evaluation of one strategy on one symbol and window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    evaluated_at: datetime
    spec_id: str
    name: str
    symbol: str
    timeframe: str
    regime: str = Field(description="Market context of the window, e.g. 'trending-up/high-vol'.")
    window_start: datetime
    window_end: datetime
    score: float
    passed: bool
    reasons: tuple[str, ...] = ()
    metrics: dict[str, float] = Field(default_factory=dict)
    spec_json: str
    source: str = Field("backtest", description="backtest, paper or live.")
    context_key: str | None = Field(
        None,
        description="Digest of the candles, costs and settings the spec was evaluated with "
        "(see `evaluation_context_key`); None on records written before it existed.",
    )
    gate: dict[str, float] = Field(
        default_factory=dict,
        description="The significance gate's numbers (`GateCard.numbers`) when the strategy "
        "reached the lockbox; empty when it did not.",
    )
    lineage: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="Where the spec came from when a generator says so (the LLM generator: "
        "generator, model, prompt_sha256, parents, attempts); empty otherwise and on records "
        "written before it existed.",
    )

    def to_row(self) -> dict[str, Any]:
        row = self.model_dump()
        row["reasons"] = json.dumps(list(self.reasons))
        row["metrics"] = json.dumps(self.metrics, sort_keys=True)
        row["gate"] = json.dumps(self.gate, sort_keys=True)
        row["lineage"] = json.dumps(self.lineage, sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StrategyRecord:
        values = dict(row)
        values["reasons"] = tuple(json.loads(values["reasons"]))
        values["metrics"] = json.loads(values["metrics"])
        values["gate"] = json.loads(values.get("gate") or "{}")
        values["lineage"] = json.loads(values.get("lineage") or "{}")
        return cls.model_validate(values)

    @classmethod
    def of(
        cls,
        evaluation: Evaluation,
        run_id: str,
        evaluated_at: datetime,
        context_key: str | None = None,
        lineage: Mapping[str, str | list[str]] | None = None,
    ) -> StrategyRecord:
        """The record of one evaluation: its out-of-sample metrics, score and context, and the
        spec's `lineage` when its generator gave one.

        It has not passed (only the significance gate, on the lockbox, decides that): a spec
        that passed the score gate says it awaits the lockbox.
        """
        metrics = evaluation.walk_forward.out_of_sample.metrics.model_dump()
        card = evaluation.score
        reasons = card.reasons if not card.passed else ("passed the score gate; lockbox not run",)
        return cls(
            run_id=run_id,
            evaluated_at=evaluated_at,
            spec_id=evaluation.spec.id,
            name=evaluation.spec.name,
            symbol=evaluation.spec.symbol,
            timeframe=evaluation.spec.timeframe,
            regime=evaluation.regime,
            window_start=evaluation.window_start,
            window_end=evaluation.window_end,
            score=evaluation.score.score,
            passed=False,
            reasons=reasons,
            metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
            spec_json=json.dumps(evaluation.spec.model_dump(mode="json"), sort_keys=True),
            context_key=context_key,
            lineage=dict(lineage or {}),
        )

    def gated(self, card: GateCard, run_id: str, evaluated_at: datetime) -> StrategyRecord:
        """This record after the significance gate: its lockbox numbers, verdict and reasons."""
        return self.model_copy(
            update={
                "run_id": run_id,
                "evaluated_at": evaluated_at,
                "passed": card.passed,
                "reasons": card.reasons,
                "gate": card.numbers(),
            }
        )

    def leaderboard_row(self) -> LeaderboardRow:
        """This record as an unranked leaderboard row (`tradeloop.domain.research.rank`)."""
        from tradeloop.domain.research import LeaderboardRow

        metric = self.metrics.get
        return LeaderboardRow(
            rank=0,
            name=self.name,
            spec_id=self.spec_id,
            symbol=self.symbol,
            timeframe=self.timeframe,
            score=self.score,
            passed=self.passed,
            trades=int(metric("trades", 0)),
            win_rate_pct=metric("win_rate_pct", math.nan),
            profit_factor=metric("profit_factor", math.nan),
            net_pnl=metric("net_pnl", math.nan),
            return_pct=metric("return_pct", math.nan),
            max_drawdown_pct=metric("max_drawdown_pct", math.nan),
            sharpe=metric("sharpe", math.nan),
            reason="; ".join(self.reasons),
            lockbox_sharpe=self.gate.get("lockbox_sharpe", math.nan),
            lockbox_trades=int(self.gate.get("lockbox_trades", 0)),
            psr=self.gate.get("psr", math.nan),
            dsr=self.gate.get("dsr", math.nan),
            trials=int(self.gate.get("trials", 0)),
        )


class StrategyMemory(Protocol):
    def remember(
        self, run_id: str, records: Sequence[StrategyRecord], part: str | None = None
    ) -> None: ...

    def evaluated(self, context_key: str, spec_ids: Sequence[str]) -> list[StrategyRecord]: ...

    def trial_stats(self, symbol: str, timeframe: str) -> TrialStats: ...

    def best(
        self,
        limit: int = 10,
        symbol: str | None = None,
        timeframe: str | None = None,
        passed_only: bool = False,
    ) -> list[StrategyRecord]:
        """The best research evaluations (source "backtest"), the latest of each spec, by
        score; paper and live records are in `history`."""
        ...

    def history(self, spec_id: str) -> list[StrategyRecord]: ...

    def remember_reused(self, run_id: str, records: Sequence[StrategyRecord], at: datetime) -> None:
        """Note that run `run_id` ranked `records`, earlier runs' records, at `at` (UTC);
        noting them again replaces the note."""
        ...

    def run_records(self, run_id: str) -> list[StrategyRecord]:
        """The research records of run `run_id` (its leaderboard), those it reused included,
        best score first; empty when memory holds no research record of that run."""
        ...

    def runs(self) -> list[RunSummary]:
        """Every run that remembered research records, the latest first."""
        ...


def _frame(records: Sequence[StrategyRecord]) -> pl.DataFrame:
    return pl.DataFrame([record.to_row() for record in records], schema=_SCHEMA)


def _select(
    frame: pl.DataFrame,
    limit: int,
    symbol: str | None,
    timeframe: str | None,
    passed_only: bool,
) -> list[StrategyRecord]:
    # The leaderboard ranks research evaluations; paper and live results are a spec's history.
    frame = frame.filter(pl.col("source") == "backtest")
    if symbol is not None:
        frame = frame.filter(pl.col("symbol") == symbol.upper())
    if timeframe is not None:
        frame = frame.filter(pl.col("timeframe") == timeframe)
    if passed_only:
        frame = frame.filter(pl.col("passed"))
    # The latest evaluation of each (spec, symbol) stands for it; older ones are history.
    latest = frame.sort("evaluated_at", descending=True).unique(
        ["spec_id", "symbol"], keep="first", maintain_order=True
    )
    ranked = latest.sort(["score", "spec_id"], descending=[True, False]).head(limit)
    return [StrategyRecord.from_row(row) for row in ranked.iter_rows(named=True)]


class _FrameMemory(abc.ABC):
    """Queries shared by both memories; each only says how to read every record."""

    @abc.abstractmethod
    def _all(self) -> pl.DataFrame: ...

    def best(
        self,
        limit: int = 10,
        symbol: str | None = None,
        timeframe: str | None = None,
        passed_only: bool = False,
    ) -> list[StrategyRecord]:
        return _select(self._all(), limit, symbol, timeframe, passed_only)

    @abc.abstractmethod
    def _reused(self) -> pl.DataFrame: ...

    def run_records(self, run_id: str) -> list[StrategyRecord]:
        reused = self._reused().filter(pl.col("ranked_in") == run_id)
        frame = by_run(self._all(), reused).filter(pl.col("ranked_in") == run_id)
        ranked = frame.sort(["score", "spec_id"], descending=[True, False]).select(list(_SCHEMA))
        return [StrategyRecord.from_row(row) for row in ranked.iter_rows(named=True)]

    def runs(self) -> list[RunSummary]:
        summary = (
            by_run(self._all(), self._reused())
            .group_by("ranked_in")
            .agg(
                pl.col("seen_at").max().alias("last_at"),
                pl.len().alias("specs"),
                pl.col("passed").sum().alias("passed"),
            )
            .sort(["last_at", "ranked_in"], descending=[True, False])
        )
        return [
            RunSummary(row["ranked_in"], row["last_at"], int(row["specs"]), int(row["passed"]))
            for row in summary.iter_rows(named=True)
        ]

    def history(self, spec_id: str) -> list[StrategyRecord]:
        frame = self._all().filter(pl.col("spec_id") == spec_id).sort("evaluated_at")
        return [StrategyRecord.from_row(row) for row in frame.iter_rows(named=True)]

    def trial_stats(self, symbol: str, timeframe: str) -> TrialStats:
        """The strategies tried on `symbol` and `timeframe` in every run memory holds: each
        spec once (its latest research record), with its research Sharpe ratio and trades."""
        from tradeloop.domain.backtest.gate import TrialStats

        frame = (
            self._all()
            .filter((pl.col("symbol") == symbol.upper()) & (pl.col("timeframe") == timeframe))
            .filter(pl.col("source") == "backtest")
            .sort("evaluated_at", descending=True)
            .unique("spec_id", keep="first")
        )
        metrics = [json.loads(text) for text in frame["metrics"]]
        return TrialStats.of(
            [m.get("sharpe", math.nan) for m in metrics],
            [int(m.get("trades", 0)) for m in metrics],
            [int(m.get("sessions", 0)) for m in metrics],
        )

    def evaluated(self, context_key: str, spec_ids: Sequence[str]) -> list[StrategyRecord]:
        """The latest record of each of `spec_ids` evaluated under `context_key`."""
        frame = (
            self._all()
            .filter((pl.col("context_key") == context_key) & pl.col("spec_id").is_in(spec_ids))
            .sort("evaluated_at", descending=True)
            .unique("spec_id", keep="first", maintain_order=True)
        )
        return [StrategyRecord.from_row(row) for row in frame.iter_rows(named=True)]


class InMemoryStrategyMemory(_FrameMemory):
    """The same behaviour in a dict: for tests and dry runs."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str | None], pl.DataFrame] = {}
        self._reuses: dict[str, pl.DataFrame] = {}

    def remember(
        self, run_id: str, records: Sequence[StrategyRecord], part: str | None = None
    ) -> None:
        self._runs[(run_id, part)] = _frame(records)

    def remember_reused(self, run_id: str, records: Sequence[StrategyRecord], at: datetime) -> None:
        self._reuses[run_id] = reused_frame(run_id, records, at)

    def _all(self) -> pl.DataFrame:
        return pl.concat(list(self._runs.values())) if self._runs else pl.DataFrame(schema=_SCHEMA)

    def _reused(self) -> pl.DataFrame:
        frames = list(self._reuses.values())
        return pl.concat(frames) if frames else pl.DataFrame(schema=REUSED_SCHEMA)


class ParquetStrategyMemory(_FrameMemory):
    """Strategy memory as one Parquet file per research run, read with DuckDB."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, run_id: str, part: str | None) -> Path:
        name = run_id if part is None else f"{run_id}.{part}"
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return self._root / f"run={safe}.parquet"

    def remember(
        self, run_id: str, records: Sequence[StrategyRecord], part: str | None = None
    ) -> None:
        if records:
            with exclusive_writer(self._root):
                write_parquet_atomically(_frame(records), self._path(run_id, part))

    def remember_reused(self, run_id: str, records: Sequence[StrategyRecord], at: datetime) -> None:
        if records:
            name = self._path(run_id, None).name
            with exclusive_writer(self._root):
                frame = reused_frame(run_id, records, at)
                write_parquet_atomically(frame, self._root / "reused" / name)

    def _reused(self) -> pl.DataFrame:
        files = sorted(self._root.glob("reused/run=*.parquet"))
        if not files:
            return pl.DataFrame(schema=REUSED_SCHEMA)
        return pl.read_parquet(files).select(list(REUSED_SCHEMA))  # written with that schema

    def _all(self) -> pl.DataFrame:
        files = sorted(str(path) for path in self._root.glob("run=*.parquet"))
        if not files:
            return pl.DataFrame(schema=_SCHEMA)
        with duckdb.connect() as connection:
            frame = connection.sql(
                "SELECT * FROM read_parquet(?, union_by_name = true)", params=[files]
            ).pl()
        timestamps = ("evaluated_at", "window_start", "window_end")
        # Files written before a column existed (context_key, lineage) read as nulls in it.
        missing = [pl.lit(None).alias(name) for name in _SCHEMA if name not in frame.columns]
        return (
            frame.with_columns(missing)
            .with_columns([pl.col(name).dt.convert_time_zone("UTC") for name in timestamps])
            .cast(_SCHEMA)
        )

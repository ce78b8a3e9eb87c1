"""Compact, JSON-safe views of research results for the model's history.

The model sees each result as JSON in a bounded history, so these keep what a trader would read
first (score, gate, out-of-sample trades, P&L, drawdown), round numbers, cap lists, and turn
non-finite numbers into text (JSON has no Infinity: a profit factor with no loss is "inf").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from tradeloop.domain.backtest.metrics import Metrics
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.research import Evaluation
from tradeloop.storage.memory import StrategyRecord

MAX_FOLDS_SHOWN = 10
MAX_REASONS_SHOWN = 3

# The out-of-sample numbers shown for a backtest and for a remembered strategy.
KEY_METRICS = (
    "trades",
    "win_rate_pct",
    "profit_factor",
    "net_pnl",
    "return_pct",
    "max_drawdown_pct",
    "sharpe",
    "expectancy_r",
    "costs",
)


def number(value: float | int, digits: int = 2) -> JsonValue:
    """`value` rounded for reading; "inf" / "-inf" for infinities, None for NaN."""
    if isinstance(value, bool | int):
        return int(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    rounded = round(float(value), digits)
    return int(rounded) if rounded.is_integer() and abs(rounded) >= 1 else rounded


def key_metrics(values: Metrics | dict[str, float]) -> dict[str, JsonValue]:
    source: dict[str, Any] = values.model_dump() if isinstance(values, Metrics) else values
    shown: dict[str, JsonValue] = {}
    for name in KEY_METRICS:
        if name in source:
            digits = 0 if name in ("net_pnl", "costs") else 2
            shown[name] = number(source[name], digits)
    return shown


def evaluation_view(evaluation: Evaluation, scoring: ScoringConfig) -> dict[str, JsonValue]:
    """One walk-forward: score card, out-of-sample metrics, and each fold in one line."""
    walk_forward = evaluation.walk_forward
    out_of_sample = walk_forward.out_of_sample.metrics
    folds: list[JsonValue] = [
        {
            "fold": fold.fold.number,
            "test_days": f"{fold.fold.out_of_sample.first_day}..{fold.fold.out_of_sample.last_day}",
            "trades": fold.out_of_sample.trades,
            "net_pnl": number(fold.out_of_sample.net_pnl, 0),
            "in_sample_net_pnl": number(fold.in_sample.net_pnl, 0),
        }
        for fold in walk_forward.folds[:MAX_FOLDS_SHOWN]
    ]
    score = evaluation.score
    return {
        "spec_id": evaluation.spec.id,
        "name": evaluation.spec.name,
        "symbol": evaluation.spec.symbol,
        "timeframe": evaluation.spec.timeframe,
        "window": f"{_ist_day(evaluation.window_start)}..{_ist_day(evaluation.window_end)}",
        "regime": evaluation.regime,
        "score": number(score.score, 3),
        "passed": score.passed,
        "min_score": scoring.min_score,
        "score_components": {name: number(v, 3) for name, v in score.components.items()},
        "reasons": list(score.reasons[:MAX_REASONS_SHOWN]),
        "out_of_sample": key_metrics(out_of_sample),
        "folds": folds,
    }


def record_view(record: StrategyRecord) -> dict[str, JsonValue]:
    """One remembered strategy, as `best_strategies` lists it."""
    return {
        "name": record.name,
        "spec_id": record.spec_id,
        "symbol": record.symbol,
        "timeframe": record.timeframe,
        "score": number(record.score, 3),
        "passed": record.passed,
        "regime": record.regime,
        "evaluated": f"{record.evaluated_at:%Y-%m-%d}",
        **key_metrics(_subset(record.metrics, ("trades", "win_rate_pct", "net_pnl"))),
        "reason": record.reasons[0] if record.reasons else "",
    }


def history_view(records: Sequence[StrategyRecord]) -> list[JsonValue]:
    """The latest evaluations of one strategy, newest first."""
    newest = sorted(records, key=lambda record: record.evaluated_at, reverse=True)
    return [
        {
            "evaluated": f"{record.evaluated_at:%Y-%m-%d %H:%M}",
            "run_id": record.run_id,
            "symbol": record.symbol,
            "window": f"{_ist_day(record.window_start)}..{_ist_day(record.window_end)}",
            "regime": record.regime,
            "score": number(record.score, 3),
            "passed": record.passed,
            **key_metrics(_subset(record.metrics, ("trades", "net_pnl", "max_drawdown_pct"))),
        }
        for record in newest[:MAX_REASONS_SHOWN]
    ]


def _subset(values: dict[str, float], names: Sequence[str]) -> dict[str, float]:
    return {name: values[name] for name in names if name in values}


def _ist_day(moment: datetime) -> str:
    return f"{moment.astimezone(IST):%Y-%m-%d}"

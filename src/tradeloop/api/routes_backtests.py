"""Saved backtests over HTTP: the list (`tradeloop report ls`), one backtest's metrics and trade
list, and its self-contained HTML report (`tradeloop report ID`)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.api.deps import SettingsDep
from tradeloop.api.errors import documented
from tradeloop.app.stores import backtest_archive, candle_store
from tradeloop.domain.market.calendar import to_ist
from tradeloop.reports.backtest import render_html
from tradeloop.reports.data import window_candles
from tradeloop.storage.backtests import summary_of

router = APIRouter(tags=["backtests"])

BacktestId = Annotated[str, Path(description="A backtest id from GET /backtests.")]


class BacktestSummaryOut(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="<spec id>-<UTC stamp>.")
    spec_id: str
    spec_name: str
    symbol: str | None = None
    timeframe: str | None = None
    saved_at: datetime = Field(description="IST.")
    trades: int | None = None
    net_pnl: float | None = Field(None, description="Rupees, after costs.")
    sharpe: float | None = Field(None, description="Null when not finite (no losing day).")
    score: float | None = None
    passed: bool | None = None
    error: str | None = Field(None, description="Why its files cannot be read, if so.")


class BacktestOut(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    spec: dict[str, Any] = Field(description="The spec as backtested.")
    window: dict[str, Any] = Field(description="First and last bar (UTC) and the bar count.")
    metrics: dict[str, float | None] = Field(description="Not finite values are null.")
    score: dict[str, Any]
    trades: list[dict[str, Any]] = Field(description="Every trade; times in IST.")


@router.get("/backtests", response_model=list[BacktestSummaryOut], summary="The saved backtests")
def backtests(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first.")] = 20,
) -> list[BacktestSummaryOut]:
    """The saved backtests, newest first (a folder that cannot be read says why)."""
    rows = []
    for entry in backtest_archive(settings).list()[:limit]:
        row = summary_of(entry)
        row = row | {"saved_at": to_ist(row["saved_at"])}
        row.pop("folder")
        rows.append(BacktestSummaryOut(**row))
    return rows


@router.get(
    "/backtests/{backtest_id}",
    response_model=BacktestOut,
    summary="One saved backtest with its trades",
    responses=documented(e404="No saved backtest with this id."),
)
def backtest(settings: SettingsDep, backtest_id: BacktestId) -> BacktestOut:
    """One saved backtest: its spec, window, metrics, score and trade list."""
    record = backtest_archive(settings).get(backtest_id)
    document = record.metrics
    trades = [
        {name: _json_value(value) for name, value in row.items()}
        for row in record.trades.iter_rows(named=True)
    ]
    return BacktestOut(
        id=record.id,
        spec=document["spec"],
        window=document["window"],
        metrics={
            name: _finite(value)
            for name, value in document["result"].get("metrics", {}).items()
            if isinstance(value, int | float)
        },
        score=document["score"],
        trades=trades,
    )


@router.get(
    "/backtests/{backtest_id}/report",
    response_class=HTMLResponse,
    summary="A saved backtest's HTML report",
    # Written out: a `model` would be documented as text/html, the page's type; errors are JSON.
    responses={
        404: {
            "description": "No saved backtest with this id.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    },
)
def backtest_report(settings: SettingsDep, backtest_id: BacktestId) -> HTMLResponse:
    """The backtest's report as one self-contained HTML page (charts inline, nothing fetched)."""
    record = backtest_archive(settings).get(backtest_id)
    candles = window_candles(candle_store(settings), record)
    return HTMLResponse(render_html(record, candles, settings.strategy))


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_ist(value).isoformat()
    if isinstance(value, float):
        return _finite(value)
    return value

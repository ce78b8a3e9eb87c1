"""The saved backtests `tradeloop backtest` writes, read back: listed newest first, got by id.

Each backtest is a folder `<root>/<spec id>/<UTC stamp>/` holding `metrics.json` (spec, window,
result, score, walk-forward folds), `trades.parquet` and `equity.parquet` (and `trades.csv`,
for people). Its **backtest id** is `<spec id>-<stamp>`, e.g.
`6f5fac6bae2192c1-20261202T142957120441Z`: the spec id is hexadecimal and the stamp has no
dash, so the id splits back at its last dash.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from tradeloop.errors import DataValidationError, NotFoundError

METRICS_FILE = "metrics.json"
TRADES_FILE = "trades.parquet"
EQUITY_FILE = "equity.parquet"
_STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
_IDS_NAMED = 5  # how many of the newest ids an unknown-id message lists


@dataclass(frozen=True)
class BacktestEntry:
    """A saved backtest's folder and identity, before any of its files is read."""

    spec_id: str
    stamp: str
    folder: Path

    @property
    def id(self) -> str:
        return f"{self.spec_id}-{self.stamp}"

    @property
    def saved_at(self) -> datetime:
        """When the backtest was saved (UTC), from its folder's stamp."""
        return datetime.strptime(self.stamp, _STAMP_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class BacktestRecord:
    """A saved backtest: its metrics document, trades and equity, each read on first use.

    A missing or broken file raises `DataValidationError` naming the file."""

    entry: BacktestEntry

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def folder(self) -> Path:
        return self.entry.folder

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """The `metrics.json` document: `spec`, `window`, `result`, `score`, `walk_forward`."""
        path = self._file(METRICS_FILE)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise self._broken(METRICS_FILE, f"is not readable JSON ({exc})") from None
        missing = [key for key in ("spec", "window", "result", "score") if key not in document]
        if not isinstance(document, dict) or missing:
            raise self._broken(METRICS_FILE, f"lacks {', '.join(missing) or 'an object'}")
        return document

    @cached_property
    def trades(self) -> pl.DataFrame:
        return self._frame(TRADES_FILE, ("entry_time", "exit_time", "direction", "net_pnl"))

    @cached_property
    def equity(self) -> pl.DataFrame:
        return self._frame(EQUITY_FILE, ("ts", "equity"))

    def _frame(self, name: str, columns: tuple[str, ...]) -> pl.DataFrame:
        path = self._file(name)
        try:
            frame = pl.read_parquet(path)
        except Exception as exc:  # polars raises many types for a truncated or foreign file
            raise self._broken(name, f"is not a readable Parquet file ({exc})") from None
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise self._broken(name, f"lacks the columns {', '.join(missing)}")
        return frame

    def _file(self, name: str) -> Path:
        path = self.folder / name
        if not path.is_file():
            raise self._broken(name, "is missing")
        return path

    def _broken(self, name: str, problem: str) -> DataValidationError:
        return DataValidationError(
            f"backtest {self.id}: {self.folder / name} {problem}; run the backtest again "
            f"(`tradeloop backtest SPEC.json`) or delete the folder {self.folder}"
        )


def summary_of(entry: BacktestEntry) -> dict[str, Any]:
    """One saved backtest as a listing row: id, spec, when, trades, net P&L, Sharpe, score.
    A broken folder gives its row with `error` (one broken folder must not hide the others);
    a Sharpe that is not finite (no losing day) is None, as JSON has no infinity."""
    row: dict[str, Any] = {
        "id": entry.id,
        "spec_id": entry.spec_id,
        "saved_at": entry.saved_at,
        "folder": str(entry.folder),
    }
    try:
        metrics = BacktestRecord(entry).metrics
    except DataValidationError as exc:
        return row | {"spec_name": "(unreadable)", "trades": None, "net_pnl": None,
                      "sharpe": None, "error": str(exc)}  # fmt: skip
    values = metrics["result"]["metrics"]
    sharpe = values.get("sharpe")
    return row | {
        "spec_name": metrics["spec"].get("name", "?"),
        "symbol": metrics["spec"].get("symbol"),
        "timeframe": metrics["spec"].get("timeframe"),
        "trades": values.get("trades"),
        "net_pnl": values.get("net_pnl"),
        "sharpe": float(sharpe) if sharpe is not None and math.isfinite(float(sharpe)) else None,
        "score": metrics["score"].get("score"),
        "passed": metrics["score"].get("passed"),
    }


class BacktestArchive:
    """The backtests saved under `root` (`settings.backtests_dir`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self) -> list[BacktestEntry]:
        """Every saved backtest, newest first (folders that are not a backtest's are skipped)."""
        entries: list[BacktestEntry] = []
        if not self.root.is_dir():
            return entries
        for spec_folder in self.root.iterdir():
            if not spec_folder.is_dir() or "-" in spec_folder.name:
                continue
            for folder in spec_folder.iterdir():
                if folder.is_dir() and _is_stamp(folder.name):
                    entries.append(BacktestEntry(spec_folder.name, folder.name, folder))
        return sorted(entries, key=lambda entry: (entry.stamp, entry.spec_id), reverse=True)

    def get(self, backtest_id: str) -> BacktestRecord:
        """The backtest `backtest_id` names; `NotFoundError` listing the newest ids if none."""
        spec_id, _, stamp = backtest_id.strip().rpartition("-")
        folder = self.root / spec_id / stamp
        if spec_id.isalnum() and _is_stamp(stamp) and folder.is_dir():
            return BacktestRecord(BacktestEntry(spec_id, stamp, folder))
        newest = [entry.id for entry in self.list()[:_IDS_NAMED]]
        known = f"the newest: {', '.join(newest)}" if newest else "none is saved yet"
        raise NotFoundError(
            f"no saved backtest {backtest_id!r} (an id is <spec id>-<UTC stamp>, as "
            f"`tradeloop report ls` lists them); {known}"
        )


def _is_stamp(name: str) -> bool:
    try:
        datetime.strptime(name, _STAMP_FORMAT)  # noqa: DTZ007 - the stamp is UTC by construction
    except ValueError:
        return False
    return True

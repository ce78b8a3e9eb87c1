"""VolatilityStore: daily implied volatility, validated, upserted by day, replaced atomically."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tradeloop.domain.market.synthetic import generate_market
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.storage.volatility import VOLATILITY_SCHEMA, VolatilityStore


def iv_frame(symbol: str, days: list[date], level: float = 0.14) -> pl.DataFrame:
    return pl.DataFrame(
        {"symbol": symbol, "day": days, "iv": [level + i / 1000 for i in range(len(days))]},
        schema=VOLATILITY_SCHEMA,
    )


JAN = [date(2025, 1, day) for day in (1, 2, 3, 6, 7)]


def test_synthetic_implied_volatility_round_trips(tmp_path: Path) -> None:
    market = generate_market("NIFTY", days=20, seed=3)
    store = VolatilityStore(tmp_path)
    report = store.write(market.implied_volatility)
    assert (report.rows_inserted, report.partitions) == (20, ("symbol=NIFTY",))
    assert store.load("NIFTY").equals(market.implied_volatility)
    assert (tmp_path / "symbol=NIFTY" / "data.parquet").exists()


def test_rewriting_days_replaces_them(tmp_path: Path) -> None:
    store = VolatilityStore(tmp_path)
    store.write(iv_frame("NIFTY", JAN[:3]))
    report = store.write(iv_frame("NIFTY", JAN[2:], level=0.2))
    assert (report.rows_inserted, report.rows_replaced) == (2, 1)
    loaded = store.load("NIFTY")
    assert loaded["day"].to_list() == JAN
    assert loaded["iv"].to_list() == pytest.approx([0.14, 0.141, 0.2, 0.201, 0.202])


def test_several_symbols_in_one_write_and_a_day_range(tmp_path: Path) -> None:
    store = VolatilityStore(tmp_path)
    store.write(pl.concat([iv_frame("nifty", JAN), iv_frame("BANKNIFTY", JAN, level=0.16)]))
    assert store.symbols() == ["BANKNIFTY", "NIFTY"]
    ranged = store.load("NIFTY", start=date(2025, 1, 2), end=date(2025, 1, 7))
    assert ranged["day"].to_list() == JAN[1:4]


def test_percentages_duplicates_and_missing_values_are_refused_together(tmp_path: Path) -> None:
    frame = iv_frame("NIFTY", JAN).with_columns(
        pl.Series("iv", [14.0, 0.15, None, 0.1, float("nan")]),
        pl.Series("day", [*JAN[:4], JAN[0]]),
    )
    with pytest.raises(DataValidationError) as caught:
        VolatilityStore(tmp_path).write(frame)
    message = str(caught.value)
    assert message.startswith("implied volatility refused (3 rules failed)")
    assert "iv above 3 (300%): 1 row" in message and "divide percentages by 100" in message
    assert "row 0: symbol=NIFTY day=2025-01-01 iv=14.0" in message
    assert "iv missing, not finite or not above zero: 2 rows" in message
    assert "the same symbol and day twice: 2 rows" in message
    assert not (tmp_path / "symbol=NIFTY").exists()


def test_wrong_columns_are_named(tmp_path: Path) -> None:
    frame = iv_frame("NIFTY", JAN).rename({"iv": "vix"})
    with pytest.raises(DataValidationError, match="columns symbol, day, vix"):
        VolatilityStore(tmp_path).write(frame)


def test_unknown_symbol_suggests_a_stored_one(tmp_path: Path) -> None:
    store = VolatilityStore(tmp_path)
    store.write(iv_frame("BANKNIFTY", JAN))
    with pytest.raises(NotFoundError, match="Did you mean BANKNIFTY"):
        store.load("BANKNIFTI")


def test_failed_rename_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = VolatilityStore(tmp_path)
    old = iv_frame("NIFTY", JAN)
    store.write(old)

    def failing_replace(source: object, target: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="I/O error"):
        store.write(iv_frame("NIFTY", JAN, level=0.3))
    monkeypatch.undo()
    assert store.load("NIFTY").equals(old)
    assert list(tmp_path.rglob("*.tmp")) == []

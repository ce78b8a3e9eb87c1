"""Saved backtests over HTTP: a backtest saved by the real commands (`data synth`, `backtest`),
listed, read with its trades, and served as its self-contained report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support.saved_backtest import SavedBacktest, save_backtest


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SavedBacktest:
    saved = save_backtest(tmp_path / "saved")
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(saved.data_dir))
    return saved


@pytest.fixture
def client(saved: SavedBacktest, start_api: Callable[[], httpx.Client]) -> httpx.Client:
    return start_api()


def test_the_list_names_each_backtest_in_ist(client: httpx.Client, saved: SavedBacktest) -> None:
    (row,) = client.get("/backtests").json()

    assert row["id"] == saved.backtest_id and row["spec_name"] == "nifty_orb_vwap_5m"
    assert row["saved_at"].endswith("+05:30") and row["error"] is None
    record = saved.archive.get(saved.backtest_id)
    assert row["trades"] == record.trades.height > 0


def test_one_backtest_with_every_trade(client: httpx.Client, saved: SavedBacktest) -> None:
    body = client.get(f"/backtests/{saved.backtest_id}").json()

    record = saved.archive.get(saved.backtest_id)
    assert body["spec"]["name"] == "nifty_orb_vwap_5m"
    assert len(body["trades"]) == record.trades.height
    assert body["trades"][0]["entry_time"].endswith("+05:30")
    assert body["metrics"]["net_pnl"] == pytest.approx(float(record.trades["net_pnl"].sum()))


def test_the_report_is_one_page_with_its_charts_inline(
    client: httpx.Client, saved: SavedBacktest
) -> None:
    response = client.get(f"/backtests/{saved.backtest_id}/report")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Plotly.newPlot" in response.text and "<script src=" not in response.text


def test_an_unknown_backtest_is_a_404_naming_it(client: httpx.Client) -> None:
    for path in ("/backtests/0123abcd-20250101T000000000000Z", "/backtests/nope/report"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "no saved backtest" in response.json()["detail"]

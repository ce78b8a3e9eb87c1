"""`tradeloop options chain`: a model chain from the stored spot and IV, as a table or JSON."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from tradeloop.cli import main


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["tradeloop", *args])
    try:
        main()
    except SystemExit as exited:
        assert exited.code in (0, None), capsys.readouterr()
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "80")


def test_chain_of_the_last_stored_minute(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(monkeypatch, capsys, "data", "synth", "--symbol", "NIFTY", "--days", "3")
    table = _run(monkeypatch, capsys, "options", "chain", "--strikes", "2")
    assert "NIFTY 2025-01-09 (synthetic prices) as of 2025-01-03 15:30 IST" in " ".join(
        table.split()
    )
    assert all(len(line) <= 80 for line in table.splitlines())

    answer = json.loads(_run(monkeypatch, capsys, "options", "chain", "--strikes", "2", "--json"))
    assert answer["symbol"] == "NIFTY" and answer["source"] == "synthetic"
    rows = answer["rows"]
    assert len(rows) == 10 and {row["option_type"] for row in rows} == {"CE", "PE"}
    by_strike: dict[float, dict[str, float]] = {}
    for row in rows:
        by_strike.setdefault(row["strike"], {})[row["option_type"]] = row["price"]
    discount = math.exp(-0.065 * answer["years_to_expiry"])
    for strike, prices in by_strike.items():
        parity = discount * (answer["forward"] - strike)
        assert prices["CE"] - prices["PE"] == pytest.approx(parity, abs=1e-6)


def test_an_expiry_that_is_not_one_names_the_next(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(monkeypatch, capsys, "data", "synth", "--symbol", "NIFTY", "--days", "3")
    monkeypatch.setattr(sys, "argv", ["tradeloop", "options", "chain", "--expiry", "2025-01-08"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "2025-01-08 is not a NIFTY expiry" in error and "2025-01-09" in error


def test_model_expiries_say_where_the_holiday_table_ends() -> None:
    from datetime import date

    from tradeloop.app.options import model_expiries
    from tradeloop.settings import load_settings

    days, cut_at = model_expiries(load_settings(), "NIFTY", today=date(2026, 12, 2))
    assert days == [date(2026, 12, 8), date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29)]
    assert cut_at == date(2026, 12, 31)
    days, cut_at = model_expiries(load_settings(), "NIFTY", today=date(2026, 3, 2))
    assert cut_at is None and days[0] == date(2026, 3, 2)  # Holi moves the 3rd to the 2nd

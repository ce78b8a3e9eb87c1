"""`tradeloop instruments load` then `find`: the stored table answers, the sample before it."""

from __future__ import annotations

import contextlib
import json
import sys
from importlib import resources
from pathlib import Path

import pytest

from tradeloop.cli import main

SAMPLE = resources.files("tradeloop.domain.market") / "data" / "dhan_scrip_master_sample.csv"


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["tradeloop", *args])
    try:
        main()
    except SystemExit as exited:
        assert exited.code in (0, None), capsys.readouterr()
    return " ".join(capsys.readouterr().out.split())


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "80")


def test_find_before_any_load_uses_the_bundled_sample_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(monkeypatch, capsys, "instruments", "find", "--underlying", "NIFTY", "--kind", "FUT")
    assert "From the bundled sample, as of 2026-12-02" in out
    assert "security ids are illustrative" in out
    assert "NIFTY-Dec2026-FUT" in out and "NIFTY-Feb2027-FUT" in out


def test_load_then_find_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    master = tmp_path / "api-scrip-master-detailed.csv"
    master.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    loaded = _run(monkeypatch, capsys, "instruments", "load", str(master), "--as-of", "2026-12-01")
    assert "Loaded 218 instruments" in loaded and "(as of 2026-12-01)" in loaded
    assert "NIFTY CE 63 2026-12-08 to 2027-01-25 (3)" in loaded
    assert "BANKNIFTY FUT 3 2026-12-29 to 2027-02-23 (3)" in loaded

    found = _run(
        monkeypatch,
        capsys,
        *("instruments", "find", "--underlying", "nifty", "--kind", "ce"),
        *("--expiry", "2026-12-29", "--strike", "24000", "--json"),
    )
    answer = json.loads(found)
    assert answer["source"].startswith("stored table") and answer["as_of"] == "2026-12-01"
    (option,) = answer["instruments"]
    assert option["trading_symbol"] == "NIFTY-Dec2026-24000-CE"
    assert (option["lot_size"], option["tick_size"], option["strike"]) == (65, 0.05, 24000.0)
    assert option["exchange_segment"] == "NSE_FNO"


def test_find_table_fits_80_columns_and_says_what_it_left_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        sys, "argv", ["tradeloop", "instruments", "find", "--underlying", "BANKNIFTY"]
    )
    with contextlib.suppress(SystemExit):
        main()
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert any("BANKNIFTY-Jan2027-50000-CE" in line for line in lines)  # nothing cut short
    assert any("28 more: narrow with --kind" in line for line in lines)  # 88 listed, 60 shown

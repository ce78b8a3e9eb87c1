"""The listings a trader reads at 80 columns: every line fits, the ids a user copies stay whole
on one line, times are IST and money in rupees; each listing's `--json` holds its keys, with
ISO times carrying the +05:30 offset and numbers as numbers.

Covers `data ls`, `data gaps`, `deployments ls`, `instruments find`, `options chain`,
`agent ls` and `agent show`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradeloop.agent import AgentRunner, ScriptedPlanner
from tradeloop.app import stores
from tradeloop.app.agent import tool_registry
from tradeloop.cli import app
from tradeloop.settings import load_settings

sys.path.insert(0, str(Path(__file__).parents[1] / "deploy"))
from deploy_records import DEPLOYED_AT, record

IST_OFFSET = "+05:30"
RUN_ID = "20250102T034500Z-abcd1234"
SPEC_ID = "a1b2c3d4e5f60718"


@pytest.fixture(autouse=True)
def _prefect_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI's settings() sets Prefect's variables when unset: keep them inside this test.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_LEVEL"):
        monkeypatch.setenv(name, os.environ.get(name, "false"))


def _run(*args: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def _fits(text: str, columns: int = 80) -> None:
    wide = [line for line in text.splitlines() if len(line) > columns]
    assert not wide, f"lines over {columns} columns: {wide}"
    assert "…" not in text


def _lines_with(text: str, value: str) -> list[str]:
    return [line for line in text.splitlines() if value in line]


@pytest.fixture
def candles() -> None:
    _run("data", "synth", "--symbol", "NIFTY", "--days", "3")


def test_data_ls_fits_80_columns_in_ist_and_its_json_has_offsets(candles: None) -> None:
    table = _run("data", "ls")
    _fits(table)
    assert "first (IST)" in table and "2025-01-01 09:15" in table
    listing = json.loads(_run("data", "ls", "--json"))
    (series,) = listing["series"]
    assert set(series) == {"symbol", "interval", "rows", "first", "last", "sessions"}
    assert series["symbol"] == "NIFTY" and series["first"] == "2025-01-01T09:15:00+05:30"
    assert isinstance(series["rows"], int) and series["last"].endswith(IST_OFFSET)
    assert listing["implied_volatility"] == ["NIFTY"]


def test_data_gaps_json_lists_every_gap_with_ist_times(candles: None) -> None:
    # 2025-01-01 to 2025-01-03 are stored; asking up to the 6th leaves a session missing.
    answer = json.loads(
        _run("data", "gaps", "--symbol", "NIFTY", "--to", "2025-01-06", "--limit", "1", "--json")
    )
    assert set(answer) == {"symbol", "interval", "from", "to", "missing_bars", "gaps"}
    assert answer["from"] == "2025-01-01" and answer["to"] == "2025-01-06"
    (gap,) = answer["gaps"]
    assert gap == {
        "start": "2025-01-06T09:15:00+05:30",
        "end": "2025-01-06T15:29:00+05:30",
        "missing_bars": 375,
    }
    assert answer["missing_bars"] == 375
    _fits(_run("data", "gaps", "--symbol", "NIFTY", "--to", "2025-01-06"))


@pytest.fixture
def deployed() -> Iterator[None]:
    store = stores.deployment_store(load_settings())
    try:
        name = "ema-cross-9-21-trend-follow-with-a-long-name"
        store.add(record(SPEC_ID, 1.234, name=name), run_id="run-1", mode="paper", at=DEPLOYED_AT)
        yield
    finally:
        store.close()


def test_deployments_ls_keeps_the_id_whole_at_80_columns_and_json_has_ist(
    deployed: None,
) -> None:
    table = _run("deployments", "ls")
    _fits(table)
    (row,) = json.loads(_run("deployments", "ls", "--json"))
    assert _lines_with(table, row["id"]), table  # the id a user retires by, on one line
    assert "2026-03-02" in table and "19:15" in table  # 13:45 UTC
    assert row["deployed_at"] == "2026-03-02T19:15:00+05:30"
    assert {"id", "name", "spec_id", "symbol", "timeframe", "mode", "evidence"} <= set(row)


def test_instruments_find_keeps_ids_and_symbols_whole_at_80_columns() -> None:
    table = _run("instruments", "find", "--underlying", "BANKNIFTY", "--kind", "CE", "--limit", "5")
    _fits(table)
    answer = json.loads(
        _run("instruments", "find", "--underlying", "BANKNIFTY", "--kind", "CE", "--json")
    )
    assert {"source", "as_of", "matched", "instruments"} <= set(answer)
    first = answer["instruments"][0]
    assert isinstance(first["strike"], float) and isinstance(first["lot_size"], int)
    (line,) = _lines_with(table, first["trading_symbol"])
    assert first["security_id"] in line


def test_options_chain_shows_rupees_at_80_columns_and_json_as_of_is_ist(candles: None) -> None:
    table = _run("options", "chain", "--strikes", "3")
    _fits(table)
    assert "₹" in table and "IST" in table
    answer = json.loads(_run("options", "chain", "--strikes", "1", "--json"))
    assert answer["as_of"] == "2025-01-03T15:30:00+05:30"
    assert {"symbol", "expiry", "spot", "forward", "rows"} <= set(answer)
    assert isinstance(answer["spot"], float) and isinstance(answer["rows"][0]["price"], float)


@pytest.fixture
def agent_run() -> None:
    settings = load_settings()
    script = [
        {"tool": "echo", "args": {"text": f"spec {SPEC_ID} is worth a look"}},
        {"tool": "finish", "args": {"summary": "said hello", "best_spec_id": SPEC_ID}},
    ]
    runner = AgentRunner(
        ScriptedPlanner(script), tool_registry(settings), run_dir=settings.agent_runs_dir
    )
    runner.run("say hello about a spec", run_id=RUN_ID)


def test_agent_ls_and_show_keep_the_run_id_whole_in_ist_at_80_columns(agent_run: None) -> None:
    listing = _run("agent", "ls")
    shown = _run("agent", "show", RUN_ID)
    for text in (listing, shown):
        _fits(text)
        assert _lines_with(text, RUN_ID), text
        assert "UTC" not in text
    assert "started: 2025-01-02 09:15 IST" not in shown  # the run started now, not at its id
    assert "IST" in shown and "started (IST)" in listing
    assert _lines_with(shown, f"best_spec_id={SPEC_ID}")  # a result's id whole on one line


def test_agent_ls_and_show_json_carry_ist_offsets(agent_run: None) -> None:
    (summary,) = json.loads(_run("agent", "ls", "--json"))
    assert summary["run_id"] == RUN_ID and summary["started_at"].endswith(IST_OFFSET)
    assert isinstance(summary["steps"], int)
    run = json.loads(_run("agent", "show", RUN_ID, "--json"))
    assert {"run_id", "outcome", "header", "steps", "footer"} <= set(run)
    assert run["outcome"] == "done" and len(run["steps"]) == 2
    assert run["header"]["started_at"].endswith(IST_OFFSET)
    assert run["footer"]["finished_at"].endswith(IST_OFFSET)


def test_agent_show_at_120_columns_gives_each_part_of_a_step_its_column(
    agent_run: None,
) -> None:
    shown = _run("agent", "show", RUN_ID, columns=120)
    _fits(shown, 120)
    header = next(line for line in shown.splitlines() if line.startswith("step "))
    assert header.split()[:5] == ["step", "tool", "args", "status", "duration"]

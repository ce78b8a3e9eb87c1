"""`tradeloop strategy validate | schema | indicators`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from strategy_helpers import document
from typer.testing import CliRunner

from tradeloop.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_validate_prints_ok_the_id_and_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    result = runner.invoke(app, ["strategy", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "id " in result.output
    assert "Buys NIFTY (the index) on 5m bars when rsi(14) crosses above 30" in result.output
    assert "Stop loss 0.5% from the entry" in result.output


def test_validate_reports_problems_with_remedies_and_exit_code_2(tmp_path: Path) -> None:
    bad = document(exit={"stop_loss": {"kind": "swing_high", "strength": 3}})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = runner.invoke(app, ["strategy", "validate", str(path)])
    assert result.exit_code == 2
    assert "INVALID" in result.output
    assert 'use "kind": "swing_low"' in result.output
    assert "1 of 1 spec file(s) invalid" in result.output


def test_validate_checks_every_file_given(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document()), encoding="utf-8")
    missing = tmp_path / "missing.json"
    result = runner.invoke(app, ["strategy", "validate", str(good), str(missing)])
    assert result.exit_code == 2
    assert "OK" in result.output and "missing.json does not exist" in result.output


def test_validate_accepts_every_example() -> None:
    paths = [str(path) for path in sorted(EXAMPLES.glob("*.json"))]
    result = runner.invoke(app, ["strategy", "validate", *paths])
    assert result.exit_code == 0, result.output
    assert result.output.count("OK") == len(paths)


def test_schema_prints_the_json_schema() -> None:
    result = runner.invoke(app, ["strategy", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "entry" in schema["properties"] and "$defs" in schema


def test_indicators_lists_parameters_ranges_and_outputs() -> None:
    result = runner.invoke(app, ["strategy", "indicators"])
    assert result.exit_code == 0
    assert "rsi" in result.output and "period=14 (2..200)" in result.output
    assert "signal (points)" in result.output


def test_indicators_json_lists_every_registered_indicator_with_its_ranges() -> None:
    from tradeloop.domain.indicators.registry import REGISTRY

    result = runner.invoke(app, ["strategy", "indicators", "--json"])
    assert result.exit_code == 0, result.output
    listed = {entry["name"]: entry for entry in json.loads(result.output)}
    assert set(listed) == set(REGISTRY)
    [period] = listed["rsi"]["params"]
    assert (period["name"], period["default"], period["minimum"]) == ("period", 14, 2)
    assert listed["rsi"]["outputs"] == [{"name": "rsi", "unit": "percent"}]
    assert [output["name"] for output in listed["macd"]["outputs"]] == [
        "macd",
        "signal",
        "histogram",
    ]

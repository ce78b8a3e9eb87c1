from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradeloop.cli import app
from tradeloop.errors import ConfigError
from tradeloop.settings import load_settings


def _write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "tradeloop.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TRADELOOP_CONFIG", str(path))
    return path


def test_defaults_are_paper_mode_with_data_dir_from_env(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.trading_mode == "paper"
    assert settings.risk.risk_per_trade_pct == 1.0
    assert settings.strategy.min_score == 0.5
    assert settings.data_dir.is_absolute()


def test_toml_file_sets_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(
        tmp_path,
        monkeypatch,
        '[risk]\nmax_open_positions = 2\nentry_window_start = "09:30:00"\n'
        "[strategy]\nmin_score = 0.5\n",
    )
    settings = load_settings()
    assert settings.risk.max_open_positions == 2
    assert settings.risk.entry_window_start == time(9, 30)
    assert settings.strategy.min_score == 0.5


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(tmp_path, monkeypatch, "[risk]\nmax_open_positions = 2\n")
    monkeypatch.setenv("TRADELOOP_RISK__MAX_OPEN_POSITIONS", "5")
    assert load_settings().risk.max_open_positions == 5


def test_unknown_key_in_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(tmp_path, monkeypatch, "[risk]\nmax_open_postions = 2\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'risk.max_open_postions'"):
        load_settings()


def test_unknown_top_level_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(tmp_path, monkeypatch, 'trading_mod = "live"\n')
    with pytest.raises(ConfigError, match="trading_mod"):
        load_settings()


def test_invalid_value_names_the_key_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_config(tmp_path, monkeypatch, "[risk]\nrisk_per_trade_pct = -1\n")
    with pytest.raises(ConfigError, match=r"risk.risk_per_trade_pct.*-1"):
        load_settings()


def test_secret_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "tok-very-secret-42"
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", token)
    settings = load_settings()
    assert token not in repr(settings)
    assert token not in str(settings.model_dump())
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert token not in result.output
    assert "dhan_access_token" in result.output


def test_config_show_names_the_source_of_each_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_config(tmp_path, monkeypatch, "[strategy]\nmin_score = 0.7\n")
    monkeypatch.setenv("TRADELOOP_RISK__MAX_OPEN_POSITIONS", "4")
    result = CliRunner().invoke(app, ["config", "show"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "env TRADELOOP_RISK__MAX_OPEN_POSITIONS" in lines["risk.max_open_positions"]
    assert "tradeloop.toml" in lines["strategy.min_score"]
    assert "default" in lines["risk.capital"]


def test_version_flag() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("tradeloop ")


def test_config_show_names_the_file_section_and_a_dotenv_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "mine.toml"
    config.write_text("[risk]\ncapital = 500000\n", encoding="utf-8")
    monkeypatch.delenv("TRADELOOP_CONFIG")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"TRADELOOP_CONFIG={config}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "show"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "mine.toml [risk]" in lines["risk.capital"]
    assert "named by .env TRADELOOP_CONFIG" in result.output


def test_a_section_json_variable_is_the_source_only_of_the_keys_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_config(tmp_path, monkeypatch, "[risk]\ncapital = 500000\n")
    monkeypatch.setenv("TRADELOOP_RISK", '{"max_open_positions": 2}')
    result = CliRunner().invoke(app, ["config", "show"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "env TRADELOOP_RISK" in lines["risk.max_open_positions"]
    assert "tradeloop.toml [risk]" in lines["risk.capital"]
    assert "default" in lines["risk.min_reward_risk"]


def test_a_missing_default_config_file_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADELOOP_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert load_settings().risk.capital == 1_000_000.0


def test_a_named_config_file_that_is_missing_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_CONFIG", str(tmp_path / "typo.toml"))
    with pytest.raises(ConfigError, match=r"TRADELOOP_CONFIG=.*typo\.toml.*does not exist"):
        load_settings()


def test_config_in_dotenv_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.toml").write_text("[risk]\nmax_open_positions = 2\n", encoding="utf-8")
    (tmp_path / ".env").write_text("TRADELOOP_CONFIG=mine.toml\n", encoding="utf-8")
    monkeypatch.delenv("TRADELOOP_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert load_settings().risk.max_open_positions == 2


def test_home_in_dotenv_is_explained_not_an_unknown_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("TRADELOOP_HOME=/srv/tradeloop\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"TRADELOOP_HOME in \.env is not a tradeloop setting"):
        load_settings()

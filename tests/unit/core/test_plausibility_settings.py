"""The `[plausibility]` settings section and the composition root that relaxes it per import."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.app.stores import plausibility_rules
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.errors import ConfigError
from tradeloop.settings import load_settings


def test_the_section_defaults_to_a_20_percent_move_and_no_future() -> None:
    assert load_settings().plausibility == PlausibilityRules(
        max_move_fraction=0.2, allow_future=False
    )


def test_the_environment_sets_the_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_PLAUSIBILITY__MAX_MOVE_FRACTION", "0.35")
    monkeypatch.setenv("TRADELOOP_PLAUSIBILITY__ALLOW_FUTURE", "true")
    assert load_settings().plausibility == PlausibilityRules(
        max_move_fraction=0.35, allow_future=True
    )


def test_the_config_file_sets_the_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tradeloop.toml"
    path.write_text("[plausibility]\nmax_move_fraction = 0.5\n", encoding="utf-8")
    monkeypatch.setenv("TRADELOOP_CONFIG", str(path))
    assert load_settings().plausibility.max_move_fraction == 0.5


@pytest.mark.parametrize("bad", ["-1", "0", "nan", "abc"])
def test_a_bad_move_limit_is_a_config_error_naming_the_variable(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_PLAUSIBILITY__MAX_MOVE_FRACTION", bad)
    with pytest.raises(ConfigError, match="TRADELOOP_PLAUSIBILITY__MAX_MOVE_FRACTION"):
        load_settings()


def test_the_options_of_one_import_override_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_PLAUSIBILITY__MAX_MOVE_FRACTION", "0.3")
    settings = load_settings()
    assert plausibility_rules(settings, None, False) == PlausibilityRules(max_move_fraction=0.3)
    assert plausibility_rules(settings, 0.6, True) == PlausibilityRules(
        max_move_fraction=0.6, allow_future=True
    )


def test_an_option_value_the_rules_refuse_is_not_passed_through() -> None:
    with pytest.raises(ValueError, match="max_move_fraction"):
        plausibility_rules(load_settings(), -1.0, False)

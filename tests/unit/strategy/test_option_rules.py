"""The option part of the DSL: strike and expiry rules, and where the exits are measured."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.domain.strategy.rules import PremiumStrike
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.domain.strategy.summary import describe_spec
from tradeloop.errors import SpecError

EXAMPLE = Path(__file__).parents[3] / "examples" / "strategies" / "nifty_macd_puts_5m.json"


def document(**instrument: Any) -> dict[str, Any]:
    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    spec["instrument"].update(instrument)
    return spec


def test_the_example_states_the_defaults_it_relies_on() -> None:
    spec = StrategySpec.from_document(document())
    assert spec.instrument.kind == "option"
    assert (spec.instrument.min_days_to_expiry, spec.instrument.exits_on) == (0, "underlying")
    assert "stop and target on the index" in describe_spec(spec)


def test_a_premium_strike_and_a_monthly_expiry_a_week_out() -> None:
    spec = StrategySpec.from_document(
        document(strike={"rule": "premium", "premium": 120}, expiry="monthly", min_days_to_expiry=7)
    )
    assert isinstance(spec.instrument.strike, PremiumStrike)  # type: ignore[union-attr]
    text = describe_spec(spec)
    assert "the strike priced nearest ₹120" in text and "(at least 7 days away)" in text


def test_exits_on_the_premium_take_a_percent_stop() -> None:
    spec = document(exits_on="premium")
    with pytest.raises(SpecError, match=r'exit.stop_loss.*"percent": 30'):
        StrategySpec.from_document(spec)
    fixed = copy.deepcopy(spec)
    fixed["exit"]["stop_loss"] = {"kind": "percent", "percent": 30}
    parsed = StrategySpec.from_document(fixed)
    assert "stop and target on the premium" in describe_spec(parsed)


def test_an_atr_trail_has_no_meaning_on_the_premium() -> None:
    spec = document(exits_on="premium")
    spec["exit"]["stop_loss"] = {"kind": "percent", "percent": 30}
    spec["exit"]["trailing_stop"] = {"kind": "atr", "multiple": 2}
    with pytest.raises(SpecError, match=r"exit\.trailing_stop"):
        StrategySpec.from_document(spec)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("strike", {"rule": "premium", "premium": 0}),
        ("min_days_to_expiry", -1),
        ("expiry", "quarterly"),
        ("exits_on", "both"),
    ],
)
def test_bad_option_fields_are_named(field: str, value: Any) -> None:
    with pytest.raises(SpecError, match=f"instrument.*{field}"):
        StrategySpec.from_document(document(**{field: value}))

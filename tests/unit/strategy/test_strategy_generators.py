"""Generators: templates, grids and random search give valid, deterministic specs."""

from __future__ import annotations

import pytest

from tradeloop.domain.market.candles import INTERVALS
from tradeloop.domain.strategy.conditions import AllOf, AnyOf, Condition
from tradeloop.domain.strategy.generators import grid_specs, random_specs, template_specs
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import NotFoundError, SpecError


def _conditions(spec: StrategySpec) -> list[Condition]:
    found: list[Condition] = []
    for item in spec.entry.items:
        if isinstance(item, Condition):
            found.append(item)
        elif isinstance(item, AllOf):
            found.extend(item.all)
        elif isinstance(item, AnyOf):
            found.extend(item.any)
    return found


@pytest.mark.parametrize("timeframe", INTERVALS)
@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
def test_templates_are_valid_on_every_timeframe(symbol: str, timeframe: str) -> None:
    specs = template_specs(symbol, timeframe)
    assert len(specs) >= 5
    assert len({spec.id for spec in specs}) == len(specs)
    assert {spec.direction for spec in specs} == {"long", "short"}
    for spec in specs:
        assert spec.symbol == symbol and spec.timeframe == timeframe
        assert spec.name.startswith(symbol.lower()) and spec.name.endswith(timeframe)


def test_templates_are_deterministic() -> None:
    first = [spec.id for spec in template_specs("NIFTY", "5m")]
    assert first == [spec.id for spec in template_specs("nifty", "5m")]


def test_templates_refuse_unknown_markets() -> None:
    with pytest.raises(NotFoundError, match="Did you mean NIFTY"):
        template_specs("NIFT", "5m")
    with pytest.raises(SpecError, match="timeframe '2m' is not one of 1m, 5m"):
        template_specs("NIFTY", "2m")


def test_random_specs_are_deterministic_per_seed() -> None:
    first = [spec.id for spec in random_specs(11, 30, "NIFTY", "5m")]
    assert first == [spec.id for spec in random_specs(11, 30, "NIFTY", "5m")]
    assert first != [spec.id for spec in random_specs(12, 30, "NIFTY", "5m")]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("timeframe", INTERVALS)
def test_random_specs_are_valid_and_varied(timeframe: str) -> None:
    specs = random_specs(3, 60, "BANKNIFTY", timeframe)
    assert len(specs) == 60
    assert len({spec.name for spec in specs}) == 60
    assert {spec.direction for spec in specs} == {"long", "short"}
    assert {spec.exit.stop_loss.kind for spec in specs} >= {"percent", "atr"}
    assert {spec.entry.mode for spec in specs} == {"all", "any"}
    indicators = {
        operand.indicator
        for spec in specs
        for condition in _conditions(spec)
        for operand in condition.operands
        if hasattr(operand, "indicator")
    }
    assert len(indicators) >= 8


def test_every_random_spec_has_a_crossing_trigger() -> None:
    for spec in random_specs(5, 80, "NIFTY", "15m"):
        assert any(c.op.startswith("crosses") for c in _conditions(spec)), spec.to_json()


def test_random_specs_sizes() -> None:
    assert random_specs(1, 0, "NIFTY", "5m") == []
    with pytest.raises(SpecError, match="n=-1"):
        random_specs(1, -1, "NIFTY", "5m")


def test_grid_applies_every_combination() -> None:
    template = template_specs("NIFTY", "5m")[0]
    specs = grid_specs(
        template,
        {"entry.all[0].right": [25, 30, 35], "exit.stop_loss.multiple": [1, 2]},
    )
    assert len(specs) == 6
    seen = {
        (spec.entry.items[0].right, spec.exit.stop_loss.multiple)  # type: ignore[union-attr]
        for spec in specs
    }
    assert seen == {(level, multiple) for level in (25, 30, 35) for multiple in (1, 2)}
    assert len({spec.name for spec in specs}) == 6
    assert all(spec.name.startswith(template.name) for spec in specs)


def test_grid_sets_indicator_parameters() -> None:
    template = template_specs("NIFTY", "5m")[0]
    specs = grid_specs(template, {"entry.all[0].left.period": [7, 14, 21]})
    periods = sorted(spec.entry.items[0].left.params["period"] for spec in specs)  # type: ignore[union-attr]
    assert periods == [7, 14, 21]


def test_grid_skips_invalid_combinations_and_duplicates() -> None:
    template = template_specs("NIFTY", "5m")[0]  # take profit at 1.5 R
    specs = grid_specs(
        template,
        {"exit.break_even_after_r": [None, 1, 2], "exit.take_profit.r": [1.5, 1.5]},
    )
    assert sorted(str(spec.exit.break_even_after_r) for spec in specs) == ["1.0", "None"]


@pytest.mark.parametrize(
    ("grid", "fragment"),
    [
        ({"exit.stop": [1]}, "grid path 'exit.stop': exit has no 'stop'"),
        ({"entry.all[5].right": [1]}, "entry.all has no 5"),
        ({"entry..right": [1]}, "is not a key or key[index]"),
        ({"exit.stop_loss.multiple": []}, "has no values"),
    ],
)
def test_grid_refuses_bad_paths(grid: dict[str, list[object]], fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        grid_specs(template_specs("NIFTY", "5m")[0], grid)

"""Candidate specs for a research session: valid, new, deterministic by seed."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.strategy.candidates import neighbours, research_candidates, tunable_paths
from tradeloop.domain.strategy.generators import template_specs
from tradeloop.domain.strategy.spec import StrategySpec

RSI = template_specs("NIFTY", "5m")[0]  # rsi(14) crosses above 30, ATR stop, 1.5 R, 24 bars


def test_neighbours_move_one_parameter_each_and_are_valid() -> None:
    near = neighbours(RSI)
    base = RSI.model_dump(mode="json")
    assert near, "the RSI template has exit and entry parameters to move"
    for spec in near:
        document = spec.model_dump(mode="json")
        changed = [path for path in tunable_paths(base) if _get(document, path) != _get(base, path)]
        assert len(changed) == 1, spec.name
        assert "~" in spec.name and len(spec.name) <= 80
    names = {spec.name for spec in near}
    assert "nifty_rsi_reversion_5m~stop_loss.multiple=1.88" in names
    assert "nifty_rsi_reversion_5m~entry.all.0.left.period=18" in names
    assert "nifty_rsi_reversion_5m~max_bars_held=18" in names


def test_neighbours_drop_variants_that_do_not_validate() -> None:
    document = RSI.model_dump(mode="json")
    document["entry"]["all"][0]["right"] = 90.0  # x1.25 = 112.5: outside RSI's 0..100
    near = neighbours(StrategySpec.model_validate(document))
    assert not any("right=112" in spec.name for spec in near)
    assert any("right=68" in spec.name for spec in near)


def test_candidates_mix_the_base_neighbourhood_and_templates() -> None:
    chosen = research_candidates("NIFTY", 6, seed=3, base=RSI)
    assert len(chosen) == 6
    assert sum("~" in spec.name for spec in chosen) == 3
    assert all(spec.symbol == "NIFTY" for spec in chosen)


def test_candidates_skip_excluded_ids_and_fill_up_with_random_specs() -> None:
    templates = {spec.id for tf in ("5m", "15m") for spec in template_specs("NIFTY", tf)}
    chosen = research_candidates("NIFTY", 14, seed=1, exclude=templates)
    assert len(chosen) == 14
    assert not templates & {spec.id for spec in chosen}


def test_a_base_on_another_symbol_is_not_used() -> None:
    chosen = research_candidates("BANKNIFTY", 4, seed=1, base=RSI)
    assert all(spec.symbol == "BANKNIFTY" and "~" not in spec.name for spec in chosen)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), count=st.integers(1, 12), with_base=st.booleans())
def test_candidates_are_deterministic_valid_and_unique(
    seed: int, count: int, with_base: bool
) -> None:
    base = RSI if with_base else None
    first = research_candidates("NIFTY", count, seed, base=base)
    again = research_candidates("NIFTY", count, seed, base=base)
    assert [spec.id for spec in first] == [spec.id for spec in again]
    assert len(first) == count == len({spec.id for spec in first})
    for spec in first:
        assert StrategySpec.from_json(spec.canonical_json()).id == spec.id


def _get(document: Any, path: tuple[str | int, ...]) -> Any:
    node = document
    for step in path:
        node = node[step]
    return node

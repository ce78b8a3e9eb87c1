"""Semantic refusals: every rule a spec can break, with the message that says how to fix it."""

from __future__ import annotations

from typing import Any

import pytest
from strategy_helpers import document

from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.domain.strategy.validation import validate_spec
from tradeloop.errors import SpecError

RSI: dict[str, Any] = {"indicator": "rsi", "period": 14}
CLOSE: dict[str, Any] = {"price": "close"}


def refusal(doc: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as caught:
        StrategySpec.from_document(doc)
    return str(caught.value)


def entry(*conditions: dict[str, Any]) -> dict[str, Any]:
    return document(entry={"all": list(conditions)})


def cond(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


# ----------------------------------------------------------------------------- indicators


def test_unknown_indicator_lists_valid_names_with_did_you_mean() -> None:
    message = refusal(entry(cond({"indicator": "rsii"}, "<", 30)))
    assert "entry.all[0].left: unknown indicator 'rsii'; did you mean 'rsi'?" in message
    assert "Valid indicators: adx, aroon, atr" in message


def test_parameter_out_of_range_gives_the_range() -> None:
    message = refusal(entry(cond({"indicator": "rsi", "period": 1}, "<", 30)))
    assert "rsi.period=1 is out of range 2..200" in message


def test_unknown_parameter_lists_the_parameters() -> None:
    message = refusal(entry(cond({"indicator": "rsi", "length": 14}, "<", 30)))
    assert "rsi has no parameter 'length'" in message


def test_unknown_output_lists_the_outputs() -> None:
    message = refusal(entry(cond({"indicator": "macd", "output": "signl"}, "<", 0)))
    assert "macd has no output 'signl'; did you mean 'signal'?" in message
    assert "Valid outputs:" in message
    assert all(output in message for output in ("macd", "signal", "histogram"))


def test_non_numeric_parameter_is_refused() -> None:
    message = refusal(entry(cond({"indicator": "rsi", "period": "14"}, "<", 30)))
    assert "rsi.period='14' is not a number" in message


def test_cross_parameter_constraint_is_reported() -> None:
    macd = {"indicator": "macd", "fast_period": 30, "slow_period": 10}
    assert "fast_period=30 must be below slow_period=10" in refusal(entry(cond(macd, ">", 0)))


# ------------------------------------------------------------------------- never fires


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        (cond(RSI, "<", 0), "`rsi(14) < 0` can never be true: it is always within [0, 100]"),
        (cond(RSI, ">", 100), "`rsi(14) > 100` can never be true"),
        (cond(RSI, ">=", 100.5), "can never be true"),
        (cond(RSI, "crosses_above", 100), "`rsi(14) crosses above 100` can never be true"),
        (cond(RSI, "crosses_below", 0), "crosses below 0` can never be true"),
        (cond(0, ">", RSI), "`0 > rsi(14)` can never be true"),
        (cond({"indicator": "willr"}, ">", 0), "it is always within [-100, 0]"),
        (cond({"indicator": "adx"}, ">", 101), "within [0, 100]"),
        (cond({"indicator": "atr"}, "<", 0), "within [0, inf]"),
        (cond(CLOSE, "<", 0), "`close < 0` can never be true"),
        (
            cond({"indicator": "supertrend", "output": "direction"}, ">", 1),
            "within [-1, 1]",
        ),
    ],
)
def test_bounded_output_compared_outside_its_range_is_refused(
    condition: dict[str, Any], fragment: str
) -> None:
    message = refusal(entry(condition))
    assert "entry.all[0]:" in message
    assert fragment in message
    assert "pick a threshold strictly inside that range" in message


def test_thresholds_inside_the_range_are_accepted() -> None:
    for condition in (
        cond(RSI, "<", 100),
        cond(RSI, ">", 0),
        cond(RSI, "crosses_above", 0),
        cond(30, "crosses_above", RSI),
    ):
        StrategySpec.from_document(entry(condition))


def test_between_with_low_above_high_is_refused() -> None:
    message = refusal(entry(cond(RSI, "between", [70, 30])))
    assert "low 70 must be below high 30; write [low, high] in increasing order" in message


def test_between_outside_the_range_is_refused() -> None:
    message = refusal(entry(cond(RSI, "between", [120, 150])))
    assert "`rsi(14) between 120 and 150` can never be true" in message


def test_constants_compared_with_each_other_are_refused() -> None:
    message = refusal(entry(cond(3, "<", 5)))
    assert "`3 < 5` compares constants only" in message
    assert "compare an indicator or a price field" in message


def test_operand_compared_with_itself_is_refused() -> None:
    message = refusal(entry(cond(RSI, "crosses_above", {"indicator": "rsi"})))
    assert "compares rsi(14) with itself" in message


def test_different_units_are_refused() -> None:
    message = refusal(entry(cond(CLOSE, ">", RSI)))
    assert "compares different units (percent vs price)" in message


def test_same_units_from_different_indicators_are_accepted() -> None:
    StrategySpec.from_document(entry(cond(CLOSE, ">", {"indicator": "vwap"})))
    StrategySpec.from_document(entry(cond({"indicator": "stoch", "output": "k"}, ">", RSI)))


def test_contradictory_thresholds_in_an_all_group_are_refused() -> None:
    message = refusal(entry(cond(RSI, "<", 30), cond(RSI, ">", 70)))
    assert "`rsi(14) < 30` (entry.all[0]) and `rsi(14) > 70` (entry.all[1])" in message
    assert "can never hold together" in message


def test_regime_filter_contradicting_the_entry_is_refused() -> None:
    doc = entry(cond(RSI, "<", 30))
    doc["filters"] = {"regime": [cond(RSI, "between", [40, 60])]}
    assert "(filters.regime[0]) can never hold together" in refusal(doc)


def test_touching_strict_thresholds_contradict_but_inclusive_ones_do_not() -> None:
    assert "never hold together" in refusal(entry(cond(RSI, "<", 30), cond(RSI, ">", 30)))
    StrategySpec.from_document(entry(cond(RSI, "<=", 30), cond(RSI, ">=", 30)))


def test_thresholds_on_different_parameters_do_not_contradict() -> None:
    StrategySpec.from_document(
        entry(cond(RSI, "<", 30), cond({"indicator": "rsi", "period": 7}, ">", 70))
    )


def test_contradictions_in_alternative_branches_are_fine_but_not_within_one() -> None:
    either = document(entry={"any": [cond(RSI, "<", 30), cond(RSI, ">", 70)]})
    StrategySpec.from_document(either)
    dead_branch = document(
        entry={"any": [cond(CLOSE, ">", 1), {"all": [cond(RSI, "<", 30), cond(RSI, ">", 70)]}]}
    )
    assert "entry.any[1].all[1]" in refusal(dead_branch)


def test_nested_conditions_are_checked_with_their_paths() -> None:
    doc = entry(cond(CLOSE, ">", 1), {"any": [cond(RSI, ">", 50), cond(RSI, ">", 150)]})
    assert "entry.all[1].any[1]: `rsi(14) > 150` can never be true" in refusal(doc)


def test_between_requires_a_range_and_a_range_requires_between() -> None:
    assert 'op "between" needs "right": [low, high]' in refusal(entry(cond(RSI, "between", 30)))
    assert "only goes with op" in refusal(entry(cond(RSI, "<", [20, 30])))


# ---------------------------------------------------------------------------------- exits


def test_swing_low_stop_on_a_short_is_refused() -> None:
    doc = document(direction="short", exit={"stop_loss": {"kind": "swing_low", "strength": 3}})
    message = refusal(doc)
    assert "exit.stop_loss.kind: a short strategy puts its stop at the swing high" in message
    assert 'use "kind": "swing_high"' in message


def test_swing_high_stop_on_a_long_is_refused() -> None:
    doc = document(exit={"stop_loss": {"kind": "swing_high"}})
    assert 'use "kind": "swing_low"' in refusal(doc)


@pytest.mark.parametrize(
    ("exit_rules", "fragment"),
    [
        ({"stop_loss": {"kind": "percent", "percent": 0}}, "exit.stop_loss.percent"),
        ({"stop_loss": {"kind": "atr", "multiple": -1}}, "exit.stop_loss.multiple"),
        (
            {
                "stop_loss": {"kind": "percent", "percent": 1},
                "take_profit": {"kind": "percent", "percent": 0},
            },
            "exit.take_profit.percent: Input should be greater than 0",
        ),
        (
            {
                "stop_loss": {"kind": "percent", "percent": 1},
                "take_profit": {"kind": "r_multiple", "r": -2},
            },
            "exit.take_profit.r: Input should be greater than 0",
        ),
        (
            {
                "stop_loss": {"kind": "percent", "percent": 1},
                "trailing_stop": {"kind": "percent", "percent": -0.5},
            },
            "exit.trailing_stop.percent",
        ),
        (
            {"stop_loss": {"kind": "percent", "percent": 1}, "max_bars_held": 0},
            "exit.max_bars_held: Input should be greater than or equal to 1",
        ),
    ],
)
def test_non_positive_exit_distances_are_refused(exit_rules: dict[str, Any], fragment: str) -> None:
    assert fragment in refusal(document(exit=exit_rules))


def test_break_even_at_or_beyond_the_target_is_refused() -> None:
    doc = document(
        exit={
            "stop_loss": {"kind": "percent", "percent": 1},
            "take_profit": {"kind": "r_multiple", "r": 2},
            "break_even_after_r": 2,
        }
    )
    message = refusal(doc)
    assert "exit.break_even_after_r: break-even after 2 R never happens before the 2 R" in message


def test_call_bought_for_a_short_view_is_refused() -> None:
    doc = document(
        direction="short",
        instrument={"kind": "option", "option_type": "CE", "strike": {"rule": "atm"}},
    )
    assert 'a short view buys a PE, not a CE; use "option_type": "PE"' in refusal(doc)


@pytest.mark.parametrize("key", ["side", "action", "write"])
def test_asking_to_write_options_is_refused_saying_options_are_bought(key: str) -> None:
    doc = document(
        direction="short",
        instrument={
            "kind": "option",
            "option_type": "PE",
            "strike": {"rule": "atm"},
            key: "sell",
        },
    )
    message = refusal(doc)
    assert f"instrument.{key}: unknown key {key!r}: options are bought, never written" in message
    assert "a short view buys a PE" in message


def test_option_strike_rules_are_validated() -> None:
    doc = document(instrument={"kind": "option", "option_type": "CE", "strike": {"rule": "itm"}})
    assert 'strike needs "rule": one of "atm", "delta"' in refusal(doc)
    doc = document(
        instrument={
            "kind": "option",
            "option_type": "CE",
            "strike": {"rule": "delta", "delta": 1.5},
        }
    )
    assert "instrument.strike.delta: Input should be less than or equal to 0.95" in refusal(doc)


# --------------------------------------------------------------------------------- timing


def window(start: str, end: str, **changes: Any) -> dict[str, Any]:
    return document(filters={"time_window": {"start": start, "end": end}}, **changes)


def test_empty_window_is_refused() -> None:
    assert "the window 14:00-10:00 is empty: start must be before end" in refusal(
        window("14:00", "10:00")
    )


def test_window_outside_the_session_is_refused() -> None:
    assert "leaves the session 09:15-15:30 IST" in refusal(window("08:00", "10:00"))


def test_window_ending_after_the_square_off_is_refused() -> None:
    message = refusal(window("09:30", "15:20"))
    assert "filters.time_window.end: entries until 15:20 reach the 15:15 square-off" in message


def test_window_holding_no_bar_close_is_refused() -> None:
    message = refusal(window("09:31", "09:44", timeframe="15m"))
    assert "no 15m bar closes inside 09:31-09:44" in message


def test_window_holding_one_bar_close_is_accepted() -> None:
    StrategySpec.from_document(window("09:29", "09:31", timeframe="15m"))


def test_square_off_off_the_bar_grid_is_refused() -> None:
    doc = document(
        timeframe="15m",
        exit={"stop_loss": {"kind": "percent", "percent": 1}, "square_off": "15:20"},
    )
    assert "15:20 is not a 15m bar open after 09:15 and before 15:30" in refusal(doc)


def test_square_off_at_the_close_is_refused() -> None:
    doc = document(exit={"stop_loss": {"kind": "percent", "percent": 1}, "square_off": "15:30"})
    assert "exit.square_off" in refusal(doc)


def test_daily_bars_need_an_overnight_hold_and_no_window() -> None:
    message = refusal(window("09:30", "14:00", timeframe="1d"))
    assert 'daily bars have no intraday bar to square off at: set "square_off": null' in message
    assert "daily bars all close at 15:30, so a time window cannot apply" in message
    StrategySpec.from_document(
        document(
            timeframe="1d",
            exit={"stop_loss": {"kind": "percent", "percent": 1}, "square_off": None},
        )
    )


def test_validate_spec_accepts_a_parsed_spec() -> None:
    validate_spec(StrategySpec.from_document(document()))


def test_validate_spec_lists_problems_of_an_unvalidated_spec() -> None:
    spec = StrategySpec.from_document(document())
    broken = spec.model_copy(update={"direction": "short"})
    broken_stop = broken.model_copy(
        update={"exit": spec.exit.model_copy(update={"stop_loss": _swing_low()})}
    )
    with pytest.raises(SpecError, match="swing high"):
        validate_spec(broken_stop)


def _swing_low() -> Any:
    doc = document(exit={"stop_loss": {"kind": "swing_low", "strength": 2}})
    return StrategySpec.from_document(doc).exit.stop_loss


def test_bounds_table_names_registered_outputs() -> None:
    from tradeloop.domain.indicators.registry import REGISTRY
    from tradeloop.domain.strategy.bounds import OUTPUT_BOUNDS

    for name, output in OUTPUT_BOUNDS:
        assert name in REGISTRY and output in REGISTRY[name].outputs, (name, output)

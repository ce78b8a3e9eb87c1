"""Each research tool through the registry and executor, on a stored synthetic NIFTY market."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial
from typing import Any

import polars as pl
import pytest
from research_tool_helpers import (
    EXAMPLE_SPEC,
    MAX_RESULT_CHARS,
    RUN_ID,
    compact_json,
    error_message,
    payload,
    run_tool,
)

from tradeloop.agent import ToolRegistry
from tradeloop.agent.memory import DEFAULT_MAX_RESULT_CHARS
from tradeloop.app import stores
from tradeloop.app.agent import tool_registry
from tradeloop.app.options import chain_at
from tradeloop.app.research import research_context
from tradeloop.domain.indicators.reference import catalogue
from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import ModelError
from tradeloop.settings import Settings
from tradeloop.storage.candles import InMemoryCandleStore
from tradeloop.storage.memory import InMemoryStrategyMemory
from tradeloop.tools import default_registry
from tradeloop.tools.reference import EXAMPLE_SPEC as TOOL_EXAMPLE
from tradeloop.tools.reference import schema_sections
from tradeloop.tools.session import ResearchSession


def spec_with(**changes: Any) -> dict[str, Any]:
    document = json.loads(json.dumps(EXAMPLE_SPEC))
    document.update(changes)
    return document


# ------------------------------------------------------------------------- list_indicators


def test_list_indicators_names_every_indicator_in_one_short_result(
    registry: ToolRegistry,
) -> None:
    result = run_tool(registry, "list_indicators")
    assert result.status == "ok"
    text = compact_json(result)
    assert len(text) <= DEFAULT_MAX_RESULT_CHARS
    for entry in catalogue():
        assert f'"{entry["name"]}(' in text
    assert "rsi(period=14) -> rsi" in text


def test_list_indicators_with_names_gives_ranges_and_units(registry: ToolRegistry) -> None:
    result = run_tool(registry, "list_indicators", names=["rsi", "supertrend"])
    rsi, supertrend = payload(result)["indicators"]
    assert rsi["params"]["period"].startswith("integer 2..")
    assert rsi["outputs"] == {"rsi": "percent"}
    assert supertrend["outputs"] == {"line": "price", "direction": "direction"}


def test_list_indicators_with_an_unknown_name_suggests_the_close_one(
    registry: ToolRegistry,
) -> None:
    message = error_message(run_tool(registry, "list_indicators", names=["rsx"]))
    assert "unknown indicator 'rsx'" in message and "did you mean 'rsi'" in message


# ------------------------------------------------------------------------- strategy_schema


def test_schema_overview_carries_a_valid_example(registry: ToolRegistry) -> None:
    result = run_tool(registry, "strategy_schema")
    assert "StrategySpec = {" in str(payload(result)["schema"])
    assert StrategySpec.from_document(payload(result)["example"]).name == "nifty_rsi_reversion_5m"
    assert len(compact_json(result)) <= DEFAULT_MAX_RESULT_CHARS


@pytest.mark.parametrize(
    ("section", "declared"),
    [
        ("instrument", ["OptionInstrument", "AtmStrike", "DeltaStrike"]),
        ("entry", ["EntryAll", "EntryAny", "Condition", "AllOf", "AnyOf"]),
        ("operands", ["IndicatorOperand", "PriceOperand"]),
        ("exit", ["ExitRules", "PercentStop", "AtrStop", "SwingStop"]),
        ("targets", ["RMultipleTarget", "PercentTarget", "AtrTrail", "PercentTrail"]),
        ("filters", ["Filters", "TimeWindow"]),
    ],
)
def test_each_schema_section_fits_the_models_history_uncut(
    registry: ToolRegistry, section: str, declared: list[str]
) -> None:
    result = run_tool(registry, "strategy_schema", section=section)
    text = str(payload(result)["schema"])
    for name in declared:
        assert f"{name} = {{" in text
    assert len(compact_json(result)) <= DEFAULT_MAX_RESULT_CHARS


def test_every_spec_type_is_declared_in_exactly_one_section() -> None:
    declared = [name for names in schema_sections().values() for name in names]
    assert sorted(declared) == sorted(StrategySpec.model_json_schema()["$defs"])


def test_a_section_points_to_where_the_types_it_uses_are_declared(
    registry: ToolRegistry,
) -> None:
    text = str(payload(run_tool(registry, "strategy_schema", section="filters"))["schema"])
    assert 'Condition in "entry"; IndicatorOperand, PriceOperand in "operands"' in text


def test_the_whole_schema_as_declarations_is_half_the_json_schema(registry: ToolRegistry) -> None:
    schema = StrategySpec.model_json_schema()
    text = str(payload(run_tool(registry, "strategy_schema", section="all"))["schema"])
    for name in schema["$defs"]:
        assert f"{name} = {{" in text
    assert len(text) < len(json.dumps(schema)) / 1.5


def test_an_unknown_schema_section_is_refused_before_running(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError, match=r"args\.section"):
        registry.resolve({"tool": "strategy_schema", "args": {"section": "exits"}})


# ------------------------------------------------------------------------ validate_strategy


def test_validate_a_valid_spec_returns_its_id_and_summary(registry: ToolRegistry) -> None:
    result = run_tool(registry, "validate_strategy", spec=EXAMPLE_SPEC)
    assert payload(result)["spec_id"] == StrategySpec.from_document(EXAMPLE_SPEC).id
    assert "rsi(14) crosses above 30" in str(payload(result)["summary"])


def test_validate_an_invalid_spec_names_each_field_and_its_fix(registry: ToolRegistry) -> None:
    bad = spec_with(
        exit={"stop_loss": {"kind": "atr", "multiple": -1}},
        entry={"all": [{"left": {"indicator": "rsi"}, "op": ">", "right": 120}]},
    )
    result = run_tool(registry, "validate_strategy", spec=bad)
    message = error_message(result)
    assert result.error is not None and result.error.type == "SpecError"
    assert not result.error.retryable
    assert "exit.stop_loss.multiple" in message and "greater than 0" in message
    assert "Fix these fields" in message and "strategy_schema" in message


def test_validate_an_unknown_key_suggests_the_right_one(registry: ToolRegistry) -> None:
    message = error_message(run_tool(registry, "validate_strategy", spec=spec_with(directon="x")))
    assert "unknown key 'directon'" in message and "did you mean 'direction'" in message


def test_validate_the_tool_example_matches_the_documented_one() -> None:
    assert TOOL_EXAMPLE == EXAMPLE_SPEC


# ------------------------------------------------------------------------ backtest_strategy


def test_backtest_returns_a_small_score_card_with_every_fold(registry: ToolRegistry) -> None:
    result = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=3)
    data = payload(result)
    assert data["spec_id"] == StrategySpec.from_document(EXAMPLE_SPEC).id
    assert 0.0 <= float(data["score"]) <= 1.0
    assert isinstance(data["passed"], bool) and data["min_score"] == 0.5
    assert len(data["folds"]) == 3
    assert {"trades", "win_rate_pct", "net_pnl", "max_drawdown_pct"} <= set(data["out_of_sample"])
    assert data["window"] == "2025-01-01..2025-02-13"  # the lockbox (from 02-14) is held out
    assert len(compact_json(result)) < MAX_RESULT_CHARS


def test_backtest_remembers_its_evaluation_under_the_run_id(
    registry: ToolRegistry, stored: Settings
) -> None:
    first = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=2)
    again = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=2)
    assert first == again
    other = run_tool(registry, "backtest_strategy", spec=spec_with(name="other"), folds=2)
    records = stores.strategy_memory(stored).best(limit=10)
    # The repeat replaced its record; the other spec added one.
    assert sorted(record.spec_id for record in records) == sorted(
        [payload(first)["spec_id"], payload(other)["spec_id"]]
    )
    assert {record.run_id for record in records} == {RUN_ID}


PUT_SPEC = {
    **EXAMPLE_SPEC,
    "name": "puts_on_the_example",
    "direction": "short",
    "instrument": {
        "kind": "option",
        "option_type": "PE",
        "strike": {"rule": "atm", "offset_steps": 0},
    },
    "entry": {
        "all": [{"left": {"indicator": "rsi", "period": 14}, "op": "crosses_above", "right": 70}]
    },
}


def test_backtest_of_an_option_spec_scores_the_option_it_buys(
    registry: ToolRegistry, stored: Settings
) -> None:
    market = generate_market("NIFTY", days=40)  # the conftest's market
    stores.volatility_store(stored).write(market.implied_volatility)
    result = run_tool(registry, "backtest_strategy", spec=PUT_SPEC, folds=2)
    data = payload(result)
    assert result.status == "ok" and data["spec_id"] == StrategySpec.from_document(PUT_SPEC).id
    assert int(data["out_of_sample"]["trades"]) > 0
    [record] = stores.strategy_memory(stored).best(limit=10)
    assert record.spec_id == data["spec_id"]


def test_backtest_of_an_option_spec_without_a_stored_iv_says_how_to_get_one(
    registry: ToolRegistry,
) -> None:
    result = run_tool(registry, "backtest_strategy", spec=PUT_SPEC, folds=2)
    assert result.status == "error" and result.error is not None
    assert result.error.type == "NoImpliedVolatility"
    assert "tradeloop data synth --symbol NIFTY" in result.error.message


def test_backtest_without_a_run_id_remembers_nothing(stored: Settings) -> None:
    registry = tool_registry(stored)  # as a replay builds it
    assert run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=2).status == "ok"
    assert stores.strategy_memory(stored).best() == []


def test_backtest_of_an_invalid_spec_is_an_error_and_remembers_nothing(
    registry: ToolRegistry, stored: Settings
) -> None:
    bad = spec_with(exit={"take_profit": {"kind": "r_multiple", "r": 2}})
    result = run_tool(registry, "backtest_strategy", spec=bad)
    assert result.error is not None and result.error.type == "SpecError"
    assert "exit.stop_loss: required field is missing" in result.error.message
    assert stores.strategy_memory(stored).best() == []


def test_backtest_without_candles_says_how_to_get_them(registry: ToolRegistry) -> None:
    result = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, symbol="BANKNIFTY")
    message = error_message(result)
    assert result.error is not None and result.error.type == "NoCandles"
    assert "no 1m candles of BANKNIFTY" in message
    assert "tradeloop data synth --symbol BANKNIFTY" in message
    assert "NIFTY 2025-01-01..2025-02-25" in message  # what is stored instead


def test_backtest_outside_the_stored_window_names_the_stored_range(
    registry: ToolRegistry,
) -> None:
    result = run_tool(
        registry, "backtest_strategy", spec=EXAMPLE_SPEC, start="2024-01-01", end="2024-03-01"
    )
    assert "from 2024-01-01 to 2024-03-01" in error_message(result)


def test_backtest_with_start_after_end_is_refused(registry: ToolRegistry) -> None:
    result = run_tool(
        registry, "backtest_strategy", spec=EXAMPLE_SPEC, start="2025-02-01", end="2025-01-01"
    )
    assert "start 2025-02-01 is after end 2025-01-01" in error_message(result)


def test_backtest_of_a_window_too_short_for_the_folds_says_so(registry: ToolRegistry) -> None:
    result = run_tool(
        registry, "backtest_strategy", spec=EXAMPLE_SPEC, start="2025-01-01", end="2025-01-03"
    )
    assert "widen the date range or use fewer folds" in error_message(result)


def test_backtest_with_a_malformed_date_is_refused_before_running(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError, match=r"args\.start"):
        registry.resolve(
            {"tool": "backtest_strategy", "args": {"spec": EXAMPLE_SPEC, "start": "1/2/2025"}}
        )


def test_backtest_on_an_unknown_symbol_suggests_the_index(registry: ToolRegistry) -> None:
    result = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, symbol="NIFTI")
    assert "Did you mean NIFTY?" in error_message(result)


def test_backtest_runs_on_in_memory_stores(stored: Settings, nifty_candles: Any) -> None:
    candles = InMemoryCandleStore(NSECalendar.default())
    candles.write(nifty_candles)
    memory = InMemoryStrategyMemory()
    context = replace(research_context(stored), candles=candles)
    session = ResearchSession(
        context, memory, run_id="in-memory", option_chain=partial(chain_at, stored)
    )
    registry = default_registry(session)
    result = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=2)
    assert result.status == "ok"
    assert [record.run_id for record in memory.best()] == ["in-memory"]


# --------------------------------------------------------------- best_strategies, details


def test_best_strategies_of_an_empty_memory_is_an_empty_list(registry: ToolRegistry) -> None:
    result = run_tool(registry, "best_strategies")
    assert result.status == "ok" and result.data == {"strategies": [], "min_score": 0.5}


def test_best_strategies_lists_backtested_specs_best_first(registry: ToolRegistry) -> None:
    ids = set()
    for name, threshold in (("a", 30), ("b", 25), ("c", 35)):
        entry = {
            "all": [
                {
                    "left": {"indicator": "rsi", "period": 14},
                    "op": "crosses_above",
                    "right": threshold,
                }
            ]
        }
        result = run_tool(
            registry, "backtest_strategy", spec=spec_with(name=name, entry=entry), folds=2
        )
        ids.add(payload(result)["spec_id"])
    listed = run_tool(registry, "best_strategies", limit=3, symbol="nifty")
    rows = payload(listed)["strategies"]
    assert {row["spec_id"] for row in rows} == ids
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert {"name", "passed", "regime", "trades", "net_pnl", "reason"} <= set(rows[0])
    assert len(compact_json(listed)) < MAX_RESULT_CHARS
    none = run_tool(registry, "best_strategies", symbol="BANKNIFTY")
    assert payload(none)["strategies"] == []


def test_best_strategies_limits_are_checked_before_running(registry: ToolRegistry) -> None:
    with pytest.raises(ModelError, match=r"args\.limit"):
        registry.resolve({"tool": "best_strategies", "args": {"limit": 500}})
    message = error_message(run_tool(registry, "best_strategies", symbol="SENSEX"))
    assert "known are NIFTY, BANKNIFTY" in message


def test_strategy_details_gives_a_spec_that_validates_to_the_same_id(
    registry: ToolRegistry,
) -> None:
    tested = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=2)
    spec_id = payload(tested)["spec_id"]
    details = run_tool(registry, "strategy_details", spec_id=spec_id)
    assert StrategySpec.from_document(payload(details)["spec"]).id == spec_id
    assert payload(details)["spec"]["entry"]["all"][0]["left"]["period"] == 14
    assert payload(details)["evaluations"][0]["run_id"] == RUN_ID


def test_strategy_details_of_an_unknown_id_suggests_a_close_one(registry: ToolRegistry) -> None:
    tested = run_tool(registry, "backtest_strategy", spec=EXAMPLE_SPEC, folds=2)
    spec_id = str(payload(tested)["spec_id"])
    typo = spec_id[:-1] + ("0" if spec_id[-1] != "0" else "1")
    result = run_tool(registry, "strategy_details", spec_id=typo)
    assert result.error is not None and result.error.type == "NotFoundError"
    assert f"did you mean '{spec_id}'" in result.error.message


# -------------------------------------------------------------------------- the registry


def test_the_default_registry_has_the_research_tools_and_none_that_acts(
    registry: ToolRegistry,
) -> None:
    assert {
        "list_indicators",
        "strategy_schema",
        "validate_strategy",
        "backtest_strategy",
        "best_strategies",
        "strategy_details",
        "finish",
    } <= set(registry.names)
    assert all(tool.idempotent for tool in registry)
    assert not any("order" in name for name in registry.names)
    # Memory reads change as runs are remembered: replay must not compare them.
    assert not registry.get("best_strategies").deterministic
    assert registry.get("backtest_strategy").deterministic


def test_the_agents_tools_never_see_the_lockbox(
    session: ResearchSession, nifty_candles: pl.DataFrame
) -> None:
    """Generation and ranking by the agent read the research window only (issue 13): the
    last `lockbox_fraction` of the stored sessions are held out for the significance gate."""
    from tradeloop.domain.research import split_lockbox

    lockbox = split_lockbox(nifty_candles, session.context.scoring.lockbox_fraction)
    assert lockbox.start is not None and lockbox.sessions > 0
    seen = session.minute_candles("NIFTY", None, None)
    assert seen.height == lockbox.research.height
    assert seen["ts"].max() < lockbox.start
    last_day = nifty_candles["ts"].max().astimezone(IST).date()
    assert session.minute_candles("NIFTY", last_day, last_day).is_empty()

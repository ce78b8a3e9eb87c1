"""StrategySpec parsing: defaults, canonical ids, JSON errors with paths and remedies, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from strategy_helpers import document

from tradeloop.domain.strategy.conditions import IndicatorOperand
from tradeloop.domain.strategy.spec import StrategySpec, load_spec
from tradeloop.errors import NotFoundError, SpecError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"


def test_parsed_spec_fills_indicator_defaults_and_output() -> None:
    spec = StrategySpec.from_document(
        document(
            entry={
                "all": [
                    {"left": {"indicator": "macd"}, "op": ">", "right": 0},
                    {"left": {"indicator": "RSI"}, "op": "<", "right": 30},
                ]
            }
        )
    )
    macd = spec.entry.items[0]
    assert not isinstance(macd, IndicatorOperand)
    operand = spec.model_dump()["entry"]["all"][0]["left"]
    assert operand == {
        "indicator": "macd",
        "output": "macd",
        "fast_period": 12.0,
        "slow_period": 26.0,
        "signal_period": 9.0,
    }
    assert spec.model_dump()["entry"]["all"][1]["left"]["indicator"] == "rsi"


def test_symbol_is_case_insensitive_and_normalised() -> None:
    assert StrategySpec.from_document(document(symbol="banknifty")).symbol == "BANKNIFTY"


def test_defaults_square_off_at_1515_and_trade_the_index() -> None:
    spec = StrategySpec.from_document(document())
    assert spec.exit.square_off is not None and spec.exit.square_off.strftime("%H:%M") == "15:15"
    assert spec.instrument.kind == "index"
    assert json.loads(spec.to_json())["exit"]["square_off"] == "15:15"


def test_id_ignores_key_order_and_number_spelling() -> None:
    first = document(exit={"stop_loss": {"kind": "atr", "multiple": 2, "period": 14}})
    second = json.loads(json.dumps(first)[::1])
    second["exit"] = {"stop_loss": {"period": 14.0, "multiple": 2.0, "kind": "atr"}}
    reordered = dict(reversed(list(second.items())))
    assert StrategySpec.from_document(first).id == StrategySpec.from_document(reordered).id


def test_id_is_the_same_when_defaults_are_written_out() -> None:
    implicit = StrategySpec.from_document(
        document(entry={"all": [{"left": {"indicator": "rsi"}, "op": "<", "right": 30}]})
    )
    explicit = StrategySpec.from_document(
        document(
            entry={
                "all": [
                    {
                        "left": {"indicator": "rsi", "output": "rsi", "period": 14},
                        "op": "<",
                        "right": 30.0,
                    }
                ]
            },
            filters={"time_window": None, "regime": []},
        )
    )
    assert implicit.id == explicit.id


def test_id_changes_when_a_rule_changes() -> None:
    base = StrategySpec.from_document(document())
    changed = StrategySpec.from_document(document(direction="short"))
    assert base.id != changed.id
    assert len(base.id) == 16 and int(base.id, 16) >= 0


def test_canonical_json_keeps_fractions_and_drops_integral_decimals() -> None:
    spec = StrategySpec.from_document(
        document(exit={"stop_loss": {"kind": "percent", "percent": 0.1}})
    )
    text = spec.canonical_json()
    assert '"percent":0.1' in text
    assert '"period":14,' in text or '"period":14}' in text
    assert " " not in text.replace("NIFTY", "")


def test_id_is_stable_across_processes() -> None:
    text = json.dumps(document())
    program = (
        "import sys\n"
        "from tradeloop.domain.strategy.spec import StrategySpec\n"
        "print(StrategySpec.from_json(sys.stdin.read()).id)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert result.stdout.strip() == StrategySpec.from_json(text).id


def test_spec_round_trips_through_its_json() -> None:
    spec = StrategySpec.from_document(
        document(
            filters={"time_window": {"start": "09:30", "end": "14:30"}},
            exit={
                "stop_loss": {"kind": "swing_low", "strength": 3},
                "take_profit": {"kind": "r_multiple", "r": 2},
                "trailing_stop": {"kind": "percent", "percent": 0.5},
                "break_even_after_r": 1,
                "max_bars_held": 20,
            },
        )
    )
    again = StrategySpec.from_json(spec.to_json())
    assert again == spec
    assert again.id == spec.id


def test_spec_is_frozen() -> None:
    spec = StrategySpec.from_document(document())
    with pytest.raises(ValidationError):
        spec.direction = "short"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ('{"name": "x",}', "line 1"),
        ("[1, 2]", "is a JSON object, got list"),
        ("null", "got NoneType"),
    ],
)
def test_from_json_refuses_bad_documents_with_a_remedy(text: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        StrategySpec.from_json(text)


def _problems(doc: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as caught:
        StrategySpec.from_document(doc)
    return str(caught.value)


def test_unknown_key_gets_did_you_mean_and_the_valid_keys() -> None:
    doc = document()
    doc["exit"]["stoploss"] = doc["exit"].pop("stop_loss")
    message = _problems(doc)
    assert "exit.stoploss: unknown key 'stoploss': did you mean 'stop_loss'?" in message
    assert "exit.stop_loss: required field is missing: add it (Initial stop loss" in message
    assert "valid keys here: stop_loss, take_profit" in message


def test_unknown_top_level_key_is_refused_by_name() -> None:
    message = _problems(document(description="buy the dip"))
    assert "description: unknown key 'description'" in message
    assert "valid keys here: spec_version, name, symbol" in message


def test_missing_field_names_its_meaning() -> None:
    doc = document()
    del doc["direction"]
    assert "direction: required field is missing: add it (long buys" in _problems(doc)


def test_wrong_stop_kind_lists_the_kinds() -> None:
    message = _problems(document(exit={"stop_loss": {"kind": "trailing", "percent": 1}}))
    assert 'exit.stop_loss: stop_loss needs "kind": one of "percent", "atr"' in message


def test_out_of_range_field_names_the_path_and_value() -> None:
    message = _problems(document(exit={"stop_loss": {"kind": "percent", "percent": -1}}))
    assert "exit.stop_loss.percent: Input should be greater than 0 (got -1)" in message


def test_literal_error_lists_the_choices() -> None:
    message = _problems(document(direction="up"))
    assert "direction: Input should be 'long' or 'short' (got 'up')" in message


def test_between_needs_two_items() -> None:
    doc = document(entry={"all": [{"left": {"price": "close"}, "op": "between", "right": [1]}]})
    assert "entry.all[0].right[1]: missing item: a range is written [low, high]" in _problems(doc)


def test_operand_shapes_are_explained() -> None:
    doc = document(entry={"all": [{"left": "rsi", "op": "<", "right": 30}]})
    message = _problems(doc)
    assert 'entry.all[0].left: an operand is a number, {"price": "close"}' in message


def test_boolean_is_not_a_number_operand() -> None:
    doc = document(entry={"all": [{"left": {"price": "close"}, "op": "<", "right": True}]})
    assert "entry.all[0].right: an operand is a number" in _problems(doc)


def test_time_must_be_hours_and_minutes() -> None:
    doc = document(filters={"time_window": {"start": "09:30:30", "end": "14:00"}})
    assert "filters.time_window.start: give an IST wall-clock time as HH:MM" in _problems(doc)


def test_several_problems_are_reported_together() -> None:
    doc = document(symbol="NIFTYY", timeframe="2m", direction="sideways")
    message = _problems(doc)
    assert "(3 problems)" in message
    assert "Did you mean NIFTY?" in message


def test_model_validate_raises_validation_error_with_the_same_content() -> None:
    with pytest.raises(ValidationError, match="unknown indicator 'rsx'"):
        StrategySpec.model_validate(
            document(entry={"all": [{"left": {"indicator": "rsx"}, "op": "<", "right": 30}]})
        )


def test_load_spec_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    assert load_spec(path).name == "test_spec"


def test_load_spec_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"absent\.json does not exist"):
        load_spec(tmp_path / "absent.json")


def test_load_spec_names_the_file_of_an_invalid_spec(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": 1}', encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.json: strategy spec is invalid"):
        load_spec(path)


def test_every_example_spec_is_valid() -> None:
    paths = sorted(EXAMPLES.glob("*.json"))
    assert len(paths) >= 4
    for path in paths:
        spec = load_spec(path)
        assert spec.name == path.stem


def _walk(node: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, field in node.get("properties", {}).items():
            found.append((f"{path}.{name}", field))
        for key, value in node.items():
            found.extend(_walk(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(_walk(item, f"{path}[{index}]"))
    return found


def test_schema_describes_every_field_without_titles() -> None:
    schema = StrategySpec.model_json_schema()
    fields = _walk(schema)
    assert len(fields) > 40
    undocumented = [path for path, field in fields if not field.get("description")]
    assert undocumented == []
    assert '"title"' not in json.dumps(schema)


def test_schema_is_small_enough_for_a_prompt() -> None:
    compact = json.dumps(StrategySpec.model_json_schema(), separators=(",", ":"))
    assert len(compact) < 16_000


def test_schema_lists_the_symbols() -> None:
    schema = StrategySpec.model_json_schema()
    assert schema["properties"]["symbol"]["enum"] == ["NIFTY", "BANKNIFTY"]


def test_a_copy_with_changes_gets_its_own_id() -> None:
    spec = StrategySpec.from_document(document())
    original = spec.id
    renamed = spec.model_copy(update={"name": "renamed"})
    assert renamed.id != original and spec.id == original
    assert renamed.model_copy().id == renamed.id

"""Fuzzing the spec parser: any JSON document, and valid specs broken in every way an LLM breaks
them (keys dropped, values of the wrong type, unknown keys, numbers out of range), either parse
into a StrategySpec or raise a SpecError (ValidationError from `model_validate`) whose message
names a field; never any other exception."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tradeloop.domain.strategy.generators import random_specs, template_specs
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import SpecError

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "name", "symbol", "timeframe", "direction", "instrument", "entry", "exit", "filters",
    "all", "any", "left", "op", "right", "indicator", "output", "period", "price", "kind",
    "percent", "multiple", "r", "stop_loss", "take_profit", "time_window", "start", "end",
]  # fmt: skip
VALID = [spec.model_dump(mode="json") for spec in template_specs("NIFTY", "5m")] + [
    spec.model_dump(mode="json") for spec in random_specs(4, 20, "BANKNIFTY", "15m")
]


def parse(document: Any) -> StrategySpec | None:
    """Both entry points; returns the spec or None after checking the error is readable."""
    try:
        spec = StrategySpec.from_document(document)
    except SpecError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        if isinstance(document, dict):
            assert "\n  - " in message
        try:
            StrategySpec.model_validate(document)
        except ValidationError:
            pass
        else:
            raise AssertionError("from_document refused what model_validate accepts") from None
        return None
    assert StrategySpec.from_json(spec.to_json()) == spec
    return spec


@SETTINGS
@given(document=json_values)
def test_any_json_value_parses_or_is_refused_readably(document: Any) -> None:
    parse(document)


@SETTINGS
@given(document=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8))
def test_any_object_with_spec_keys_parses_or_is_refused_readably(document: Any) -> None:
    parse(document)


@SETTINGS
@given(text=st.text(max_size=60) | st.binary(max_size=60))
def test_any_text_parses_or_is_refused_readably(text: str | bytes) -> None:
    try:
        StrategySpec.from_json(text)
    except SpecError as exc:
        assert str(exc)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    node = document
    for step in path[:-1]:
        node = node[step]
    return node


OUT_OF_RANGE = st.sampled_from([0, -1, -0.5, 1e9, -1e9, 10**30, 1e300, 101, 1000, 2.5])


@SETTINGS
@given(
    base=st.sampled_from(VALID),
    mutations=st.lists(
        st.tuples(
            st.sampled_from(["drop", "replace", "unknown", "range", "type"]),
            st.integers(0, 10_000),
            json_values,
            OUT_OF_RANGE,
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_valid_specs_parse_or_are_refused_readably(
    base: dict[str, Any], mutations: list[tuple[str, int, Any, Any]]
) -> None:
    document = copy.deepcopy(base)
    for kind, pick, value, number in mutations:
        paths = _paths(document)
        if not paths:
            break
        path = paths[pick % len(paths)]
        parent, last = _parent(document, path), path[-1]
        if kind == "drop":
            if isinstance(parent, dict):
                del parent[last]
            else:
                parent.pop(last)
        elif kind == "replace":
            parent[last] = value
        elif kind == "unknown" and isinstance(parent, dict):
            parent[f"{last}_extra"] = value
        elif kind == "range":
            parent[last] = number
        elif kind == "type":
            parent[last] = json.dumps(parent[last]) if not isinstance(parent[last], str) else 7
    parse(document)


def test_mutations_are_mostly_refused_with_the_path() -> None:
    document = copy.deepcopy(VALID[0])
    document["exit"]["stop_loss"]["multiple"] = -3
    document["entry"]["all"][0]["left"]["period"] = 10**30
    try:
        StrategySpec.from_document(document)
    except SpecError as exc:
        assert "exit.stop_loss.multiple" in str(exc)
        assert "entry.all[0].left" in str(exc)
    else:
        raise AssertionError("an out-of-range spec was accepted")

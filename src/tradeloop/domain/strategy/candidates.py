"""Candidate strategies for a research session, deterministic by seed.

Two sources, as a researcher would mix them:

- **near the best** (exploit): the remembered best spec with one parameter moved at a time,
  by x0.75 and x1.25: its stop, target, trailing stop and bar limit, and the numbers of its
  entry conditions (thresholds and indicator periods);
- **templates** (explore): the built-in classic strategies on a few timeframes, then seeded
  random specs when more are wanted.

Only valid specs come out (each goes through `StrategySpec` validation), none twice, and none
whose id is in `exclude` (already remembered).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from tradeloop.domain.strategy.generators import random_specs, template_specs
from tradeloop.domain.strategy.spec import StrategySpec

FACTORS = (0.75, 1.25)
DEFAULT_TIMEFRAMES = ("5m", "15m")
_MAX_NAME = 80
# Exit parameters worth moving, as paths in the spec's JSON document.
_EXIT_PATHS = (
    ("exit", "stop_loss", "multiple"),
    ("exit", "stop_loss", "percent"),
    ("exit", "take_profit", "r"),
    ("exit", "take_profit", "percent"),
    ("exit", "trailing_stop", "multiple"),
    ("exit", "trailing_stop", "percent"),
    ("exit", "max_bars_held"),
)
Path = tuple[str | int, ...]


def research_candidates(
    symbol: str,
    count: int,
    seed: int,
    base: StrategySpec | None = None,
    exclude: Collection[str] = (),
    timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
) -> list[StrategySpec]:
    """Up to `count` new specs on `symbol`: half near `base` (when given), then templates, then
    random specs. The same arguments give the same specs in the same order."""
    rng = random.Random(seed)
    chosen: dict[str, StrategySpec] = {}

    def take(specs: Sequence[StrategySpec], limit: int) -> None:
        for spec in specs:
            if len(chosen) >= limit:
                return
            if spec.id not in exclude and spec.id not in chosen:
                chosen[spec.id] = spec

    if base is not None and base.symbol == symbol:
        near = neighbours(base)
        rng.shuffle(near)
        take(near, (count + 1) // 2)
    templates = [spec for timeframe in timeframes for spec in template_specs(symbol, timeframe)]
    rng.shuffle(templates)
    take(templates, count)
    if len(chosen) < count:
        # More random specs than needed: some may be excluded or repeat a template.
        take(random_specs(seed, 2 * count, symbol, timeframes[0]), count)
    return list(chosen.values())


def neighbours(base: StrategySpec) -> list[StrategySpec]:
    """`base` with one numeric parameter scaled by each factor; invalid variants are dropped."""
    document = base.model_dump(mode="json")
    variants: list[StrategySpec] = []
    for path in tunable_paths(document):
        value = _get(document, path)
        for factor in FACTORS:
            moved = _scaled(value, factor)
            if moved == value:
                continue
            changed = _set(document, path, moved)
            changed["name"] = _variant_name(base.name, path, moved)
            try:
                variants.append(StrategySpec.model_validate(changed))
            except ValidationError:
                continue  # e.g. a threshold moved outside an oscillator's range
    return variants


def tunable_paths(document: dict[str, Any]) -> list[Path]:
    """Numeric parameters of the exits and of the entry conditions, in document order."""
    paths: list[Path] = [path for path in _EXIT_PATHS if _is_number(_get(document, path))]
    entry = document["entry"]
    mode = "all" if "all" in entry else "any"
    for index, item in enumerate(entry[mode]):
        if "left" not in item:
            continue  # a nested group: its conditions are left as they are
        for side in ("left", "right"):
            operand = item[side]
            if _is_number(operand):
                paths.append(("entry", mode, index, side))
            elif isinstance(operand, dict) and _is_number(operand.get("period")):
                paths.append(("entry", mode, index, side, "period"))
    return paths


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value != 0


def _get(document: Any, path: Path) -> Any:
    node = document
    for step in path:
        in_object = isinstance(node, dict) and isinstance(step, str) and step in node
        in_array = isinstance(node, list) and isinstance(step, int) and step < len(node)
        if not (in_object or in_array):
            return None
        node = node[step]
    return node


def _set(document: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    copied: dict[str, Any] = copy.deepcopy(document)
    node: Any = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copied


def _scaled(value: float, factor: float) -> float | int:
    scaled = value * factor
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 5):
        # Periods, bar counts and round thresholds stay whole numbers.
        return max(1, round(scaled)) if value > 0 else round(scaled)
    return round(scaled, 2)


def _variant_name(name: str, path: Path, value: float | int) -> str:
    label = ".".join(str(step) for step in _label_path(path))
    suffix = f"~{label}={value:g}"
    return name[: _MAX_NAME - len(suffix)] + suffix


def _label_path(path: Path) -> Iterator[str | int]:
    # "exit.stop_loss.multiple" -> "stop_loss.multiple"; entry paths keep their index.
    yield from path[1:] if path[0] == "exit" else path

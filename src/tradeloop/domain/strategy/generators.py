"""Deterministic spec generators for research runs: classic templates, grids and random search.

Every generator returns valid specs only (each goes through `StrategySpec` validation), and the
same arguments give the same specs, with the same ids, in every process.

Grid paths use the notation of error messages: ``"exit.stop_loss.multiple"``,
``"entry.all[0].right"``, ``"entry.all[0].left.period"``.
"""

from __future__ import annotations

import copy
import itertools
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from tradeloop.domain.market.candles import INTERVALS
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.strategy.documents import Document, condition, indicator, intraday, price
from tradeloop.domain.strategy.random_search import random_document
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import SpecError

Grid = Mapping[str, Sequence[Any]]
_MAX_NAME = 80


def _document(
    name: str,
    symbol: str,
    timeframe: str,
    direction: str,
    entry: Document,
    exit_rules: Document,
    window: tuple[str, str] = ("09:30", "14:30"),
    regime: Sequence[Document] = (),
) -> Document:
    filters, square_off = intraday(timeframe, *window)
    if regime:
        filters["regime"] = list(regime)
    return {
        "name": f"{symbol.lower()}_{name}_{timeframe}",
        "symbol": symbol,
        "timeframe": timeframe,
        "direction": direction,
        "entry": entry,
        "exit": {**exit_rules, "square_off": square_off},
        "filters": filters,
    }


def _templates(symbol: str, timeframe: str) -> list[Document]:
    close = price("close")
    adx = indicator("adx", period=14)
    return [
        _document(
            "rsi_reversion",
            symbol,
            timeframe,
            "long",
            {"all": [condition(indicator("rsi", period=14), "crosses_above", 30)]},
            {
                "stop_loss": {"kind": "atr", "multiple": 1.5, "period": 14},
                "take_profit": {"kind": "r_multiple", "r": 1.5},
                "max_bars_held": 24,
            },
        ),
        _document(
            "ema_cross",
            symbol,
            timeframe,
            "long",
            {
                "all": [
                    condition(
                        indicator("ema", period=9), "crosses_above", indicator("ema", period=21)
                    )
                ]
            },
            {
                "stop_loss": {"kind": "atr", "multiple": 2, "period": 14},
                "trailing_stop": {"kind": "atr", "multiple": 3, "period": 14},
                "break_even_after_r": 1,
            },
            regime=[condition(adx, ">", 20)],
        ),
        _document(
            "supertrend_trend",
            symbol,
            timeframe,
            "long",
            {
                "all": [
                    condition(
                        indicator("supertrend", "direction", period=10, multiplier=3),
                        "crosses_above",
                        0,
                    )
                ]
            },
            {
                "stop_loss": {"kind": "swing_low", "strength": 3},
                "take_profit": {"kind": "r_multiple", "r": 2},
                "trailing_stop": {"kind": "atr", "multiple": 2.5, "period": 14},
            },
            window=("09:30", "14:45"),
        ),
        _document(
            "orb_vwap",
            symbol,
            timeframe,
            "long",
            {
                "all": [
                    condition(
                        close, "crosses_above", indicator("opening_range", "high", minutes=15)
                    ),
                    condition(close, ">", indicator("vwap")),
                ]
            },
            {
                "stop_loss": {"kind": "percent", "percent": 0.4},
                "take_profit": {"kind": "r_multiple", "r": 2},
            },
            window=("09:45", "13:00"),
        ),
        _document(
            "bollinger_fade",
            symbol,
            timeframe,
            "short",
            {
                "all": [
                    condition(
                        close,
                        "crosses_below",
                        indicator("bbands", "upper", period=20, deviations=2),
                    ),
                    condition(indicator("rsi", period=14), ">", 60),
                ]
            },
            {
                "stop_loss": {"kind": "atr", "multiple": 1.5, "period": 14},
                "take_profit": {"kind": "r_multiple", "r": 1.5},
            },
        ),
        _document(
            "macd_momentum",
            symbol,
            timeframe,
            "short",
            {
                "all": [
                    condition(indicator("macd"), "crosses_below", indicator("macd", "signal")),
                    condition(close, "<", indicator("ema", period=50)),
                ]
            },
            {
                "stop_loss": {"kind": "swing_high", "strength": 3},
                "take_profit": {"kind": "r_multiple", "r": 2},
                "break_even_after_r": 1,
            },
        ),
    ]


def template_specs(symbol: str, timeframe: str) -> list[StrategySpec]:
    """Classic strategies on `symbol` and `timeframe`: RSI mean reversion, EMA crossover with an
    ADX filter, Supertrend trend following, opening-range breakout above VWAP, a Bollinger-band
    fade and MACD momentum (the last two short)."""
    symbol = _check_market(symbol, timeframe)
    return [StrategySpec.model_validate(doc) for doc in _templates(symbol, timeframe)]


def planted_edge_spec(symbol: str, timeframe: str = "5m") -> StrategySpec:
    """The spec that targets the planted edge of the synthetic market (`market/planted.py`).

    After a 5m candle that rose more than 0.3 % (``roc(1) > 0.3``: beyond two of the model's
    5-minute sigmas on nearly every day and time), it sells at the next candle's open and buys
    back one candle later (the 5 minutes over which the planted market gives part of a large move
    back), or at a 0.5 % stop. It earns on the planted market only; on the null market it pays
    costs. ``examples/strategies/planted_edge_nifty_reversion_5m.json`` is the same spec on NIFTY.
    """
    symbol = _check_market(symbol, timeframe)
    document = _document(
        "planted_edge_reversion",
        symbol,
        timeframe,
        "short",
        {
            "all": [
                condition(indicator("roc", period=1), ">", 0.3),
            ]
        },
        {
            "stop_loss": {"kind": "percent", "percent": 0.5},
            "max_bars_held": 1,
        },
        window=("09:30", "15:00"),
    )
    # Named planted_edge_* first, as its example file is, so it is told apart from the classics.
    document["name"] = f"planted_edge_{symbol.lower()}_reversion_{timeframe}"
    return StrategySpec.model_validate(document)


def grid_specs(template: StrategySpec, grid: Grid) -> list[StrategySpec]:
    """Every combination of the grid's values applied to `template`, valid ones only.

    Each key is a path in the spec's JSON document that must exist in the template (defaults
    are written out, so ``exit.break_even_after_r`` exists even when null). Combinations that
    fail validation (e.g. a break-even beyond the target) are skipped, and so are combinations
    giving the same rules as an earlier one.
    Names are the template's name plus the combination's index.
    """
    base = template.model_dump(mode="json")
    paths = {path: _parse_path(path) for path in grid}
    for path, steps in paths.items():
        _lookup(base, steps, path)
        if not grid[path]:
            raise SpecError(f"grid path {path!r} has no values: give at least one")
    specs: dict[str, StrategySpec] = {}
    combinations = itertools.product(*(grid[path] for path in paths))
    for index, values in enumerate(combinations):
        document = copy.deepcopy(base)
        for (path, steps), value in zip(paths.items(), values, strict=True):
            parent, last = _lookup(document, steps[:-1], path), steps[-1]
            parent[last] = value
        document["name"] = _suffixed(template.name, f"-{index:04d}")
        spec = _try_validate(document)
        if spec is not None:
            # Two combinations giving the same rules are one spec, whatever their names.
            specs.setdefault(spec.model_copy(update={"name": template.name}).id, spec)
    return list(specs.values())


def random_specs(seed: int, n: int, symbol: str, timeframe: str) -> list[StrategySpec]:
    """`n` random valid specs; the same seed gives the same specs in every process."""
    symbol = _check_market(symbol, timeframe)
    if n < 0:
        raise SpecError(f"n={n}: ask for zero or more specs")
    rng = random.Random(seed)
    specs: list[StrategySpec] = []
    attempts = 0
    while len(specs) < n:
        attempts += 1
        if attempts > 50 * n + 50:
            raise AssertionError("random_specs keeps drawing invalid specs: a generator bug")
        name = f"{symbol.lower()}_random_{seed}_{len(specs):04d}_{timeframe}"
        document = random_document(rng, symbol, timeframe, name)
        spec = _try_validate(document)
        if spec is not None:
            specs.append(spec)
    return specs


# ------------------------------------------------------------------------------------ helpers

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _parse_path(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.split("."):
        for match in _STEP.finditer(part):
            steps.append(match.group(1) if match.group(1) else int(match.group(2)))
        rebuilt = "".join(m.group(0) for m in _STEP.finditer(part))
        if not part or rebuilt != part:
            raise SpecError(
                f"grid path {path!r}: {part!r} is not a key or key[index], e.g. "
                "entry.all[0].left.period"
            )
    return steps


def _lookup(document: Any, steps: Sequence[str | int], path: str) -> Any:
    node = document
    for depth, step in enumerate(steps):
        container_ok = (isinstance(step, str) and isinstance(node, dict) and step in node) or (
            isinstance(step, int) and isinstance(node, list) and step < len(node)
        )
        if not container_ok:
            reached = _render(steps[:depth]) or "the spec"
            keys = f" (keys: {', '.join(node)})" if isinstance(node, dict) else ""
            raise SpecError(
                f"grid path {path!r}: {reached} has no {step!r}{keys}; paths must exist in "
                "the template"
            )
        node = node[step]
    return node


def _render(steps: Sequence[str | int]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _suffixed(name: str, suffix: str) -> str:
    return name[: _MAX_NAME - len(suffix)] + suffix


def _try_validate(document: Document) -> StrategySpec | None:
    try:
        return StrategySpec.model_validate(document)
    except ValidationError:
        return None


def _check_market(symbol: str, timeframe: str) -> str:
    if timeframe not in INTERVALS:
        raise SpecError(f"timeframe {timeframe!r} is not one of {', '.join(INTERVALS)}")
    return index_instrument(symbol).symbol

"""The LLM strategy generator from settings: its Ollama client, what it is told, its last round.

`generate_with_llm` is what the research flow's generate stage calls with `--generator ollama`:
it checks that Ollama answers and has the model (failing at once with the fix), builds the
brief from the stores (the market snapshot of the research window without the lockbox, the best
remembered specs, the last round's refusals and failures), asks for the specs, and keeps the
round (its failures, and each spec's lineage) in `<data_dir>/generation/<SYMBOL>_<timeframe>.json`
for the next round to be told about.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.clock import utc_now
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.strategy.generation import (
    DEFAULT_MAX_RETRIES,
    Exemplar,
    Generation,
    GenerationBrief,
    market_snapshot,
)
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings
from tradeloop.tools.spec_grammar import decoding_spec_schema

if TYPE_CHECKING:
    from tradeloop.adapters.ollama_generator import LLMGenerator
    from tradeloop.storage.memory import StrategyRecord

EXEMPLARS = 5
"""Remembered specs shown to the model (its parents), best score first."""
REFUSALS = 5
"""Refused specs of the last research run shown to the model."""


def llm_generator(settings: Settings, max_retries: int = DEFAULT_MAX_RETRIES) -> LLMGenerator:
    """The generator on the `ollama_*` settings (host, model, context size, timeout), decoding
    to the spec's narrowed JSON schema (`tradeloop.tools.spec_grammar`)."""
    # Imported here: the rule-based default never loads the Ollama client.
    from tradeloop.adapters.ollama_generator import LLMGenerator

    return LLMGenerator(
        model=settings.ollama_model,
        response_schema=decoding_spec_schema(),
        host=settings.ollama_host,
        num_ctx=settings.ollama_num_ctx,
        timeout_seconds=settings.ollama_timeout_s,
        max_retries=max_retries,
    )


def generation_brief(
    settings: Settings, symbol: str, timeframe: str, start: date | None, end: date | None
) -> GenerationBrief:
    """What the model is told for `symbol` and `timeframe` over the window `start`..`end`."""
    candles = research_context(settings).research_candles(symbol, start, end)
    last_day = None if candles.is_empty() else candles["ts"][-1].astimezone(IST).date()
    iv = _latest_iv(settings, symbol, last_day)
    memory = stores.strategy_memory(settings)
    remembered = memory.best(1_000, symbol=symbol, timeframe=timeframe)
    exemplars = [e for e in map(_exemplar, remembered[:EXEMPLARS]) if e is not None]
    return GenerationBrief(
        symbol=symbol,
        timeframe=timeframe,
        snapshot=market_snapshot(symbol, candles, iv),
        exemplars=tuple(exemplars),
        refusals=tuple(_last_refusals(remembered, {e.spec.id for e in exemplars})),
        failures=tuple(_last_round(settings, symbol, timeframe).get("failures", [])),
        options_allowed=iv is not None,
    )


def generate_with_llm(
    settings: Settings,
    symbol: str,
    timeframe: str,
    count: int,
    start: date | None,
    end: date | None,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> Generation:
    """`count` new specs from Ollama for `symbol` (see the module docstring); the round is
    kept for the next one. Fails before asking anything when Ollama or the model is missing."""
    generator = llm_generator(settings, max_retries)
    generator.check_model()
    brief = generation_brief(settings, symbol, timeframe, start, end)
    generation = generator.generate(brief, count)
    _keep_round(settings, symbol, timeframe, generation)
    return generation


def last_round_path(settings: Settings, symbol: str, timeframe: str) -> Path:
    return settings.data_dir / "generation" / f"{symbol.upper()}_{timeframe}.json"


def _last_round(settings: Settings, symbol: str, timeframe: str) -> dict[str, list[str]]:
    path = last_round_path(settings, symbol, timeframe)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):  # a damaged file only loses the last round's hints
        return {}
    failures = document.get("failures") if isinstance(document, dict) else None
    return {"failures": [str(f) for f in failures]} if isinstance(failures, list) else {}


def _keep_round(settings: Settings, symbol: str, timeframe: str, generation: Generation) -> None:
    path = last_round_path(settings, symbol, timeframe)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "at": utc_now().isoformat(),
        "model": generation.model,
        "failures": list(generation.failures),
        "lineage": generation.lineage,
    }
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def _exemplar(record: StrategyRecord) -> Exemplar | None:
    try:
        spec = StrategySpec.model_validate_json(record.spec_json)
    except ValidationError:  # written by an older spec format: not shown
        return None
    return Exemplar(spec, record.score, record.passed, record.reasons)


def _last_refusals(records: list[StrategyRecord], shown: set[str]) -> list[Exemplar]:
    """The refused specs of the latest run among `records`, latest first, not already shown."""
    if not records:
        return []
    latest = max(records, key=lambda record: record.evaluated_at).run_id
    refused = sorted(
        (r for r in records if r.run_id == latest and not r.passed and r.spec_id not in shown),
        key=lambda record: record.evaluated_at,
        reverse=True,
    )
    chosen = [e for e in map(_exemplar, refused) if e is not None]
    return chosen[:REFUSALS]


def _latest_iv(settings: Settings, symbol: str, day: date | None) -> float | None:
    try:
        frame = stores.volatility_store(settings).load(symbol)
    except NotFoundError:
        return None
    if day is not None:
        frame = frame.filter(frame["day"] <= day)
    return None if frame.is_empty() else float(frame["iv"][-1])

"""The pure half of the LLM strategy generator: what the model is told, and what is kept.

One request asks for ONE new `StrategySpec`. The prompt (`build_messages`) gives the model:

1. the symbol and timeframe to write for, and the instruments it may use;
2. a market snapshot (`market_snapshot`): last close, day change, the window's trend and
   volatility regime (`classify_regime`), the implied volatility when one is stored;
3. the best remembered specs with their scores (its exemplars, remembered as the new spec's
   parents), the specs it already wrote this round (not to be repeated), and the last round's
   refusals (specs the score or significance gate refused, with why) and failures (replies
   that were not a valid spec, with the validation error).

A reply (`check_reply`) is used only when it is one JSON object that `StrategySpec.from_document`
accepts, for the asked symbol and timeframe, and not identical to a remembered or already
written spec. Otherwise the reply is refused (`ReplyRefused`), and `generate` feeds the refusal
back to the model as the next message, at most `max_retries` times per spec, then records the
failure and moves on: an invalid spec is never returned. The model's transport (`Ask`) is an
argument: the Ollama adapter (`tradeloop.adapters.ollama_generator`) supplies it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypedDict

import polars as pl

from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.regime import classify_regime
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import ModelError, SpecError


class Message(TypedDict):
    """A chat message (the same shape as the agent's `ChatMessage`)."""

    role: Literal["system", "user", "assistant"]
    content: str


Lineage = dict[str, str | list[str]]
Ask = Callable[[Sequence[Message], int], str]
"""One chat request: the messages and the retry number (0 on a first ask); the reply's text."""

DEFAULT_MAX_RETRIES = 2
MAX_FED_BACK_CHARS = 2_000  # of a refused reply, echoed into the next request
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)

SYSTEM_PROMPT = """\
You write trading strategies for tradeloop as StrategySpec JSON documents.
Answer with exactly ONE JSON object: a complete StrategySpec, and nothing else (no prose, no
code fences, no list). The answer is validated in full; an invalid one is sent back to you with
the errors, and you then answer with a corrected spec.
Rules of a good spec:
- entry: {"all": [conditions]} or {"any": [conditions]}; a condition is
  {"left": operand, "op": ">", "right": operand}; an operand is a number,
  {"price": "close"} or an indicator such as {"indicator": "rsi", "period": 14}.
  A number goes on the right (rsi > 30, not 30 < rsi).
- exit.stop_loss is required; add a take_profit, max_bars_held or square_off when useful.
- times of day (entry window, square-off) are inside the NSE session, 09:15 to 15:30 IST.
- it must differ from every spec shown to you: a copy is refused as a duplicate.
Learn from the remembered specs: keep what scored well, avoid what was refused."""


class ReplyRefused(ModelError):
    """The model's reply is not a spec that may be used; the message is fed back to it."""


@dataclass(frozen=True)
class MarketSnapshot:
    """What the market looks like at the end of the window the model writes for.

    Attributes:
        symbol: the index.
        as_of: the last candle's time (tz-aware), None without candles.
        last_close: the last close, NaN without candles.
        day_change_pct: the last close against the previous session's last close, in percent
            (NaN with fewer than two sessions).
        regime: `classify_regime` of the window, e.g. "ranging/normal-vol".
        sessions: the sessions in the window.
        iv: the latest stored implied volatility (annualised fraction), None when none is stored.
    """

    symbol: str
    as_of: datetime | None
    last_close: float
    day_change_pct: float
    regime: str
    sessions: int
    iv: float | None = None

    def lines(self) -> list[str]:
        if self.as_of is None:
            return [f"- no candles stored for {self.symbol}: regime unknown"]
        change = "n/a" if math.isnan(self.day_change_pct) else f"{self.day_change_pct:+.2f}%"
        lines = [
            f"- as of {self.as_of.astimezone(IST):%Y-%m-%d %H:%M} IST, {self.sessions} sessions",
            f"- last close {self.last_close:,.2f}, day change {change}",
            f"- regime of the window (trend/volatility): {self.regime}",
        ]
        if self.iv is not None:
            lines.append(f"- implied volatility {self.iv * 100:.1f}% annualised")
        return lines


def market_snapshot(symbol: str, candles: pl.DataFrame, iv: float | None = None) -> MarketSnapshot:
    """The snapshot of `candles` (1m or any bars with `ts` and `close`, sorted by time)."""
    if candles.is_empty():
        return MarketSnapshot(symbol, None, math.nan, math.nan, "unknown", 0, iv)
    daily = (
        candles.select(pl.col("ts").dt.convert_time_zone(str(IST)).dt.date().alias("day"), "close")
        .group_by("day", maintain_order=True)
        .agg(pl.col("close").last())
        .sort("day")
    )
    closes = daily["close"].to_list()
    last = float(closes[-1])
    change = (last / float(closes[-2]) - 1) * 100 if len(closes) >= 2 else math.nan
    as_of: datetime = candles["ts"][-1]
    return MarketSnapshot(symbol, as_of, last, change, classify_regime(candles), len(closes), iv)


@dataclass(frozen=True)
class Exemplar:
    """A remembered spec shown to the model: its score, and why a gate refused it if one did."""

    spec: StrategySpec
    score: float
    passed: bool = False
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationBrief:
    """Everything one round of generation tells the model.

    Attributes:
        symbol, timeframe: what every spec must trade and read.
        snapshot: the market at the end of the research window.
        exemplars: the best remembered specs (shown with their scores; the parents).
        refusals: remembered specs of the last round that a gate refused, with its reasons.
        failures: the last round's replies that were not a valid spec, with the error.
        options_allowed: whether option specs may be written (an IV series is stored).
    """

    symbol: str
    timeframe: str
    snapshot: MarketSnapshot
    exemplars: tuple[Exemplar, ...] = ()
    refusals: tuple[Exemplar, ...] = ()
    failures: tuple[str, ...] = ()
    options_allowed: bool = False

    @property
    def parent_ids(self) -> list[str]:
        return [exemplar.spec.id for exemplar in self.exemplars]


def build_messages(brief: GenerationBrief, written: Sequence[StrategySpec] = ()) -> list[Message]:
    """The system and user messages asking for one new spec; `written` are the specs already
    accepted this round (shown so the model does not repeat them)."""
    instruments = (
        'index ({"kind": "index"}), future ({"kind": "future"}) or a bought option'
        if brief.options_allowed
        else 'index ({"kind": "index"}) or future ({"kind": "future"}); no option (no IV stored)'
    )
    parts = [
        f'Write ONE new strategy spec with "symbol": "{brief.symbol}" and "timeframe": '
        f'"{brief.timeframe}". Instrument: {instruments}.',
        "",
        f"Market snapshot of {brief.symbol}:",
        *brief.snapshot.lines(),
    ]
    if brief.exemplars:
        parts += ["", "Best remembered specs (score: higher is better; above 0 is promising):"]
        parts += [_shown(exemplar) for exemplar in brief.exemplars]
    else:
        parts += ["", "No spec is remembered yet for this symbol and timeframe."]
    if brief.refusals:
        parts += ["", "Refused in the last round (avoid what made them fail):"]
        parts += [_shown(exemplar) for exemplar in brief.refusals]
    if brief.failures:
        parts += ["", "Replies of the last round that were not valid specs (do not repeat):"]
        parts += [f"- {_one_line(failure)}" for failure in brief.failures]
    if written:
        parts += ["", "Already written this round (write something different):"]
        parts += [f"- {spec.canonical_json()}" for spec in written]
    parts += ["", "Answer with the JSON object only."]
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n".join(parts)},
    ]


def _shown(exemplar: Exemplar) -> str:
    verdict = "passed the gate" if exemplar.passed else "; ".join(exemplar.reasons) or "not gated"
    return (
        f"- score {exemplar.score:.3f} ({_one_line(verdict)}), id {exemplar.spec.id}: "
        f"{exemplar.spec.canonical_json()}"
    )


def _one_line(text: str, limit: int = 300) -> str:
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[:limit] + "…"


def prompt_hash(messages: Sequence[Message]) -> str:
    """The first 16 hex digits of the sha256 of `messages` as canonical JSON."""
    text = json.dumps(list(messages), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def check_reply(text: str, brief: GenerationBrief, known_ids: set[str]) -> StrategySpec:
    """The spec in the model's reply, or `ReplyRefused` saying what is wrong and how to fix it.
    `known_ids` are the ids of remembered and already written specs (duplicates)."""
    body = _THINK_BLOCK.sub("", text).strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ReplyRefused(
            f"the reply is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
            "answer with one StrategySpec JSON object and nothing else"
        ) from None
    try:
        spec = StrategySpec.from_document(document)
    except SpecError as exc:
        raise ReplyRefused(f"{exc}\nFix these fields and answer with the whole spec.") from None
    wrong = [
        f'"{key}" is {got!r}, not {want!r}'
        for key, got, want in (
            ("symbol", spec.symbol, brief.symbol),
            ("timeframe", spec.timeframe, brief.timeframe),
        )
        if got != want
    ]
    if wrong:
        raise ReplyRefused(f"the spec is for the wrong market: {'; '.join(wrong)}")
    if spec.instrument.kind == "option" and not brief.options_allowed:
        raise ReplyRefused(
            'options cannot be priced here (no implied volatility stored): use {"kind": "index"} '
            'or {"kind": "future"} as the instrument'
        )
    if spec.id in known_ids:
        raise ReplyRefused(
            f"the spec is a duplicate of a spec already shown (id {spec.id}): change its entry "
            "conditions, exits or filters to write a new one"
        )
    return spec


def retry_message(refusal: ReplyRefused) -> Message:
    """The message that feeds a refused reply's error back to the model."""
    return {
        "role": "user",
        "content": f"Your reply was refused: {refusal}\nAnswer with one corrected StrategySpec "
        "JSON object only.",
    }


@dataclass(frozen=True)
class GeneratedSpec:
    """A spec the model wrote, and where it came from (`lineage`: model, prompt hash, parent
    ids, attempts)."""

    spec: StrategySpec
    lineage: Lineage


@dataclass(frozen=True)
class Generation:
    """One round's specs, each with its lineage, and the specs the model never got right."""

    generated: tuple[GeneratedSpec, ...] = ()
    failures: tuple[str, ...] = ()
    model: str = ""

    @property
    def specs(self) -> list[StrategySpec]:
        return [each.spec for each in self.generated]

    @property
    def lineage(self) -> dict[str, Lineage]:
        """Lineage by spec id, for the records that remember the evaluations."""
        return {each.spec.id: each.lineage for each in self.generated}


@dataclass
class _Round:
    brief: GenerationBrief
    known: set[str]
    written: list[StrategySpec] = field(default_factory=list)


def generate(
    ask: Ask,
    brief: GenerationBrief,
    count: int,
    *,
    model: str,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> Generation:
    """Ask for `count` specs one at a time; a refused reply is fed back at most `max_retries`
    times per spec, then that spec is given up (recorded in `failures`). Errors of the
    transport (`ask`) propagate: they are the set-up's or the server's, not the model's."""
    state = _Round(brief, {exemplar.spec.id for exemplar in brief.exemplars})
    generated: list[GeneratedSpec] = []
    failures: list[str] = []
    for number in range(1, count + 1):
        messages = build_messages(brief, state.written)
        for attempt in range(max_retries + 1):
            reply = ask(messages, attempt)
            try:
                spec = check_reply(reply, brief, state.known)
            except ReplyRefused as refusal:
                if attempt == max_retries:
                    failures.append(
                        f"spec {number} of {count}: no valid spec after {attempt + 1} replies; "
                        f"last error: {_one_line(str(refusal), 500)}"
                    )
                    break
                shown = reply if len(reply) <= MAX_FED_BACK_CHARS else reply[:MAX_FED_BACK_CHARS]
                messages = [
                    *messages,
                    {"role": "assistant", "content": shown},
                    retry_message(refusal),
                ]
                continue
            lineage: Lineage = {
                "generator": "llm",
                "model": model,
                "prompt_sha256": prompt_hash(messages),
                "parents": brief.parent_ids,
                "attempts": str(attempt + 1),
            }
            generated.append(GeneratedSpec(spec, lineage))
            state.written.append(spec)
            state.known.add(spec.id)
            break
    return Generation(tuple(generated), tuple(failures), model)

"""The pure half of the LLM generator: the prompt it sends, the replies it accepts."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest

from tradeloop.domain.market.regime import classify_regime
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.generation import (
    Exemplar,
    GenerationBrief,
    MarketSnapshot,
    ReplyRefused,
    build_messages,
    check_reply,
    market_snapshot,
    prompt_hash,
)
from tradeloop.domain.strategy.generators import template_specs
from tradeloop.domain.strategy.spec import StrategySpec, load_spec
from tradeloop.errors import ModelError

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
TEMPLATES = template_specs("NIFTY", "5m")
SNAPSHOT = MarketSnapshot(
    "NIFTY", generate_market("NIFTY", days=1, seed=1).candles["ts"][-1], 22_345.5, -0.42,
    "ranging/normal-vol", 20, 0.135,
)  # fmt: skip


def _brief(**changes: object) -> GenerationBrief:
    values: dict[str, object] = {
        "symbol": "NIFTY",
        "timeframe": "5m",
        "snapshot": SNAPSHOT,
        "exemplars": (Exemplar(TEMPLATES[0], 0.812, passed=True),),
        "refusals": (Exemplar(TEMPLATES[1], -0.25, reasons=("only 3 out-of-sample trades",)),),
        "failures": ("spec 2 of 5: no valid spec after 3 replies; last error: not JSON",),
        "options_allowed": True,
    }
    values.update(changes)
    return GenerationBrief(**values)  # type: ignore[arg-type]


def test_the_prompt_gives_the_market_the_remembered_specs_and_the_last_round() -> None:
    system, user = build_messages(_brief(), written=[TEMPLATES[2]])
    assert system["role"] == "system" and "ONE JSON object" in system["content"]
    text = user["content"]
    assert '"symbol": "NIFTY"' in text and '"timeframe": "5m"' in text
    assert "last close 22,345.50, day change -0.42%" in text
    assert "ranging/normal-vol" in text and "implied volatility 13.5%" in text
    assert f"score 0.812 (passed the gate), id {TEMPLATES[0].id}" in text
    assert TEMPLATES[0].canonical_json() in text
    assert "score -0.250 (only 3 out-of-sample trades)" in text
    assert "last error: not JSON" in text
    assert "Already written this round" in text and TEMPLATES[2].canonical_json() in text
    assert "bought option" in text


def test_without_iv_the_prompt_forbids_options_and_says_when_nothing_is_remembered() -> None:
    _, user = build_messages(_brief(exemplars=(), refusals=(), failures=(), options_allowed=False))
    text = user["content"]
    assert "no option (no IV stored)" in text
    assert "No spec is remembered yet" in text
    assert "Refused in the last round" not in text and "not valid specs" not in text


def test_the_brief_names_its_exemplars_as_the_parents() -> None:
    assert _brief().parent_ids == [TEMPLATES[0].id]


def test_the_prompt_hash_is_short_stable_and_changes_with_the_prompt() -> None:
    messages = build_messages(_brief())
    assert prompt_hash(messages) == prompt_hash(build_messages(_brief()))
    assert len(prompt_hash(messages)) == 16
    assert prompt_hash(messages) != prompt_hash(build_messages(_brief(timeframe="15m")))


def test_the_snapshot_of_candles_has_the_last_close_day_change_and_regime() -> None:
    candles = generate_market("NIFTY", days=10, start=date(2025, 3, 3), seed=3).candles
    snapshot = market_snapshot("NIFTY", candles, iv=0.14)
    closes = candles["close"].to_list()
    assert snapshot.last_close == closes[-1]
    assert snapshot.sessions == 10
    previous_session_close = closes[-376]  # 375 one-minute bars a session
    assert snapshot.day_change_pct == pytest.approx((closes[-1] / previous_session_close - 1) * 100)
    assert snapshot.regime == classify_regime(candles)
    assert snapshot.as_of == candles["ts"][-1] and snapshot.iv == 0.14


def test_the_snapshot_of_no_candles_says_so() -> None:
    candles = generate_market("NIFTY", days=1, seed=3).candles.clear()
    snapshot = market_snapshot("NIFTY", candles)
    assert snapshot.as_of is None and math.isnan(snapshot.last_close)
    assert snapshot.lines() == ["- no candles stored for NIFTY: regime unknown"]


def _document(spec: StrategySpec, **changes: object) -> str:
    document = spec.model_dump(mode="json")
    document.update(changes)
    return json.dumps(document)


def test_a_valid_new_spec_is_accepted_with_a_think_block_or_code_fence_around_it() -> None:
    new = TEMPLATES[3]
    assert check_reply(_document(new), _brief(), set()) == new
    fenced = f"<think>an idea</think>\n```json\n{_document(new)}\n```"
    assert check_reply(fenced, _brief(), set()) == new


@pytest.mark.parametrize(
    ("reply", "known", "says"),
    [
        ("Here is a great strategy: buy low, sell high.", set(), "the reply is not JSON"),
        (_document(TEMPLATES[3], direction="sideways"), set(), "direction"),
        ("[1, 2]", set(), "a strategy spec is a JSON object"),
        (_document(TEMPLATES[3], symbol="BANKNIFTY"), set(), "\"symbol\" is 'BANKNIFTY'"),
        (_document(TEMPLATES[3], timeframe="15m"), set(), "\"timeframe\" is '15m'"),
        (_document(TEMPLATES[3]), {TEMPLATES[3].id}, "duplicate of a spec already shown"),
    ],
    ids=["prose", "invalid-field", "not-an-object", "wrong-symbol", "wrong-timeframe", "duplicate"],
)
def test_a_reply_that_is_not_a_usable_spec_is_refused_saying_why(
    reply: str, known: set[str], says: str
) -> None:
    with pytest.raises(ReplyRefused) as refused:
        check_reply(reply, _brief(), known)
    assert says in str(refused.value)
    assert isinstance(refused.value, ModelError)  # the model's mistake: fed back, not raised


def test_an_option_spec_is_refused_when_no_iv_is_stored() -> None:
    option = load_spec(EXAMPLES / "nifty_macd_puts_5m.json")
    assert option.instrument.kind == "option"
    assert check_reply(_document(option), _brief(), set()) == option
    with pytest.raises(ReplyRefused, match="no implied volatility stored"):
        check_reply(_document(option), _brief(options_allowed=False), set())

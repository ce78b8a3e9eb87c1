"""The LLM strategy generator through the real `ollama` client against a loopback Ollama server.

Invalid replies are fed back to the model with the error and never used; the retries are
bounded; a missing server or model fails at once naming the host or model and the fix.
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, date, datetime

import pytest

from support.ollama_server import FakeOllamaServer
from tradeloop.adapters.ollama_generator import LLMGenerator
from tradeloop.agent import PlannerUnavailableError
from tradeloop.app import stores
from tradeloop.app.generation import generate_with_llm, generation_brief, last_round_path
from tradeloop.cli import main
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.generation import GenerationBrief, MarketSnapshot, prompt_hash
from tradeloop.domain.strategy.generators import template_specs
from tradeloop.errors import ConfigError
from tradeloop.settings import load_settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tools.spec_grammar import decoding_spec_schema

MODEL = "test-model"
NEW = template_specs("NIFTY", "5m")[0]
VALID = NEW.to_json()
PROSE = "Sure! A good idea is to buy NIFTY when RSI is low and sell when it is high."
INVALID_FIELD = json.dumps(NEW.model_dump(mode="json") | {"direction": "sideways"})
BRIEF = GenerationBrief(
    symbol="NIFTY",
    timeframe="5m",
    snapshot=MarketSnapshot("NIFTY", None, float("nan"), float("nan"), "unknown", 0),
)


def _generator(server: FakeOllamaServer, max_retries: int = 2) -> LLMGenerator:
    return LLMGenerator(
        model=MODEL,
        response_schema=decoding_spec_schema(),
        host=server.host,
        num_ctx=4096,
        timeout_seconds=5,
        max_retries=max_retries,
    )


def _closed_port_host() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("first", [PROSE, INVALID_FIELD], ids=["prose", "invalid-field"])
def test_an_invalid_reply_is_fed_back_and_the_corrected_spec_is_used_with_its_lineage(
    first: str,
) -> None:
    with FakeOllamaServer([first, VALID], model=f"{MODEL}:latest") as server:
        generation = _generator(server).generate(BRIEF, 1)
    assert generation.specs == [NEW]
    assert generation.failures == ()
    first_request, second_request = server.chat_requests
    # Constrained to the spec's schema, at temperature 0 with the context size set; the retry
    # varies decoding.
    assert first_request["format"] == decoding_spec_schema()
    assert first_request["options"] == {"temperature": 0, "num_ctx": 4096}
    assert second_request["options"]["temperature"] > 0
    # The refused reply and why it was refused went back to the model.
    fed_back = second_request["messages"][-2:]
    assert fed_back[0] == {"role": "assistant", "content": first}
    assert fed_back[1]["role"] == "user" and "Your reply was refused" in fed_back[1]["content"]
    assert ("not JSON" if first == PROSE else "direction") in fed_back[1]["content"]
    lineage = generation.lineage[NEW.id]
    assert lineage["model"] == f"ollama:{MODEL}"
    assert lineage["attempts"] == "2"
    assert lineage["parents"] == []
    assert lineage["prompt_sha256"] == prompt_hash(second_request["messages"])


def test_a_model_that_never_writes_a_valid_spec_gives_nothing_and_says_so() -> None:
    with FakeOllamaServer([PROSE, INVALID_FIELD, PROSE, VALID], model=f"{MODEL}:latest") as server:
        generation = _generator(server, max_retries=2).generate(BRIEF, 1)
    assert generation.specs == [] and generation.lineage == {}
    assert len(server.chat_requests) == 3  # one ask and two re-asks; the valid fourth unasked
    (failure,) = generation.failures
    assert "spec 1 of 1: no valid spec after 3 replies" in failure
    assert "not JSON" in failure


def test_a_duplicate_of_a_spec_written_this_round_is_fed_back() -> None:
    other = template_specs("NIFTY", "5m")[1].to_json()
    with FakeOllamaServer([VALID, VALID, other], model=f"{MODEL}:latest") as server:
        generation = _generator(server).generate(BRIEF, 2)
    assert [spec.id for spec in generation.specs] == [NEW.id, template_specs("NIFTY", "5m")[1].id]
    assert "duplicate" in server.chat_requests[2]["messages"][-1]["content"]
    # The second spec's prompt showed the first as already written.
    assert NEW.canonical_json() in server.chat_requests[1]["messages"][1]["content"]


def test_an_unreachable_host_fails_at_once_naming_it_and_the_fix() -> None:
    host = _closed_port_host()
    generator = LLMGenerator(model=MODEL, response_schema={}, host=host, timeout_seconds=5)
    with pytest.raises(PlannerUnavailableError, match="ollama serve") as failed:
        generator.check_model()
    assert host in str(failed.value)


def test_a_model_not_pulled_fails_at_once_naming_it_and_the_fix() -> None:
    server = FakeOllamaServer([], pulled_models=["llama3:latest"])
    with server, pytest.raises(ConfigError, match=f"`ollama pull {MODEL}`"):
        _generator(server).check_model()
    assert server.chat_requests == []


@pytest.fixture
def nifty_market() -> None:
    market = generate_market("NIFTY", days=12, start=date(2025, 3, 3), seed=1)
    stores.candle_store(load_settings()).write(market.candles)
    stores.volatility_store(load_settings()).write(market.implied_volatility)


def _remember_exemplar() -> StrategyRecord:
    remembered = template_specs("NIFTY", "5m")[2]
    record = StrategyRecord(
        run_id="earlier",
        evaluated_at=datetime(2025, 3, 1, tzinfo=UTC),
        spec_id=remembered.id,
        name=remembered.name,
        symbol="NIFTY",
        timeframe="5m",
        regime="ranging/normal-vol",
        window_start=datetime(2025, 1, 1, tzinfo=UTC),
        window_end=datetime(2025, 3, 1, tzinfo=UTC),
        score=-0.3,
        passed=False,
        reasons=("only 2 out-of-sample trades",),
        spec_json=remembered.to_json(),
    )
    stores.strategy_memory(load_settings()).remember("earlier", [record])
    return record


@pytest.mark.usefixtures("nifty_market")
def test_generation_from_settings_tells_the_model_the_market_and_memory_and_keeps_the_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remembered = _remember_exemplar()
    with FakeOllamaServer([PROSE, PROSE, PROSE, VALID], model=f"{MODEL}:latest") as server:
        monkeypatch.setenv("TRADELOOP_OLLAMA_HOST", server.host)
        monkeypatch.setenv("TRADELOOP_OLLAMA_MODEL", MODEL)
        settings = load_settings()
        generation = generate_with_llm(settings, "NIFTY", "5m", 2, None, None, max_retries=2)
        assert generation.specs == [NEW]
        prompt = server.chat_requests[0]["messages"][1]["content"]
        assert "last close" in prompt and "regime of the window" in prompt
        assert f"id {remembered.spec_id}" in prompt and "score -0.300" in prompt
        assert generation.lineage[NEW.id]["parents"] == [remembered.spec_id]
        kept = json.loads(last_round_path(settings, "NIFTY", "5m").read_text("utf-8"))
        assert kept["lineage"][NEW.id]["model"] == f"ollama:{MODEL}"
        assert len(kept["failures"]) == 1
        # The next round is told what failed in this one.
        brief = generation_brief(settings, "NIFTY", "5m", None, None)
        assert brief.failures == tuple(kept["failures"])


def test_research_run_with_ollama_unreachable_exits_with_the_fix_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host = _closed_port_host()
    monkeypatch.setenv("TRADELOOP_OLLAMA_HOST", host)
    monkeypatch.setenv("COLUMNS", "2000")
    monkeypatch.setattr(
        sys, "argv", ["tradeloop", "research", "run", "--generator", "ollama", "--symbol", "NIFTY"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert exited.value.code != 0, output
    assert "Traceback" not in output and "Flow run" not in output
    assert host in output and "ollama serve" in output


@pytest.mark.usefixtures("prefect_harness", "nifty_market")
def test_the_research_flow_with_the_ollama_generator_evaluates_and_remembers_its_spec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradeloop.flows.research import ResearchParameters, research_flow

    with FakeOllamaServer([INVALID_FIELD, VALID], model=f"{MODEL}:latest") as server:
        monkeypatch.setenv("TRADELOOP_OLLAMA_HOST", server.host)
        monkeypatch.setenv("TRADELOOP_OLLAMA_MODEL", MODEL)
        parameters = ResearchParameters(
            symbols=["NIFTY"], generator="ollama", llm_count=1, folds=2, batch_size=4
        )
        result = research_flow(parameters)
    assert [row.spec_id for row in result.leaderboard] == [NEW.id]
    assert (result.evaluated, result.reused) == (1, 0)
    assert len(server.chat_requests) == 2  # the invalid reply was fed back, never evaluated
    settings = load_settings()
    (record,) = stores.strategy_memory(settings).best(10)
    assert record.spec_id == NEW.id and record.symbol == "NIFTY"
    kept = json.loads(last_round_path(settings, "NIFTY", "5m").read_text("utf-8"))
    assert kept["lineage"][NEW.id]["attempts"] == "2"

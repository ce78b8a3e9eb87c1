"""Adversarial replies from a loopback Ollama server, through the real `ollama` client.

Each ends in a valid call or a clean recorded failure of the right kind; nothing invalid is
executed; and the request that follows a bad reply stays under 64 KB (measured at the server).
Server trouble already covered in `test_ollama_planner.py` (a 5xx then success, a hang, a
dropped connection, a model not pulled) is not repeated here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from support.ollama_server import FakeOllamaServer, Late, RawReply
from tradeloop.adapters.ollama_planner import OllamaPlanner
from tradeloop.agent import AgentRunner, PlannerUnavailableError, ToolRegistry, tool
from tradeloop.agent.jsonextract import MAX_REPLY_CHARS

MODEL = "qwen2.5:0.5b-instruct"
REQUEST_LIMIT_BYTES = 64 * 1024
VALID = '{"tool": "moving_average", "args": {"values": [1, 2, 3, 4], "period": 2}}'
FINISH = '{"tool": "finish", "args": {"summary": "averages computed"}}'


@pytest.fixture
def executed() -> list[str]:
    return []


@pytest.fixture
def registry(executed: list[str]) -> ToolRegistry:
    @tool
    def moving_average(values: list[float], period: int) -> list[float]:
        """Simple moving average of a series.

        Args:
            values: The series, oldest first.
            period: How many values each average covers.
        """
        executed.append("moving_average")
        return [sum(values[i - period : i]) / period for i in range(period, len(values) + 1)]

    @tool(terminal=True)
    def finish(summary: str) -> dict[str, str]:
        """Finish the run.

        Args:
            summary: What was found.
        """
        executed.append("finish")
        return {"summary": summary}

    return ToolRegistry([moving_average, finish])


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer(model=MODEL) as running:
        yield running


def run(
    server: FakeOllamaServer, registry: ToolRegistry, *replies: object, timeout: float = 5.0
) -> tuple[str, list[float]]:
    server.add_replies(*replies)  # type: ignore[arg-type]
    waits: list[float] = []
    planner = OllamaPlanner(
        registry, model=MODEL, host=server.host, timeout_seconds=timeout, max_parse_retries=2
    )
    outcome = AgentRunner(planner, registry, sleep=waits.append).run("average the series")
    assert all(size < REQUEST_LIMIT_BYTES for size in server.chat_request_bytes)
    return outcome.outcome, waits


@pytest.mark.parametrize(
    "bad",
    [
        f"Sure! Here is the next step:\n{VALID}\nLet me know.",
        f"```json\n{VALID}\n```",
        f"{VALID}\n{FINISH}",
        f"<think>one</think><think>two</think>{VALID}",
        f"<think>still thinking {VALID}",
    ],
    ids=["prose", "fence", "two-objects", "two-think-blocks", "unclosed-think"],
)
def test_a_reply_that_is_not_exactly_one_object_is_fed_back_and_never_executed(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str], bad: str
) -> None:
    outcome, _ = run(server, registry, bad, bad, bad)
    assert outcome == "planner_error"
    assert executed == []
    assert len(server.chat_requests) == 3


def test_a_think_block_before_the_one_object_is_stripped_and_the_call_runs(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str]
) -> None:
    outcome, _ = run(server, registry, f"<think>average first</think>\n{VALID}", FINISH)
    assert outcome == "done" and executed == ["moving_average", "finish"]


def test_two_objects_then_a_valid_reply_runs_only_the_valid_one(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str]
) -> None:
    outcome, _ = run(server, registry, f"{VALID}{FINISH}", VALID, FINISH)
    assert outcome == "done" and executed == ["moving_average", "finish"]
    feedback = server.chat_requests[1]["messages"][-1]["content"]
    assert "more than one JSON object" in feedback


def test_a_retry_varies_decoding_and_a_first_ask_does_not(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str]
) -> None:
    """At temperature 0 the same prompt gets the same answer: only a retry is varied."""
    outcome, _ = run(server, registry, f"```json\n{VALID}\n```", VALID, FINISH)
    assert outcome == "done" and executed == ["moving_average", "finish"]
    first, retry, after = (request["options"] for request in server.chat_requests)
    assert first["temperature"] == 0 and "seed" not in first
    assert retry["temperature"] > 0 and retry["seed"] == 1
    assert after["temperature"] == 0 and "seed" not in after


def test_a_200_kb_reply_is_cut_and_the_next_request_stays_under_64_kb(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str]
) -> None:
    garbage = '{"tool": "moving_average", "args": {"values": [' + "1, " * 70_000
    assert len(garbage) > 200_000
    outcome, _ = run(server, registry, garbage, VALID, FINISH)
    assert outcome == "done" and executed == ["moving_average", "finish"]
    retry = json.dumps(server.chat_requests[1])
    assert len(retry) < REQUEST_LIMIT_BYTES
    assert retry.count("1, ") <= MAX_REPLY_CHARS // 3 + 1
    feedback = server.chat_requests[1]["messages"][-1]["content"]
    assert f"longer than {MAX_REPLY_CHARS} characters" in feedback and len(feedback) < 1_000


def test_a_reply_later_than_the_timeout_is_not_used_and_the_retry_is(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str]
) -> None:
    late = Late('{"tool": "finish", "args": {"summary": "too late"}}', seconds=1.0)
    outcome, waits = run(server, registry, late, VALID, FINISH, timeout=0.2)
    assert outcome == "done" and executed == ["moving_average", "finish"]
    assert len(waits) == 1  # the timeout was retried once by the runner


def test_the_timeout_error_names_its_length_and_setting(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(Late(VALID, seconds=1.0))
    planner = OllamaPlanner(registry, model=MODEL, host=server.host, timeout_seconds=0.2)
    with pytest.raises(PlannerUnavailableError, match=r"within 0\.2 s \(ollama_timeout_s"):
        planner.chat_model.complete([{"role": "user", "content": "x"}], registry.call_schema())


@pytest.mark.parametrize(
    "body",
    [
        RawReply(200, "<html><body>" + "proxy says hello " * 5_000 + "</body></html>", "text/html"),
        RawReply(502, "<html><body>" + "Bad Gateway " * 5_000 + "</body></html>", "text/html"),
        RawReply(200, "x" * 100_000, "text/plain"),
    ],
    ids=["html-200", "html-502", "not-json"],
)
def test_an_html_or_garbage_body_is_unavailable_with_a_short_message(
    server: FakeOllamaServer, registry: ToolRegistry, body: RawReply
) -> None:
    server.add_replies(body)
    planner = OllamaPlanner(registry, model=MODEL, host=server.host)
    with pytest.raises(PlannerUnavailableError) as caught:
        planner.chat_model.complete([{"role": "user", "content": "x"}], registry.call_schema())
    assert server.host in str(caught.value) and len(str(caught.value)) < 500


def test_an_html_error_page_then_success_ends_in_a_valid_run(
    server: FakeOllamaServer, registry: ToolRegistry, executed: list[str]
) -> None:
    page = RawReply(502, "<html>" + "Bad Gateway " * 5_000 + "</html>", "text/html")
    outcome, waits = run(server, registry, page, VALID, FINISH)
    assert outcome == "done" and executed == ["moving_average", "finish"] and waits

"""The Ollama planner through the real `ollama` client against a loopback Ollama server.

Server trouble is routed by who must act: a set-up the user must fix is a `ConfigError` naming
the fix; a server that may answer on a retry is a `PlannerUnavailableError`, which the runner
retries with backoff (its sleep is injected here, so nothing waits).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.ollama_server import (
    PROMPT_EVAL_COUNT,
    Drop,
    FakeOllamaServer,
    Hang,
    RawReply,
    completion_tokens,
    model_not_found,
)
from tradeloop.adapters.ollama_planner import OllamaPlanner
from tradeloop.agent import (
    AgentContext,
    AgentRunner,
    PlannerStepError,
    PlannerUnavailableError,
    ShortTermMemory,
    ToolRegistry,
    read_run,
    tool,
)
from tradeloop.app.agent import ollama_planner
from tradeloop.errors import ConfigError, TransientError
from tradeloop.settings import Settings

MODEL = "qwen2.5:7b-instruct"
NUM_CTX = 4096
VALID = '{"tool": "moving_average", "args": {"values": [1, 2, 3, 4], "period": 2}}'
FINISH = '{"tool": "finish", "args": {"summary": "averages computed"}}'


class CallLog:
    def __init__(self) -> None:
        self.calls: list[str] = []


@pytest.fixture
def call_log() -> CallLog:
    return CallLog()


@pytest.fixture
def registry(call_log: CallLog) -> ToolRegistry:
    @tool
    def moving_average(values: list[float], period: int) -> list[float]:
        """Simple moving average of a series.

        Args:
            values: The series, oldest first.
            period: How many values each average covers.
        """
        call_log.calls.append("moving_average")
        return [sum(values[i - period : i]) / period for i in range(period, len(values) + 1)]

    @tool(terminal=True)
    def finish(summary: str) -> dict[str, str]:
        """Finish the run.

        Args:
            summary: What was found.
        """
        call_log.calls.append("finish")
        return {"summary": summary}

    return ToolRegistry([moving_average, finish])


def make_planner(registry: ToolRegistry, host: str, **options: object) -> OllamaPlanner:
    settings: dict[str, object] = {"model": MODEL, "host": host, "num_ctx": NUM_CTX}
    settings.update(options)
    return OllamaPlanner(registry, **settings)  # type: ignore[arg-type]


def context(step_index: int = 0) -> AgentContext:
    return AgentContext(
        run_id="test-run", goal="average the series", step_index=step_index, max_steps=5
    )


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer(model=MODEL) as running:
        yield running


def test_plain_json_reply_becomes_a_validated_call(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(VALID)
    reply = make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert reply.call is not None
    assert reply.call.tool == "moving_average"
    assert reply.call.args == {"values": [1, 2, 3, 4], "period": 2}
    assert reply.attempts == 1
    assert reply.feedback == ()
    assert reply.prompt_tokens == PROMPT_EVAL_COUNT
    assert reply.completion_tokens == completion_tokens(VALID)


def test_request_carries_call_schema_temperature_zero_and_num_ctx(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(VALID)
    make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert server.paths == ["/api/chat"]
    body = server.chat_requests[0]
    assert body["model"] == MODEL
    assert body["stream"] is False
    assert body["format"] == registry.call_schema()
    assert [v["properties"]["tool"]["const"] for v in body["format"]["anyOf"]] == [
        "moving_average",
        "finish",
    ]
    assert body["options"]["temperature"] == 0
    assert body["options"]["num_ctx"] == NUM_CTX
    roles = [message["role"] for message in body["messages"]]
    assert roles == ["system", "user", "user"]  # system, goal, then the step counter last
    assert "moving_average" in body["messages"][0]["content"]
    assert "Goal: average the series" in body["messages"][1]["content"]
    assert body["messages"][2]["content"].startswith("This is step 1 of at most")


def test_json_wrapped_in_prose_is_fed_back_not_extracted(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(f"Sure! Here is the next step:\n```json\n{VALID}\n```\nLet me know.", VALID)
    reply = make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert reply.call is not None and reply.call.tool == "moving_average"
    assert len(server.chat_requests) == 2 and "starts with text" in reply.feedback[0]


def test_think_block_before_json_is_stripped(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    thinking = '<think>The user wants {"tool": "finish"} maybe? No, average first.</think>\n'
    server.add_replies(thinking + VALID)
    reply = make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert reply.call is not None and reply.call.tool == "moving_average"
    assert reply.raw_text.startswith("<think>")


def test_malformed_json_is_fed_back_then_the_valid_reply_is_used(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    malformed = '{"tool": "moving_average", "args": {"values": [1, 2], "period": 2'
    server.add_replies(malformed, VALID)
    reply = make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert reply.call is not None and reply.call.tool == "moving_average"
    assert reply.attempts == 2
    assert len(reply.feedback) == 1 and "never closed" in reply.feedback[0]
    retry_messages = server.chat_requests[1]["messages"]
    assert [message["role"] for message in retry_messages] == [
        "system",
        "user",
        "user",
        "assistant",
        "user",
    ]
    assert retry_messages[3]["content"] == malformed
    assert "could not be used" in retry_messages[4]["content"]
    assert reply.prompt_tokens == 2 * PROMPT_EVAL_COUNT
    assert reply.completion_tokens == completion_tokens(malformed) + completion_tokens(VALID)


def test_unknown_tool_is_fed_back_with_a_suggestion(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies('{"tool": "moving_averag", "args": {}}', VALID)
    reply = make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert reply.call is not None and reply.call.tool == "moving_average"
    assert "unknown tool 'moving_averag'" in reply.feedback[0]
    assert "Did you mean 'moving_average'?" in reply.feedback[0]
    assert (
        "Valid tools: moving_average, finish" in server.chat_requests[1]["messages"][-1]["content"]
    )


def test_wrong_argument_type_is_fed_back_in_short_form(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(
        '{"tool": "moving_average", "args": {"values": [1], "period": "abc"}}', VALID
    )
    reply = make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert reply.call is not None
    assert "args.period: Input should be a valid integer" in reply.feedback[0]
    assert "(got 'abc')" in reply.feedback[0]


def test_three_malformed_replies_fail_the_step_and_run_nothing(
    server: FakeOllamaServer, registry: ToolRegistry, call_log: CallLog, tmp_path: Path
) -> None:
    server.add_replies("not json", "{still not json", '["an", "array"]', VALID)
    planner = make_planner(registry, server.host, max_parse_retries=2)
    run = AgentRunner(planner, registry, run_dir=tmp_path).run("average the series")
    assert run.outcome == "planner_error"
    assert call_log.calls == []
    assert len(server.chat_requests) == 3  # one ask and two re-asks, then it gives up
    (step,) = run.steps
    assert step.error_type == "PlannerStepError"
    assert step.error is not None and "3 attempt(s)" in step.error
    assert len(step.planner_feedback) == 3
    assert step.planner_raw == '["an", "array"]'
    recorded = read_run(tmp_path / f"{run.run_id}.jsonl")
    assert recorded.outcome == "planner_error"
    assert recorded.steps[0].planner_feedback == step.planner_feedback


def test_planner_error_is_raised_directly_when_retries_are_exhausted(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies("nope", "nope again")
    planner = make_planner(registry, server.host, max_parse_retries=1)
    with pytest.raises(PlannerStepError, match="2 attempt"):
        planner.next_step(context(), ShortTermMemory())


def _unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_nothing_listening_at_the_host_is_unavailable_naming_the_host_and_ollama_serve(
    registry: ToolRegistry,
) -> None:
    host = f"http://127.0.0.1:{_unused_port()}"
    planner = make_planner(registry, host)
    with pytest.raises(PlannerUnavailableError) as caught:
        planner.next_step(context(), ShortTermMemory())
    message = str(caught.value)
    assert f"cannot connect to Ollama at {host}" in message
    assert "`ollama serve`" in message and "TRADELOOP_OLLAMA_HOST" in message
    with pytest.raises(PlannerUnavailableError, match="`ollama serve`"):
        planner.check_model()


def test_nothing_listening_ends_the_run_after_the_retries_with_the_fix(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    host = f"http://127.0.0.1:{_unused_port()}"
    waits: list[float] = []
    runner = AgentRunner(
        make_planner(registry, host), registry, run_dir=tmp_path, sleep=waits.append
    )
    run = runner.run("goal")
    # Retried (Ollama may be restarting), then the run ends with the fix.
    assert run.outcome == "planner_error" and len(waits) == 2
    assert run.error is not None and host in run.error and "`ollama serve`" in run.error
    step = read_run(tmp_path / f"{run.run_id}.jsonl").steps[0]
    assert step.error_type == "PlannerUnavailableError"


def test_a_model_that_is_not_pulled_is_a_config_error_saying_how_to_pull_it(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(model_not_found(MODEL))
    with pytest.raises(ConfigError, match=f"run `ollama pull {MODEL}`") as caught:
        make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert not isinstance(caught.value, TransientError)


def test_a_server_without_the_chat_api_is_a_config_error_naming_the_host(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(RawReply(404, "404 page not found", "text/plain"))
    with pytest.raises(ConfigError, match="refused the request: 404 page not found") as caught:
        make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert "TRADELOOP_OLLAMA_HOST" in str(caught.value)


def test_server_error_is_transient(server: FakeOllamaServer, registry: ToolRegistry) -> None:
    server.add_replies(RawReply(500, json.dumps({"error": "llama runner process has terminated"})))
    with pytest.raises(PlannerUnavailableError, match="llama runner process has terminated"):
        make_planner(registry, server.host).next_step(context(), ShortTermMemory())


def test_a_body_that_is_not_json_is_transient_and_names_the_host(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(RawReply(200, "<html>hello</html>", "text/html"))
    with pytest.raises(PlannerUnavailableError, match="not an Ollama chat response") as caught:
        make_planner(registry, server.host).next_step(context(), ShortTermMemory())
    assert server.host in str(caught.value)


def test_a_server_that_never_answers_times_out_as_unavailable(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(Hang())
    planner = make_planner(registry, server.host, timeout_seconds=0.2)
    with pytest.raises(
        PlannerUnavailableError, match=r"did not answer within 0\.2 s \(ollama_timeout_s"
    ):
        planner.next_step(context(), ShortTermMemory())


def test_a_dropped_connection_is_unavailable(
    server: FakeOllamaServer, registry: ToolRegistry
) -> None:
    server.add_replies(Drop())
    with pytest.raises(PlannerUnavailableError, match=f"the connection to Ollama at {server.host}"):
        make_planner(registry, server.host).next_step(context(), ShortTermMemory())


def test_server_errors_are_retried_a_bounded_number_of_times_then_the_run_ends_transient(
    server: FakeOllamaServer, registry: ToolRegistry, call_log: CallLog, tmp_path: Path
) -> None:
    overloaded = RawReply(503, json.dumps({"error": "server busy, please try again"}))
    server.add_replies(overloaded, overloaded, overloaded, VALID)
    waits: list[float] = []
    runner = AgentRunner(
        make_planner(registry, server.host),
        registry,
        run_dir=tmp_path,
        sleep=waits.append,
        planner_retries=2,
    )
    run = runner.run("average the series")
    assert run.outcome == "planner_error"
    assert len(server.chat_requests) == 3 and waits == [1.0, 2.0]
    assert call_log.calls == []
    (step,) = read_run(tmp_path / f"{run.run_id}.jsonl").steps
    assert step.error_type == "PlannerUnavailableError" and len(step.planner_retried) == 2
    assert run.error is not None and "server busy" in run.error
    assert "a transient failure, still there after 3 attempt(s)" in run.error


@pytest.mark.parametrize(
    "trouble",
    [RawReply(500, json.dumps({"error": "llama runner process has terminated"})), Hang(), Drop()],
    ids=["5xx", "timeout", "dropped"],
)
def test_a_run_rides_out_a_passing_server_failure(
    server: FakeOllamaServer,
    registry: ToolRegistry,
    call_log: CallLog,
    trouble: RawReply | Hang | Drop,
) -> None:
    server.add_replies(trouble, VALID, FINISH)
    waits: list[float] = []
    planner = make_planner(registry, server.host, timeout_seconds=0.2)
    run = AgentRunner(planner, registry, sleep=waits.append).run("average the series")
    assert run.outcome == "done" and call_log.calls == ["moving_average", "finish"]
    assert len(run.steps[0].planner_retried) == 1 and waits == [1.0]


def test_check_model_accepts_a_pulled_model_and_names_the_fix_otherwise(
    registry: ToolRegistry,
) -> None:
    with FakeOllamaServer(model=MODEL, pulled_models=[MODEL]) as running:
        make_planner(registry, running.host).check_model()
        assert running.paths == ["/api/tags"]
    with (
        FakeOllamaServer(model=MODEL, pulled_models=["llama3.2:latest"]) as running,
        pytest.raises(ConfigError, match=rf"`ollama pull {MODEL}`.*llama3.2:latest"),
    ):
        make_planner(registry, running.host).check_model()


def test_a_model_setting_that_is_empty_is_a_config_error(registry: ToolRegistry) -> None:
    with pytest.raises(ConfigError, match="TRADELOOP_OLLAMA_MODEL"):
        make_planner(registry, "http://127.0.0.1:1", model="")


def test_host_comes_from_settings_then_ollama_host(
    server: FakeOllamaServer,
    registry: ToolRegistry,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = Settings(ollama_host=server.host, ollama_model=MODEL, data_dir=tmp_path)
    assert ollama_planner(settings, registry).host == server.host
    monkeypatch.setenv("OLLAMA_HOST", server.host)
    from_environment = ollama_planner(
        Settings(ollama_host=None, ollama_model=MODEL, data_dir=tmp_path), registry
    )
    assert from_environment.host == server.host
    server.add_replies(VALID)
    assert from_environment.next_step(context(), ShortTermMemory()).call is not None


def test_a_full_run_reaches_done_and_records_tokens(
    server: FakeOllamaServer, registry: ToolRegistry, call_log: CallLog, tmp_path: Path
) -> None:
    server.add_replies(VALID, "<think>done now</think>" + FINISH)
    run = AgentRunner(make_planner(registry, server.host), registry, run_dir=tmp_path).run(
        "average the series"
    )
    assert run.outcome == "done"
    assert call_log.calls == ["moving_average", "finish"]
    assert run.steps[0].result is not None and run.steps[0].result.data == [1.5, 2.5, 3.5]
    assert run.final_result is not None and run.final_result.data == {
        "summary": "averages computed"
    }
    history = server.chat_requests[1]["messages"][2:4]  # the first step's call, then its result
    assert "moving_average" in history[0]["content"] and "[1.5,2.5,3.5]" in history[1]["content"]
    recorded = read_run(tmp_path / f"{run.run_id}.jsonl")
    assert [step.prompt_tokens for step in recorded.steps] == [PROMPT_EVAL_COUNT] * 2
    assert recorded.header.planner == f"ollama:{MODEL}"

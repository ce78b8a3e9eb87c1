"""The Ollama planner: the official `ollama` client behind the agent's `ChatModel` port.

Each step is one `/api/chat` call with the registry's call schema as `format=` (Ollama then
constrains decoding to a valid call), temperature 0 and an explicit `num_ctx`. Every vendor
error is translated here, by who must act, so no `ollama` or `httpx` exception reaches the runner:

- the user must fix the set-up -> `ConfigError` naming the fix: the model is not pulled (404 ->
  `ollama pull <model>`), or the server refuses the request (another 4xx);
- a retry may work -> `PlannerUnavailableError` (a `TransientError`) naming the host and the
  fix: nothing listens at the host (`ollama serve`, or point TRADELOOP_OLLAMA_HOST at it; it may
  be restarting), a timeout, a 5xx or 429, a dropped connection, a body that is not Ollama's
  JSON (an HTML page). This adapter does not retry: the runner retries an unavailable planner
  with backoff.

A server's error text is cut to 200 characters and a reply to `MAX_REPLY_CHARS` + 1 (which the
parser refuses), so nothing a server sends is echoed whole into an error, a record, or the next
request. The timeout (`ollama_timeout_s`) is named in the error it causes.
- anything else is our bug and is raised as is.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import ollama
from pydantic import ValidationError

from tradeloop.agent.chat import (
    DEFAULT_MAX_PARSE_RETRIES,
    ChatCompletion,
    ChatMessage,
    ChatPlanner,
    Decoding,
)
from tradeloop.agent.jsonextract import MAX_REPLY_CHARS
from tradeloop.agent.planner import PlannerUnavailableError
from tradeloop.agent.registry import ToolRegistry
from tradeloop.errors import ConfigError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_NUM_CTX = 8192
DEFAULT_TIMEOUT_SECONDS = 90.0  # as `ollama_timeout_s` (see settings for why)
_DETAIL_CHARS = 200  # of a server's error text: an HTML error page is not echoed whole


def resolve_host(configured: str | None) -> str:
    """The host in use: the setting, else `$OLLAMA_HOST`, else Ollama's default."""
    return configured or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST


class OllamaChatModel:
    """One non-streaming chat call per completion, with vendor errors translated."""

    def __init__(
        self,
        *,
        model: str,
        host: str | None = None,
        num_ctx: int = DEFAULT_NUM_CTX,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        client: ollama.Client | None = None,
    ) -> None:
        if not model:
            raise ConfigError("an Ollama model name is needed: set TRADELOOP_OLLAMA_MODEL")
        self.model = model
        self.host = resolve_host(host)
        self.num_ctx = num_ctx
        self.timeout_seconds = timeout_seconds
        self._client = client or ollama.Client(host=self.host, timeout=timeout_seconds)

    @property
    def name(self) -> str:
        return f"ollama:{self.model}"

    def complete(
        self,
        messages: Sequence[ChatMessage],
        response_schema: dict[str, Any],
        decoding: Decoding | None = None,
    ) -> ChatCompletion:
        """One chat call at temperature 0; a retry's `decoding` (temperature, seed) varies it."""
        options: dict[str, Any] = {"temperature": 0, "num_ctx": self.num_ctx}
        if decoding is not None:
            options |= decoding.options()
        try:
            response = self._client.chat(
                model=self.model,
                messages=[dict(message) for message in messages],
                format=response_schema,
                options=options,
            )
        except Exception as exc:
            raise self._translate(exc) from exc
        text = response.message.content or ""
        return ChatCompletion(
            # A runaway reply is cut: the parser refuses it anyway, and it must not be echoed
            # whole into the next request or the run's record.
            text=text if len(text) <= MAX_REPLY_CHARS else text[: MAX_REPLY_CHARS + 1],
            prompt_tokens=response.prompt_eval_count,
            completion_tokens=response.eval_count,
        )

    def check_model(self) -> None:
        """Fail early, with the fix, when no server answers at the host
        (`PlannerUnavailableError`) or the model is not pulled (`ConfigError`)."""
        try:
            listed = self._client.list()
        except Exception as exc:
            raise self._translate(exc) from exc
        pulled = {entry.model for entry in listed.models if entry.model}
        if self.model not in pulled and f"{self.model}:latest" not in pulled:
            available = ", ".join(sorted(pulled)) or "none"
            raise self._not_pulled(f"pulled models: {available}")

    def _not_pulled(self, detail: str) -> ConfigError:
        return ConfigError(
            f"model '{self.model}' is not pulled on Ollama at {self.host}: run "
            f"`ollama pull {self.model}` ({detail})"
        )

    def _translate(self, exc: Exception) -> ConfigError | PlannerUnavailableError:
        if isinstance(exc, ollama.ResponseError):
            return self._translate_response_error(exc)
        if isinstance(exc, ConnectionError):  # the client's name for httpx.ConnectError
            # A service that is not running is operational (exit 1), like an unreachable
            # database; the runner retries it in case Ollama is restarting.
            return PlannerUnavailableError(
                f"cannot connect to Ollama at {self.host}: start it with `ollama serve`, or set "
                "TRADELOOP_OLLAMA_HOST (or OLLAMA_HOST) to the address where it runs"
            )
        if isinstance(exc, httpx.TimeoutException):
            return PlannerUnavailableError(
                f"Ollama at {self.host} did not answer within {self.timeout_seconds:g} s "
                f"(ollama_timeout_s; {type(exc).__name__}); a first call may be loading the "
                "model: retry, or raise TRADELOOP_OLLAMA_TIMEOUT_S"
            )
        if isinstance(exc, httpx.TransportError):
            return PlannerUnavailableError(
                f"the connection to Ollama at {self.host} failed "
                f"({type(exc).__name__}: {_cut(str(exc))})"
            )
        if isinstance(exc, json.JSONDecodeError | ValidationError):
            return PlannerUnavailableError(
                f"the server at {self.host} answered with something that is not an Ollama "
                f"chat response ({type(exc).__name__}); if this lasts, check that "
                "TRADELOOP_OLLAMA_HOST points at Ollama"
            )
        raise exc  # not a vendor failure we know: our bug, raised as is

    def _translate_response_error(
        self, exc: ollama.ResponseError
    ) -> ConfigError | PlannerUnavailableError:
        detail = f"{_cut(str(exc.error))} (HTTP {exc.status_code})"
        if exc.status_code >= 500 or exc.status_code == 429:
            return PlannerUnavailableError(f"Ollama at {self.host} failed: {detail}")
        if exc.status_code == 404 and "model" in str(exc.error).lower():
            return self._not_pulled(detail)
        return ConfigError(
            f"Ollama at {self.host} refused the request: {detail}; check that "
            "TRADELOOP_OLLAMA_HOST points at Ollama (0.5 or later, for JSON-schema output) and "
            f"that '{self.model}' is a chat model"
        )


def _cut(text: str) -> str:
    """A server's error text, whitespace folded, at most `_DETAIL_CHARS` characters."""
    folded = " ".join(text.split())
    if len(folded) <= _DETAIL_CHARS:
        return folded
    return folded[:_DETAIL_CHARS] + f"… ({len(folded)} chars)"


class OllamaPlanner(ChatPlanner):
    """A `ChatPlanner` talking to a local Ollama server."""

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        model: str,
        host: str | None = None,
        num_ctx: int = DEFAULT_NUM_CTX,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_parse_retries: int = DEFAULT_MAX_PARSE_RETRIES,
        system_prompt: str | None = None,
        client: ollama.Client | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.chat_model = OllamaChatModel(
            model=model, host=host, num_ctx=num_ctx, timeout_seconds=timeout_seconds, client=client
        )
        super().__init__(
            self.chat_model,
            registry,
            system_prompt=system_prompt,
            max_parse_retries=max_parse_retries,
            clock=clock,
        )

    @property
    def host(self) -> str:
        return self.chat_model.host

    def check_model(self) -> None:
        self.chat_model.check_model()

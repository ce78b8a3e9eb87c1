"""The Ollama planner: the official `ollama` client behind the agent's `ChatModel` port.

Each step is one `/api/chat` call with the registry's call schema as `format=` (Ollama then
constrains decoding to a valid call), temperature 0 and an explicit `num_ctx`. Every vendor
error is translated here, so no `ollama` or `httpx` exception reaches the runner:

- the server is unreachable or slow (connection refused, timeout, 5xx) ->
  `PlannerUnavailableError` (a `PlannerError` and a `TransientError`), naming the host;
- the model is not pulled (404) -> `PlannerError` saying `ollama pull <model>`;
- any other refusal or a body that is not Ollama's JSON -> `PlannerError` naming the host.
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
)
from tradeloop.agent.planner import PlannerUnavailableError
from tradeloop.agent.registry import ToolRegistry
from tradeloop.errors import PlannerError
from tradeloop.settings import Settings

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_NUM_CTX = 8192
DEFAULT_TIMEOUT_SECONDS = 120.0


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
            raise ValueError("an Ollama model name is needed (setting ollama_model)")
        self.model = model
        self.host = resolve_host(host)
        self.num_ctx = num_ctx
        self._client = client or ollama.Client(host=self.host, timeout=timeout_seconds)

    @property
    def name(self) -> str:
        return f"ollama:{self.model}"

    def complete(
        self, messages: Sequence[ChatMessage], response_schema: dict[str, Any]
    ) -> ChatCompletion:
        try:
            response = self._client.chat(
                model=self.model,
                messages=[dict(message) for message in messages],
                format=response_schema,
                options={"temperature": 0, "num_ctx": self.num_ctx},
            )
        except Exception as exc:
            raise self._translate(exc) from exc
        return ChatCompletion(
            text=response.message.content or "",
            prompt_tokens=response.prompt_eval_count,
            completion_tokens=response.eval_count,
        )

    def check_model(self) -> None:
        """Fail early, with the fix, when the server is down or the model is not pulled."""
        try:
            listed = self._client.list()
        except Exception as exc:
            raise self._translate(exc) from exc
        pulled = {entry.model for entry in listed.models if entry.model}
        if self.model not in pulled and f"{self.model}:latest" not in pulled:
            available = ", ".join(sorted(pulled)) or "none"
            raise PlannerError(
                f"model '{self.model}' is not pulled on Ollama at {self.host}: run "
                f"`ollama pull {self.model}` (pulled models: {available})"
            )

    def _hint(self) -> str:
        return (
            f"is Ollama running at {self.host} (`ollama serve`, or set TRADELOOP_OLLAMA_HOST / "
            f"OLLAMA_HOST), and is the model pulled (`ollama pull {self.model}`)?"
        )

    def _translate(self, exc: Exception) -> PlannerError:
        if isinstance(exc, ollama.ResponseError):
            return self._translate_response_error(exc)
        if isinstance(exc, httpx.TimeoutException):
            return PlannerUnavailableError(
                f"Ollama at {self.host} did not answer in time ({type(exc).__name__}): "
                f"{self._hint()} A first call may also be loading the model; retry or raise "
                "ollama_timeout_s."
            )
        if isinstance(exc, ConnectionError | httpx.TransportError):
            return PlannerUnavailableError(f"cannot reach Ollama at {self.host}: {self._hint()}")
        if isinstance(exc, json.JSONDecodeError | ValidationError):
            return PlannerError(
                f"the server at {self.host} answered with something that is not an Ollama "
                f"chat response ({type(exc).__name__}): {self._hint()}"
            )
        raise exc  # not a vendor failure we know: our bug, raised as is

    def _translate_response_error(self, exc: ollama.ResponseError) -> PlannerError:
        detail = f"{exc.error} (HTTP {exc.status_code})"
        if exc.status_code == 404 or "not found" in str(exc.error).lower():
            return PlannerError(
                f"model '{self.model}' is not available on Ollama at {self.host}: "
                f"run `ollama pull {self.model}` ({detail})"
            )
        if exc.status_code >= 500 or exc.status_code == 429:
            return PlannerUnavailableError(
                f"Ollama at {self.host} failed: {detail}; {self._hint()}"
            )
        return PlannerError(f"Ollama at {self.host} refused the request: {detail}")


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

    @classmethod
    def from_settings(
        cls, settings: Settings, registry: ToolRegistry, **overrides: Any
    ) -> OllamaPlanner:
        """Host, model, context size and timeout from the `ollama_*` settings."""
        options: dict[str, Any] = {
            "model": settings.ollama_model,
            "host": settings.ollama_host,
            "num_ctx": settings.ollama_num_ctx,
            "timeout_seconds": settings.ollama_timeout_s,
        }
        options.update(overrides)
        return cls(registry, **options)

    @property
    def host(self) -> str:
        return self.chat_model.host

    def check_model(self) -> None:
        self.chat_model.check_model()

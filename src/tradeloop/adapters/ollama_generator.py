"""The LLM strategy generator: Ollama writes new `StrategySpec`s, one per chat request.

Each request is one `/api/chat` call through `OllamaChatModel` (the planner's client: host
resolution, temperature 0, an explicit `num_ctx`, the timeout, and every vendor error translated
into ours: `ConfigError` for a set-up to fix, `PlannerUnavailableError` for a server that may
answer on a retry). `format=` is the spec's JSON schema, given by the composition root
(`tradeloop.app.generation`). What is asked, what is accepted and what is fed back is the pure
`tradeloop.domain.strategy.generation`; a retry after a refused reply varies the decoding
(`retry_decoding`), since at temperature 0 the same prompt gets the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ollama

from tradeloop.adapters.ollama_planner import (
    DEFAULT_NUM_CTX,
    DEFAULT_TIMEOUT_SECONDS,
    OllamaChatModel,
)
from tradeloop.agent.chat import retry_decoding
from tradeloop.domain.strategy.generation import (
    DEFAULT_MAX_RETRIES,
    Generation,
    GenerationBrief,
    Message,
    generate,
)


class LLMGenerator:
    """New specs from a model served by Ollama, with lineage; invalid replies are never used."""

    def __init__(
        self,
        *,
        model: str,
        response_schema: dict[str, Any],
        host: str | None = None,
        num_ctx: int = DEFAULT_NUM_CTX,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        client: ollama.Client | None = None,
    ) -> None:
        self.chat_model = OllamaChatModel(
            model=model, host=host, num_ctx=num_ctx, timeout_seconds=timeout_seconds, client=client
        )
        self.response_schema = response_schema
        self.max_retries = max_retries

    @property
    def host(self) -> str:
        return self.chat_model.host

    @property
    def name(self) -> str:
        """`ollama:<model>`: the model named in each spec's lineage."""
        return self.chat_model.name

    def check_model(self) -> None:
        """Fail at once, with the fix, when nothing answers at the host
        (`PlannerUnavailableError`: `ollama serve`) or the model is not pulled (`ConfigError`:
        `ollama pull MODEL`)."""
        self.chat_model.check_model()

    def generate(self, brief: GenerationBrief, count: int) -> Generation:
        """`count` new specs for `brief` (fewer when the model fails some: see `failures`)."""
        return generate(self._ask, brief, count, model=self.name, max_retries=self.max_retries)

    def _ask(self, messages: Sequence[Message], retry: int) -> str:
        decoding = retry_decoding(retry) if retry else None
        completion = self.chat_model.complete(
            list(messages),
            self.response_schema,
            decoding,
        )
        return completion.text

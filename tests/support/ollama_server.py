"""A loopback HTTP server that speaks Ollama's `/api/chat` and `/api/tags`, replaying a script.

The real `ollama` client talks to it exactly as it would to `ollama serve`: non-streaming chat
responses carry the same fields (`message`, `done`, `done_reason`, durations and token counts).
Each chat request takes the next scripted reply; every request body is kept for assertions.
Besides replies, a script may hold an HTTP error or a body that is not Ollama's (`RawReply`), a
request left unanswered until the client times out (`Hang`), or a connection closed without an
answer (`Drop`), or a reply sent after a delay (`Late`). With no scripted reply left the server
answers 500. The size of each chat request body is kept (`chat_request_bytes`).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATED_AT = "2025-01-02T03:45:00.000000Z"
PROMPT_EVAL_COUNT = 120


@dataclass(frozen=True)
class RawReply:
    """An HTTP answer sent as is: an error status, or a body that is not Ollama's JSON."""

    status: int
    body: str
    content_type: str = "application/json"


@dataclass(frozen=True)
class Hang:
    """Do not answer until the server stops: the client's timeout must fire."""


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering, as a server that crashed mid-request does."""


@dataclass(frozen=True)
class Late:
    """Answer `content` only after `seconds`: past a client timeout shorter than that."""

    content: str
    seconds: float


Reply = str | RawReply | Hang | Drop | Late


def model_not_found(model: str) -> RawReply:
    """Ollama's answer when `model` is not pulled."""
    return RawReply(404, json.dumps({"error": f'model "{model}" not found, try pulling it first'}))


def chat_response(model: str, content: str) -> dict[str, Any]:
    """The body Ollama returns for a non-streaming `/api/chat` call."""
    return {
        "model": model,
        "created_at": CREATED_AT,
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_250_000_000,
        "load_duration": 50_000_000,
        "prompt_eval_count": PROMPT_EVAL_COUNT,
        "prompt_eval_duration": 400_000_000,
        "eval_count": completion_tokens(content),
        "eval_duration": 800_000_000,
    }


def completion_tokens(content: str) -> int:
    """The fake tokenizer: one token per four characters, at least one."""
    return max(1, len(content) // 4)


class FakeOllamaServer:
    """`with FakeOllamaServer(["{...}"]) as server: Client(host=server.host)`."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        model: str = "test-model:latest",
        pulled_models: Iterable[str] | None = None,
    ) -> None:
        self.model = model
        self.pulled_models = list(pulled_models) if pulled_models is not None else [model]
        self._replies: deque[Reply] = deque(replies)
        self.chat_requests: list[dict[str, Any]] = []
        self.chat_request_bytes: list[int] = []
        self.paths: list[str] = []
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the next poll, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def host(self) -> str:
        address, port = self._server.server_address[:2]
        return f"http://{address!s}:{port}"

    def add_replies(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def __enter__(self) -> FakeOllamaServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return RawReply(500, json.dumps({"error": "fake server: no scripted reply left"}))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return

            def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
                encoded = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def do_GET(self) -> None:
                fake.paths.append(self.path)
                if self.path == "/api/tags":
                    models = [
                        {
                            "name": name,
                            "model": name,
                            "modified_at": CREATED_AT,
                            "size": 4_683_087_332,
                            "digest": "0" * 64,
                            "details": {
                                "format": "gguf",
                                "family": "qwen2",
                                "parameter_size": "7.6B",
                                "quantization_level": "Q4_K_M",
                            },
                        }
                        for name in fake.pulled_models
                    ]
                    self._send(200, json.dumps({"models": models}))
                elif self.path == "/api/version":
                    self._send(200, json.dumps({"version": "0.9.0"}))
                else:
                    self._send(404, "404 page not found", "text/plain")

            def do_POST(self) -> None:
                fake.paths.append(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/api/chat":
                    self._send(404, "404 page not found", "text/plain")
                    return
                fake.chat_requests.append(body)
                fake.chat_request_bytes.append(length)
                reply = fake._next_reply()
                if isinstance(reply, Hang):
                    fake._released.wait()
                    return
                if isinstance(reply, Late):
                    if fake._released.wait(reply.seconds):
                        return
                    reply = reply.content
                if isinstance(reply, Drop):
                    self.close_connection = True
                    return
                if isinstance(reply, RawReply):
                    self._send(reply.status, reply.body, reply.content_type)
                    return
                self._send(200, json.dumps(chat_response(body.get("model", fake.model), reply)))

        return Handler

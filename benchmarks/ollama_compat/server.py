"""A small Ollama-compatible HTTP server for one GGUF model, run on the CPU through xllamacpp.

    python benchmarks/ollama_compat/server.py --model .tradeloop/models/m.gguf --port 0 \
        --ready-file .tmp/server.json

It speaks the part of Ollama's API that the `ollama` Python client uses for tradeloop's planner:

- `POST /api/chat`, non-streaming: `messages`, `format` (a JSON schema, or "json"), and
  `options.temperature`, `seed`, `num_predict`, `num_ctx`, `top_p`, `top_k`, `stop`. The reply has
  Ollama's shape (`model`, `created_at`, `message`, `done`, `done_reason`, `total_duration`,
  `prompt_eval_count`, `prompt_eval_duration`, `eval_count`, `eval_duration`), with real timings;
- `GET /api/tags`, `POST /api/show`, `GET /api/version`.

How it drives llama.cpp: `xllamacpp.Server(CommonParams)` loads the model once and runs
llama.cpp's server core in-process (no HTTP of its own). A chat is formatted here in the model's
ChatML and answered by `handle_completions(dict)`, with llama.cpp's `timings`: its chat endpoint
would parse each reply against the template's tool-call formats and fail a reply the token cap
cut short. An Ollama `format` schema becomes the request's `json_schema`, which llama.cpp
compiles to an llguidance grammar that constrains sampling token by token, with `oneOf` read as
`anyOf` (llguidance refuses `oneOf` otherwise, and an uncompiled schema constrains nothing) and
fixed whitespace; `format: "json"` becomes `response_format: {"type": "json_object"}`.

Where it differs from `ollama serve`, on purpose:
- the context window is fixed when the model loads (`--ctx`): a request asking for a larger
  `num_ctx` is refused (400) naming `--ctx`, and a prompt longer than the window is refused by
  llama.cpp (400), where Ollama would reload or truncate;
- with no `num_predict`, generation stops after `--num-predict` tokens (Ollama: unlimited), so
  a slow CPU cannot be held by one endless reply; `done_reason` is then "length";
- one request is decoded at a time; others wait their turn;
- a request llama.cpp fails is answered 500 with its message, as Ollama answers a runner error.

At start-up it measures prompt and generation speed (tokens per second) on a fixed prompt,
prints them and writes them to `--ready-file` with the host; `/api/show` shows them next to the
speed over every chat served so far (`tradeloop.served_*` in `model_info`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import xllamacpp

DEFAULT_NAME = "qwen2.5-coder:0.5b-instruct-q4_K_M"
MEASURE_SYSTEM = (
    "You are a careful research assistant for index trading strategies. "
    "Answer briefly and precisely. "
) * 12
MEASURE_USER = "List five technical indicators, one per line, with one sentence on each."
MEASURE_TOKENS = 48


def chatml_prompt(messages: list[dict[str, str]]) -> str:
    """The messages in Qwen's ChatML chat format, ending where the assistant's reply starts."""
    turns = "".join(
        f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n" for message in messages
    )
    return turns + "<|im_start|>assistant\n"


class ChatError(Exception):
    """A request this server refuses: sent back as Ollama does, `{"error": ...}` with a status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Engine:
    """The loaded model: one chat completion at a time, in Ollama's terms."""

    def __init__(self, model_path: Path, name: str, *, ctx: int, threads: int, num_predict: int):
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = ctx
        params.n_parallel = 1  # one slot: the whole window serves one conversation
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        # Not `force_pure_content_parser`: it also switches off the grammar a `format` schema
        # compiles to, and the model then writes whatever it likes (checked). Chats go through
        # the plain completion endpoint instead (`_complete`).
        self._server = xllamacpp.Server(params)
        self._lock = threading.Lock()
        self.model_path = model_path
        self.name = name
        self.ctx = ctx
        self.num_predict = num_predict
        self.speed: dict[str, float] = {}
        self.served = {
            "requests": 0,
            "prompt_n": 0,
            "prompt_ms": 0.0,
            "predicted_n": 0,
            "predicted_ms": 0.0,
        }

    def measure(self) -> dict[str, float]:
        """Prompt and generation tokens per second on a fixed prompt, after a warm-up call
        (the first decode pages the weights in and runs several times slower)."""
        warm_up = {"role": "user", "content": "Count from one to twenty."}
        self._complete({"messages": [warm_up], "max_tokens": MEASURE_TOKENS, "temperature": 0})
        answer = self._complete(
            {
                "messages": [
                    {"role": "system", "content": MEASURE_SYSTEM},
                    {"role": "user", "content": MEASURE_USER},
                ],
                "max_tokens": MEASURE_TOKENS,
                "temperature": 0,
                "cache_prompt": False,
            }
        )
        timings = answer["timings"]
        self.speed = {
            "prompt_tokens": timings["prompt_n"],
            "prompt_tokens_per_second": round(timings["prompt_per_second"], 2),
            "generated_tokens": timings["predicted_n"],
            "generation_tokens_per_second": round(timings["predicted_per_second"], 2),
        }
        return self.speed

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """An Ollama `/api/chat` body in, Ollama's non-streaming response out."""
        model = body.get("model")
        if model not in (self.name, f"{self.name}:latest"):
            raise ChatError(404, f'model "{model}" not found, try pulling it first')
        if body.get("stream", True):
            raise ChatError(400, "this server answers only non-streaming chat (stream: false)")
        started = time.perf_counter()
        answer = self._complete(self._request(body))
        choice = answer["choices"][0]
        timings, usage = answer["timings"], answer["usage"]
        self._count(timings)
        return {
            "model": model,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message": {"role": "assistant", "content": choice["message"].get("content") or ""},
            "done": True,
            "done_reason": "length" if choice.get("finish_reason") == "length" else "stop",
            "total_duration": int((time.perf_counter() - started) * 1e9),
            "load_duration": 0,
            "prompt_eval_count": usage["prompt_tokens"],
            "prompt_eval_duration": int(timings["prompt_ms"] * 1e6),
            "eval_count": usage["completion_tokens"],
            "eval_duration": int(timings["predicted_ms"] * 1e6),
        }

    def _count(self, timings: dict[str, Any]) -> None:
        with self._lock:
            self.served["requests"] += 1
            for key in ("prompt_n", "prompt_ms", "predicted_n", "predicted_ms"):
                self.served[key] += timings[key]

    def served_speed(self) -> dict[str, float]:
        """Tokens per second over every chat answered so far (prompt tokens read from the
        prompt cache are not counted: llama.cpp's `prompt_n` is what it had to compute)."""
        served = self.served
        return {
            "served_requests": served["requests"],
            "served_prompt_tokens_per_second": _rate(served["prompt_n"], served["prompt_ms"]),
            "served_generation_tokens_per_second": _rate(
                served["predicted_n"], served["predicted_ms"]
            ),
        }

    def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("options") or {}
        num_ctx = options.get("num_ctx")
        if num_ctx is not None and num_ctx > self.ctx:
            raise ChatError(
                400,
                f"num_ctx {num_ctx} is larger than the loaded context window ({self.ctx}): "
                "restart the server with a larger --ctx",
            )
        num_predict = options.get("num_predict")
        request: dict[str, Any] = {
            "messages": [
                {"role": message.get("role", "user"), "content": message.get("content") or ""}
                for message in body.get("messages") or []
            ],
            "max_tokens": num_predict if num_predict and num_predict > 0 else self.num_predict,
        }
        for ollama_name, llama_name in (
            ("temperature", "temperature"),
            ("seed", "seed"),
            ("top_p", "top_p"),
            ("top_k", "top_k"),
            ("stop", "stop"),
            ("repeat_penalty", "repeat_penalty"),
        ):
            if options.get(ollama_name) is not None:
                request[llama_name] = options[ollama_name]
        output_format = body.get("format")
        if isinstance(output_format, dict):
            # Compiled to an llguidance grammar by llama.cpp. llguidance refuses `oneOf` (and
            # then constrains nothing, silently): `coerce_one_of` reads it as `anyOf`, which is
            # what llama.cpp's own converter, Ollama's, does. Without fixed whitespace the
            # grammar lets a small model emit spaces until the token cap.
            guidance = {"whitespace_flexible": False, "coerce_one_of": True}
            schema = {**output_format, "x-guidance": guidance}
            request["json_schema"] = schema
        elif output_format == "json":
            request["response_format"] = {"type": "json_object"}
        elif output_format:
            raise ChatError(400, f"format must be a JSON schema or 'json', got {output_format!r}")
        return request

    def _complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """A chat request answered through llama.cpp's plain completion with the ChatML prompt
        built here. Its chat endpoint parses every reply against the template's own formats
        and fails a reply the token cap cut short ("peg-native format", HTTP 500); Ollama
        returns such a reply as it is, with done_reason "length", and so does this."""
        completion = {key: value for key, value in request.items() if key != "messages"}
        completion["prompt"] = chatml_prompt(request["messages"])
        with self._lock:
            try:
                answer = self._server.handle_completions(completion)
            except RuntimeError as exc:  # llama.cpp failed this request; the server goes on
                raise ChatError(500, f"llama.cpp: {exc}") from exc
        if "error" in answer:
            error = answer["error"]
            raise ChatError(int(error.get("code", 500)), str(error.get("message", error)))
        choice = answer["choices"][0]
        message = {"role": "assistant", "content": choice.get("text") or ""}
        return {**answer, "choices": [{**choice, "message": message}]}

    def tags(self) -> dict[str, Any]:
        return {
            "models": [
                {
                    "name": self.name,
                    "model": self.name,
                    "modified_at": datetime.fromtimestamp(self.model_path.stat().st_mtime, UTC)
                    .isoformat()
                    .replace("+00:00", "Z"),
                    "size": self.model_path.stat().st_size,
                    "digest": "",
                    "details": self._details(),
                }
            ]
        }

    def show(self, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model") or body.get("name")
        if model not in (self.name, f"{self.name}:latest"):
            raise ChatError(404, f"model '{model}' not found")
        return {
            "modelfile": f"FROM {self.model_path}",
            "parameters": f"num_ctx {self.ctx}\nnum_predict {self.num_predict}",
            "template": "(the GGUF's chat template)",
            "details": self._details(),
            "model_info": {
                "general.context_length": self.ctx,
                **{
                    f"tradeloop.{key}": value
                    for key, value in {**self.speed, **self.served_speed()}.items()
                },
            },
            "capabilities": ["completion"],
        }

    def _details(self) -> dict[str, Any]:
        return {
            "format": "gguf",
            "family": "qwen2",
            "parameter_size": "0.5B",
            "quantization_level": "Q4_K_M",
        }


def _rate(tokens: float, milliseconds: float) -> float:
    return round(tokens / milliseconds * 1000, 2) if milliseconds else 0.0


def handler_for(engine: Engine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            encoded = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._send(200, engine.tags())
            elif self.path == "/api/version":
                self._send(200, {"version": "0.9.0-tradeloop-bench"})
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/chat":
                    self._send(200, engine.chat(body))
                elif self.path == "/api/show":
                    self._send(200, engine.show(body))
                else:
                    self._send(404, {"error": f"no route {self.path}"})
            except json.JSONDecodeError as exc:
                self._send(400, {"error": f"the body is not JSON: {exc}"})
            except ChatError as exc:
                self._send(exc.status, {"error": str(exc)})

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="The GGUF file to serve.")
    parser.add_argument("--name", default=DEFAULT_NAME, help="The model name clients ask for.")
    parser.add_argument("--port", type=int, default=11434, help="0: any free loopback port.")
    parser.add_argument("--ctx", type=int, default=8192, help="Context window, in tokens.")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--num-predict", type=int, default=512, help="Token cap per reply.")
    parser.add_argument("--ready-file", type=Path, help="Written once serving: host and speed.")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"no model at {args.model}: run `make bench-agent` to assemble it", file=sys.stderr)
        return 2
    engine = Engine(
        args.model, args.name, ctx=args.ctx, threads=args.threads, num_predict=args.num_predict
    )
    speed = engine.measure()
    http = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(engine))
    http.daemon_threads = True
    host = f"http://127.0.0.1:{http.server_address[1]}"
    print(
        f"serving {args.name} at {host} (ctx {args.ctx}, {args.threads} threads): prompt "
        f"{speed['prompt_tokens_per_second']} tokens/s, generation "
        f"{speed['generation_tokens_per_second']} tokens/s",
        flush=True,
    )
    if args.ready_file is not None:
        ready = {"host": host, "model": args.name, "ctx": args.ctx, **speed}
        args.ready_file.parent.mkdir(parents=True, exist_ok=True)
        args.ready_file.write_text(json.dumps(ready, indent=2) + "\n", encoding="utf-8")
    try:
        http.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        http.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

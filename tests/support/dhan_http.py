"""HTTP plumbing of the loopback Dhan server: recorded requests, scripts, the request handler.

The server (`dhan_server.DhanLoopbackServer`) owns the state and the routes; this module turns
HTTP requests into calls of its `record` and `handle` and writes the answers back.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self
from urllib.parse import unquote, urlsplit

from .dhan_payloads import error_body

API_PREFIX = "/v2"
_HOLD_SAFETY_SECONDS = 30.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """The path under /v2, e.g. "/orders/external/tl123"."""
    body: Any
    headers: dict[str, str]


class LateAnswer(threading.Event):
    """Holds a processed request's answer until `release()` (or `set()`)."""

    def __init__(self) -> None:
        super().__init__()
        self.handled = threading.Event()
        """Set once the server has processed the request: wait on it, never sleep."""

    def release(self) -> None:
        self.set()


@dataclass
class Script:
    """What the next `times` requests matching `method` and `path` (a regex) get instead."""

    method: str
    path: re.Pattern[str]
    process: bool = False
    """Run the normal handler first (so an order is created) and then answer as scripted."""
    status: int | None = None
    body: bytes | None = None
    hold: threading.Event | None = None
    """Answer only once this is set (the server stop sets it too)."""
    times: int = 1
    headers: dict[str, str] | None = None
    """Extra response headers (e.g. Retry-After)."""
    handled: threading.Event = field(default_factory=threading.Event)
    """Set once a matching request was handled (before any hold): wait on it, never sleep."""

    def release(self) -> None:
        if self.hold is not None:
            self.hold.set()


class ServesDhan(Protocol):
    access_token: str

    def arrive(self, request: RecordedRequest) -> tuple[int, bytes] | None: ...

    def record(self, request: RecordedRequest) -> Script | None: ...

    def handle(self, method: str, path: str, body: Any) -> tuple[int, bytes]: ...


class DhanRequestHandler(BaseHTTPRequestHandler):
    server_version = "DhanLoopback/2"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the recorded requests are the log."""

    def _dispatch(self, method: str) -> None:
        dhan: ServesDhan = self.server.dhan  # type: ignore[attr-defined]
        path = unquote(urlsplit(self.path).path)
        path = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = RecordedRequest(method, path, body, headers)
        refusal = dhan.arrive(request)
        if refusal is not None:  # Dhan's rate limiter refused it: nothing else happens
            self._send(*refusal)
            return
        script = dhan.record(request)
        if headers.get("access-token") != dhan.access_token:
            status, payload = (
                401,
                error_body(
                    "Invalid_Authentication",
                    "DH-901",
                    "Client ID or user generated access token is invalid or expired.",
                ),
            )
        elif script is not None and not script.process:
            status, payload = script.status or 200, script.body or b""
        else:
            status, payload = dhan.handle(method, path, body)
            if script is not None:
                status = script.status or status
                payload = payload if script.body is None else script.body
        if script is not None:
            script.handled.set()
            if script.hold is not None:
                script.hold.wait(_HOLD_SAFETY_SECONDS)
        self._send(status, payload, script.headers if script is not None else None)

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a scripted late answer): exactly what the test wanted


class ThreadedLoopback:
    """Start, stop and the `/v2` base URL of a loopback Dhan server on 127.0.0.1.

    A subclass sets `handler` (its request handler class) and `thread_name`, and keeps its own
    state; the handler reaches it as `server.dhan`. `stop()` calls `_before_stop()` first (to
    release answers a test is holding back).
    """

    handler: type[BaseHTTPRequestHandler] = DhanRequestHandler
    thread_name = "dhan-loopback"
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        httpd.daemon_threads = True
        httpd.dhan = self  # type: ignore[attr-defined]
        self._httpd = httpd
        # A short poll interval lets stop() return quickly; the loop is idle otherwise.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name=self.thread_name
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def _before_stop(self) -> None:
        """Nothing to release by default."""

    def stop(self) -> None:
        self._before_stop()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

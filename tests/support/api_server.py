"""A FastAPI app served over real HTTP for a test: uvicorn on 127.0.0.1, port 0, in a thread."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    """uvicorn's server, with an event set once start-up is over (listening or failed)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        try:
            await super().startup(sockets)  # type: ignore[arg-type]
        finally:
            self.ready.set()


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` on 127.0.0.1 at a free port; yields its base URL and stops it after."""
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    # The server thread runs in a copy of the caller's context: Prefect keeps its settings (the
    # test harness's API URL, a test's temporary_settings) in context variables.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(server.run,), name="api-under-test", daemon=True
    )
    thread.start()
    try:
        assert server.ready.wait(30), "uvicorn did not start within 30 s"
        assert server.started, "uvicorn failed to start (see the captured log)"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)

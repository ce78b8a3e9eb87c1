"""The REST API over real HTTP: uvicorn on 127.0.0.1, port 0, in a thread, for one test's
settings (its own data dir, from tests/conftest.py)."""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from support.api_data import Seeded, seed
from tradeloop.api.app import create_app
from tradeloop.settings import load_settings


@pytest.fixture(autouse=True)
def _prefect_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `/health` reads Prefect's settings, and the CLI's settings() sets Prefect's variables when
    # unset: keep both inside this test.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    for name, value in (
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("PREFECT_LOGGING_LEVEL", "WARNING"),
        ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"),
    ):
        monkeypatch.setenv(name, os.environ.get(name, value))


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


@pytest.fixture
def start_api() -> Iterator[Callable[[], httpx.Client]]:
    """Start the API on the settings of the environment as it is now; an httpx client to it."""
    with ExitStack() as stack:

        def start() -> httpx.Client:
            base = stack.enter_context(serving(create_app(load_settings())))
            return stack.enter_context(httpx.Client(base_url=base, timeout=30))

        yield start


@pytest.fixture
def seeded() -> Seeded:
    return seed(load_settings())

"""The REST API over real HTTP (tests/support/api_server.py) on one test's settings: its own
data dir, from tests/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from support.api_data import Seeded, seed
from support.api_server import serving
from tradeloop.api.app import create_app
from tradeloop.settings import load_settings


@pytest.fixture(autouse=True)
def _prefect_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI's settings() sets Prefect's variables when unset: keep them inside this test.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    for name, value in (
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("PREFECT_LOGGING_LEVEL", "WARNING"),
        ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"),
    ):
        monkeypatch.setenv(name, os.environ.get(name, value))


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

"""Test-wide isolation: every test gets its own data dir, Prefect home and no stray config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    data_dir = tmp_path_factory.mktemp("tradeloop-data")
    for key in [
        "TRADELOOP_CONFIG",
        "TRADELOOP_TRADING_MODE",
        "TRADELOOP_LIVE_CONFIRM",
        "TRADELOOP_DHAN_CLIENT_ID",
        "TRADELOOP_DHAN_ACCESS_TOKEN",
        "TRADELOOP_API_TOKEN",
        "TRADELOOP_DATABASE_URL",
    ]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(data_dir))
    # A tradeloop.toml in the working directory must not leak into tests: point at an empty one
    # (a named file that does not exist is a ConfigError).
    empty_config = Path(data_dir) / "empty.toml"
    empty_config.write_text("", encoding="utf-8")
    monkeypatch.setenv("TRADELOOP_CONFIG", str(empty_config))
    yield


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect server (SQLite) shared by every test that runs a flow.

    Starting it costs tens of seconds on a busy 2-core machine, so it starts once, on first use.
    """
    import os

    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that use the shared Prefect server last, keeping every other order.

    Once started, the server's background services sleep for random intervals drawn from the
    global `random` module. Hypothesis watches that module while it draws examples, so a
    property test running alongside them got a HypothesisDeprecationWarning, at random.
    """
    items.sort(key=lambda item: "prefect_harness" in getattr(item, "fixturenames", ()))

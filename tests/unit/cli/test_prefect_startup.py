"""A temporary Prefect server that does not come up in the time allowed is an error that says
how long it was given and which setting allows it longer."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

from tradeloop.cli._prefect import TemporaryServer
from tradeloop.errors import PrefectUnavailableError


def test_a_server_too_slow_to_start_names_the_setting_that_allows_it_longer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with (
        temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 0}),
        pytest.raises(PrefectUnavailableError) as refused,
    ):
        TemporaryServer.start()
    message = str(refused.value)
    assert "did not start within 0 s" in message
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=60" in message
    assert str(tmp_path / "prefect" / "server.log") in message

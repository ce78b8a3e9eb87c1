"""`dhan_broker`: credentials from Settings; the live-mode gate is not its job."""

from __future__ import annotations

import pytest

from support.dhan_server import TEST_ACCESS_TOKEN, TEST_CLIENT_ID, DhanLoopbackServer
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.app.trading import dhan_broker
from tradeloop.domain.execution.orders import Funds
from tradeloop.errors import ConfigError
from tradeloop.settings import load_settings


def test_builds_a_working_broker_from_the_environment(
    dhan_server: DhanLoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", TEST_CLIENT_ID)
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", TEST_ACCESS_TOKEN)
    monkeypatch.setenv("TRADELOOP_DHAN_BASE_URL", dhan_server.base_url)

    broker = dhan_broker(load_settings())

    assert isinstance(broker, DhanBroker)
    assert broker.funds() == Funds(available=98440.0, utilized=15202.0)


def test_does_not_check_the_live_mode_switches(dhan_server: DhanLoopbackServer) -> None:
    settings = load_settings(
        trading_mode="paper",
        dhan_client_id=TEST_CLIENT_ID,
        dhan_access_token=TEST_ACCESS_TOKEN,
        dhan_base_url=dhan_server.base_url,
    )
    assert isinstance(dhan_broker(settings), DhanBroker)


@pytest.mark.parametrize(
    ("overrides", "named", "not_named"),
    [
        ({}, ["TRADELOOP_DHAN_CLIENT_ID", "TRADELOOP_DHAN_ACCESS_TOKEN"], []),
        (
            {"dhan_client_id": TEST_CLIENT_ID},
            ["TRADELOOP_DHAN_ACCESS_TOKEN"],
            ["TRADELOOP_DHAN_CLIENT_ID"],
        ),
        (
            {"dhan_access_token": TEST_ACCESS_TOKEN},
            ["TRADELOOP_DHAN_CLIENT_ID"],
            ["TRADELOOP_DHAN_ACCESS_TOKEN"],
        ),
        ({"dhan_client_id": "  ", "dhan_access_token": "  "}, ["CLIENT_ID", "ACCESS_TOKEN"], []),
    ],
)
def test_missing_credentials_are_refused_naming_the_variables(
    overrides: dict[str, str], named: list[str], not_named: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        dhan_broker(load_settings(**overrides))

    message = str(caught.value)
    assert all(variable in message for variable in named)
    assert not any(variable in message for variable in not_named)
    assert TEST_ACCESS_TOKEN not in message

"""The live-mode switches: reported as set/missing, never their values."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from tradeloop.app.trading import live_mode_report, mode_guard
from tradeloop.domain.execution.mode import ModeGuard, TradingMode
from tradeloop.errors import TradingRefusedError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, Settings, load_settings

TOKEN = "tok-SECRET-123"


def live_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "trading_mode": "live",
        "dhan_client_id": "1000000003",
        "dhan_access_token": SecretStr(TOKEN),
        "live_confirm": LIVE_CONFIRM_PHRASE,
    }
    fields.update(overrides)
    return load_settings(**fields)


class NamedBroker:
    def __init__(self, name: str) -> None:
        self.name = name


def test_paper_is_the_default() -> None:
    report = live_mode_report(load_settings())
    assert report.requested is TradingMode.PAPER and report.mode is TradingMode.PAPER
    assert not report.live_allowed
    ModeGuard(report).require_can_send(NamedBroker("paper"))  # paper never needs a switch


def test_every_switch_on_allows_live() -> None:
    report = live_mode_report(live_settings())
    assert report.live_allowed and report.mode is TradingMode.LIVE
    assert [s.state for s in report.switches] == ["live", "set", "set", "set"]
    ModeGuard(report).require_can_send(NamedBroker("dhan"))


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"trading_mode": "paper"}, "TRADELOOP_TRADING_MODE"),
        ({"dhan_client_id": None}, "TRADELOOP_DHAN_CLIENT_ID"),
        ({"dhan_access_token": None}, "TRADELOOP_DHAN_ACCESS_TOKEN"),
        ({"dhan_access_token": SecretStr("  ")}, "TRADELOOP_DHAN_ACCESS_TOKEN"),
        ({"live_confirm": None}, "TRADELOOP_LIVE_CONFIRM"),
        ({"live_confirm": "yes"}, "TRADELOOP_LIVE_CONFIRM"),
    ],
)
def test_a_missing_switch_refuses_a_live_broker_and_says_which(
    overrides: dict[str, Any], variable: str
) -> None:
    guard = mode_guard(live_settings(**overrides))

    with pytest.raises(TradingRefusedError, match=variable) as caught:
        guard.require_can_send(NamedBroker("dhan"))

    assert "1 switch(es) missing" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert guard.mode is TradingMode.PAPER


def test_report_never_contains_the_secret() -> None:
    report = live_mode_report(live_settings(live_confirm="nope"))
    text = report.model_dump_json()
    assert TOKEN not in text and "1000000003" not in text
    assert report.missing[0].state == "set to a different value"
    assert LIVE_CONFIRM_PHRASE in report.refusal_message()

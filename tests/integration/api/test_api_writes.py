"""The POST routes over real HTTP: refused without the API token (403) or with a wrong one
(401), recorded in the ledger with the right one; `tradeloop api` refuses to listen beyond
loopback without a token."""

from __future__ import annotations

import sys
from collections.abc import Callable

import httpx
import pytest

from support.api_data import Seeded
from tradeloop.app import stores
from tradeloop.cli import main
from tradeloop.settings import load_settings

TOKEN = "api-token-for-tests-3f9c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def with_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_API_TOKEN", TOKEN)


def test_posts_are_refused_without_a_configured_token(
    seeded: Seeded, start_api: Callable[[], httpx.Client]
) -> None:
    client = start_api()

    answers = [
        client.post("/kill-switch", json={"engaged": True, "reason": "test"}, headers=AUTH),
        client.post(f"/deployments/{seeded.deployment_id}/retire", json={"reason": "test"}),
    ]

    assert [a.status_code for a in answers] == [403, 403]
    assert all("TRADELOOP_API_TOKEN" in a.json()["detail"] for a in answers)
    ledger = stores.ledger(load_settings())
    assert ledger.kill_switch().engaged is False
    ledger.close()


@pytest.mark.usefixtures("with_token")
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong-token", "not-bearer"],
)
def test_posts_without_the_right_bearer_token_are_401(
    start_api: Callable[[], httpx.Client], headers: dict[str, str]
) -> None:
    answer = start_api().post(
        "/kill-switch", json={"engaged": True, "reason": "x"}, headers=headers
    )

    assert answer.status_code == 401
    assert TOKEN not in answer.text


@pytest.mark.usefixtures("with_token")
def test_kill_switch_on_and_off_is_recorded_and_shown_by_health(
    start_api: Callable[[], httpx.Client],
) -> None:
    client = start_api()

    on = client.post(
        "/kill-switch", json={"engaged": True, "reason": "feed looks wrong"}, headers=AUTH
    )

    assert on.status_code == 200 and on.json()["engaged"] is True
    assert on.json()["changed_at"].endswith("+05:30")
    assert client.get("/health").json()["kill_switch"]["reason"] == "feed looks wrong"
    off = client.post("/kill-switch", json={"engaged": False, "reason": "checked"}, headers=AUTH)
    assert off.json()["engaged"] is False
    ledger = stores.ledger(load_settings())
    assert [s.engaged for s in ledger.kill_switch_history()] == [True, False]
    ledger.close()


@pytest.mark.usefixtures("with_token")
@pytest.mark.parametrize(
    ("body", "field"),
    [({"engaged": True, "reason": "  "}, "reason"), ({"reason": "x"}, "engaged")],
)
def test_kill_switch_with_a_bad_body_is_422_naming_the_field(
    start_api: Callable[[], httpx.Client], body: dict[str, object], field: str
) -> None:
    answer = start_api().post("/kill-switch", json=body, headers=AUTH)

    assert answer.status_code == 422
    assert [error["loc"][-1] for error in answer.json()["detail"]] == [field]


@pytest.mark.usefixtures("with_token")
def test_retire_a_deployment_then_again_then_an_unknown_one(
    seeded: Seeded, start_api: Callable[[], httpx.Client]
) -> None:
    client = start_api()
    path = f"/deployments/{seeded.deployment_id}/retire"

    retired = client.post(path, json={"reason": "drawdown"}, headers=AUTH)
    again = client.post(path, json={"reason": "drawdown"}, headers=AUTH)
    unknown = client.post("/deployments/dep-nope-1/retire", json={"reason": "x"}, headers=AUTH)

    assert retired.status_code == 200
    assert (retired.json()["status"], retired.json()["retire_reason"]) == ("retired", "drawdown")
    assert again.status_code == 400 and "already retired" in again.json()["detail"]
    assert unknown.status_code == 404 and "dep-nope-1" in unknown.json()["detail"]
    assert client.get("/deployments").json() == []


def test_api_command_refuses_a_public_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["tradeloop", "api", "--host", "0.0.0.0", "--port", "0"])

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "--host 0.0.0.0" in error and "TRADELOOP_API_TOKEN" in error

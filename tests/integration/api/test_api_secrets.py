"""No GET route returns a secret: with recognisable API and Dhan tokens (and a database URL with
a password) set, every GET route's answer, the OpenAPI document and the errors are searched."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from support.api_data import Seeded

API_TOKEN = "api-secret-7d1e5b0c"
DHAN_TOKEN = "dhan-secret-94ac21f6"
DB_PASSWORD = "db-secret-5e0d"


def test_no_get_route_returns_a_secret(
    monkeypatch: pytest.MonkeyPatch,
    seeded: Seeded,
    start_api: Callable[[], httpx.Client],
) -> None:
    monkeypatch.setenv("TRADELOOP_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", DHAN_TOKEN)
    monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", "1000000001")
    client = start_api()
    day = str(seeded.trading_day)
    paths = [
        "/health",
        f"/positions?day={day}",
        "/positions?all=true",
        f"/orders?day={day}",
        f"/trades?from={day}&to={day}",
        "/pnl/daily",
        "/strategies/top?limit=50",
        f"/strategies/{seeded.spec_id}",
        "/strategies/unknown-spec",
        "/deployments?all=true",
        "/agent/runs",
        f"/agent/runs/{seeded.run_id}",
        "/agent/runs/unknown-run",
        "/trades?from=bad",
        "/openapi.json",
    ]

    answers = {path: client.get(path) for path in paths}

    assert all(a.status_code < 500 for a in answers.values())
    assert answers["/health"].json()["live_switches"][2]["state"] == "set"
    for path, answer in answers.items():
        for secret in (API_TOKEN, DHAN_TOKEN):
            assert secret not in answer.text, f"{path} shows a secret"


def test_a_database_password_is_not_shown_when_the_ledger_is_down(
    monkeypatch: pytest.MonkeyPatch, start_api: Callable[[], httpx.Client]
) -> None:
    # Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
    url = f"postgresql://tradeloop:{DB_PASSWORD}@127.0.0.1:9/tradeloop"
    monkeypatch.setenv("TRADELOOP_DATABASE_URL", url)
    client = start_api()

    health = client.get("/health")
    positions = client.get("/positions")

    assert health.status_code == 200 and health.json()["ledger"]["ok"] is False
    assert health.json()["kill_switch"] is None and health.json()["ok"] is False
    assert positions.status_code == 503 and "127.0.0.1:9" in positions.json()["detail"]
    assert DB_PASSWORD not in health.text + positions.text

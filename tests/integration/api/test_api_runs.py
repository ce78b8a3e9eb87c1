"""`POST /research/run`, `/agent/run`, `/manage/run` over real HTTP: without PREFECT_API_URL a
503 saying how to start a server; with the test's Prefect server and the deployments of
deployments/prefect.yaml on it, a flow run created at once, with its id and UI address."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import httpx
import pytest

TOKEN = "api-token-for-runs"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTES = ("/research/run", "/agent/run", "/manage/run")


@pytest.fixture(autouse=True)
def with_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_API_TOKEN", TOKEN)


@pytest.mark.parametrize("route", ROUTES)
def test_without_a_prefect_server_a_run_is_503_saying_how_to_start_one(
    route: str, start_api: Callable[[], httpx.Client]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        answer = start_api().post(route, json={}, headers=AUTH)

    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert "prefect server start" in detail and "tradeloop serve" in detail


def test_a_prefect_server_that_does_not_answer_is_503_naming_its_url(
    start_api: Callable[[], httpx.Client],
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
    # Prefect reads its environment once, at import: the setting is changed in its context.
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        answer = start_api().post("/research/run", json={}, headers=AUTH)

    assert answer.status_code == 503
    assert "http://127.0.0.1:9/api does not answer" in answer.json()["detail"]


def test_run_parameters_are_checked_before_anything_is_sent(
    start_api: Callable[[], httpx.Client],
) -> None:
    answer = start_api().post("/agent/run", json={"parameters": {"symbol": "NIFY"}}, headers=AUTH)

    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "parameters", "symbol"]]


def test_runs_are_refused_without_the_token(start_api: Callable[[], httpx.Client]) -> None:
    assert start_api().post("/research/run", json={}).status_code == 401


@pytest.fixture
def prefect_deployments(prefect_harness: None) -> str:
    """The test Prefect server (its URL is in Prefect's settings context, which the API's thread
    inherits), with the research, agent and manage flows deployed under their names in
    prefect.yaml."""
    from prefect.settings import PREFECT_API_URL

    from tradeloop.flows.agent import agent_research_flow
    from tradeloop.flows.manage import manage_flow
    from tradeloop.flows.research import research_flow

    for flow, name in (
        (research_flow, "nightly-research"),
        (agent_research_flow, "agent-research"),
        (manage_flow, "manage-day"),
    ):
        flow.to_deployment(name=name).apply()
    return str(PREFECT_API_URL.value())


def test_a_run_is_created_at_once_with_its_id_and_ui_address(
    prefect_deployments: str, start_api: Callable[[], httpx.Client]
) -> None:
    client = start_api()

    answer = client.post(
        "/manage/run", json={"parameters": {"day": "2025-03-04", "speed": 0}}, headers=AUTH
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    run_id = UUID(body["flow_run_id"])
    assert body["deployment"] == "manage/manage-day"
    assert body["ui_url"].endswith(f"/runs/flow-run/{run_id}")
    assert _parameters_of(run_id)["parameters"]["day"] == "2025-03-04"
    assert client.get("/health").json()["prefect"]["ok"] is True


def _parameters_of(run_id: UUID) -> dict[str, object]:
    from prefect.client.orchestration import get_client

    async def read() -> dict[str, object]:
        async with get_client() as client:
            return dict((await client.read_flow_run(run_id)).parameters)

    return asyncio.run(read())

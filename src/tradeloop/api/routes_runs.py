"""Start a flow from the API: a run of a Prefect deployment of deployments/prefect.yaml,
returned at once with its id and where to watch it in the Prefect UI.

The run is created on the Prefect server named by PREFECT_API_URL; a worker, or `tradeloop
serve`, executes it. Without PREFECT_API_URL there is no server to create it on: 503, saying
how to start one. Parameters are checked against the flow's own model before anything is sent
(a mistake is a 422 naming the field); given parameters replace the deployment's defaults.
"""

from __future__ import annotations

from uuid import UUID

import httpx
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.api.auth import AUTH_RESPONSES, Authorized
from tradeloop.api.errors import documented
from tradeloop.api.prefect import flow_run_ui_url, prefect_api_url, prefect_check
from tradeloop.errors import PrefectUnavailableError
from tradeloop.flows.agent import AgentParameters
from tradeloop.flows.manage import ManageParameters
from tradeloop.flows.research import ResearchParameters

router = APIRouter(tags=["runs"], dependencies=[Authorized], responses=AUTH_RESPONSES)

RESEARCH = "research/nightly-research"
AGENT = "agent-research/agent-research"
MANAGE = "manage/manage-day"
_START_A_SERVER = (
    "start one with `prefect server start`, set PREFECT_API_URL=http://127.0.0.1:4200/api for "
    "it and for `tradeloop api`, and run `tradeloop serve` (or deploy deployments/prefect.yaml "
    "to a work pool with a worker) so the run is executed; see docs/operations.md"
)


class ResearchRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: ResearchParameters | None = Field(
        None, description="The research flow's parameters; null: the deployment's."
    )


class AgentRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: AgentParameters | None = Field(
        None, description="The agent-research flow's parameters; null: the deployment's."
    )


class ManageRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: ManageParameters | None = Field(
        None, description="The manage flow's parameters; null: the deployment's."
    )


class FlowRunStarted(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment: str = Field(description="flow/deployment, as in deployments/prefect.yaml.")
    flow_run_id: UUID
    flow_run_name: str
    state: str | None = Field(description="The run's state when created (usually SCHEDULED).")
    ui_url: str = Field(description="The run in the Prefect UI.")


_RESPONSES = documented(
    e503="No Prefect API configured (PREFECT_API_URL), not answering, or the deployment is "
    "missing; the message says what to start."
)


async def start(deployment: str, parameters: BaseModel | None) -> FlowRunStarted:
    """Create a run of `deployment` and return without waiting for it."""
    api_url = prefect_api_url()
    if api_url is None:
        raise PrefectUnavailableError(
            f"PREFECT_API_URL is not set, so there is no Prefect server to run {deployment} on: "
            + _START_A_SERVER
        )
    reachable = prefect_check()
    if reachable.ok is False:  # checked first: Prefect's client retries a dead server for long
        raise PrefectUnavailableError(
            f"the Prefect API (PREFECT_API_URL): {reachable.detail}: " + _START_A_SERVER
        )
    from prefect.deployments import arun_deployment
    from prefect.exceptions import ObjectNotFound

    sent = None if parameters is None else {"parameters": parameters.model_dump(mode="json")}
    try:
        run = await arun_deployment(deployment, parameters=sent, timeout=0)
    except ObjectNotFound:
        raise PrefectUnavailableError(
            f"the Prefect server at {api_url} has no deployment {deployment}: run `tradeloop "
            "serve` (or `prefect deploy --all --prefect-file deployments/prefect.yaml`)"
        ) from None
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            f"the Prefect API at {api_url} (PREFECT_API_URL) does not answer "
            f"({type(exc).__name__}): " + _START_A_SERVER
        ) from None
    return FlowRunStarted(
        deployment=deployment,
        flow_run_id=run.id,
        flow_run_name=run.name,
        state=run.state.type.value if run.state is not None else None,
        ui_url=flow_run_ui_url(api_url, run.id),
    )


@router.post(
    "/research/run",
    response_model=FlowRunStarted,
    summary="Start a research run",
    responses=_RESPONSES,
)
async def research_run(body: ResearchRunRequest) -> FlowRunStarted:
    """Start the research flow (deployment nightly-research) now."""
    return await start(RESEARCH, body.parameters)


@router.post(
    "/agent/run",
    response_model=FlowRunStarted,
    summary="Start an agent research run",
    responses=_RESPONSES,
)
async def agent_run(body: AgentRunRequest) -> FlowRunStarted:
    """Start an agent research session (deployment agent-research) now."""
    return await start(AGENT, body.parameters)


@router.post(
    "/manage/run",
    response_model=FlowRunStarted,
    summary="Start a managed trading day",
    responses=_RESPONSES,
)
async def manage_run(body: ManageRunRequest) -> FlowRunStarted:
    """Start a managed day (deployment manage-day) now: today over the live feed by default, or
    a stored day replayed in paper (parameters.source feed or store, parameters.day)."""
    return await start(MANAGE, body.parameters)

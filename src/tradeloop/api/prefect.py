"""The Prefect API as the REST API sees it: its URL (or none), whether it answers, and where a
flow run is shown in its UI."""

from __future__ import annotations

from uuid import UUID

import httpx

from tradeloop.api.models import Check

HEALTH_TIMEOUT_SECONDS = 3.0


def prefect_api_url() -> str | None:
    """PREFECT_API_URL as Prefect reads it (environment or profile); None when unset."""
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


def prefect_check() -> Check:
    """Whether the configured Prefect API answers its `/health`; `ok=None` when none is set."""
    url = prefect_api_url()
    if url is None:
        return Check(
            ok=None,
            detail="not configured: PREFECT_API_URL is not set (see docs/operations.md)",
        )
    try:
        answer = httpx.get(f"{url.rstrip('/')}/health", timeout=HEALTH_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return Check(ok=False, detail=f"{url} does not answer ({type(exc).__name__})")
    if answer.status_code != 200:
        return Check(ok=False, detail=f"{url}/health answered HTTP {answer.status_code}")
    return Check(ok=True, detail=f"{url} answers")


def flow_run_ui_url(api_url: str, run_id: UUID) -> str:
    """The flow run's page: PREFECT_UI_URL when Prefect knows it, else the API URL without
    its `/api` (how `prefect server start` serves both)."""
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value() or api_url.rstrip("/").removesuffix("/api")
    return f"{str(ui).rstrip('/')}/runs/flow-run/{run_id}"

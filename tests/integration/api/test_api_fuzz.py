"""A bounded schemathesis fuzz of the routes, from the app's own OpenAPI document, over real
HTTP on seeded data: no answer is a 5xx, and every answer conforms to the document. The POST
routes are sent the API token; the run routes are left out (with no Prefect server their
answer is a 503 by design: tests/integration/api/test_api_runs.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from support.api_data import seed
from support.api_server import serving
from tradeloop.api.app import create_app
from tradeloop.settings import Settings, load_settings

TOKEN = "fuzz-token"


@pytest.fixture
def api_base_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TRADELOOP_API_TOKEN", TOKEN)
    loaded = load_settings()
    seed(loaded)
    with serving(create_app(loaded)) as url:
        yield url


# The document is the app's own, built at collection (it depends on no setting or data: hence
# unvalidated settings). `schemathesis.pytest.from_fixture`, which would fetch it from the
# running server, fails on pytest 9 (it writes `request.node._nodeid`, gone in pytest 9).
document = create_app(Settings.model_construct()).openapi()
RUN_ROUTES = r"^/(research|agent|manage)/run$"
schema = schemathesis.openapi.from_dict(document).exclude(path_regex=RUN_ROUTES)


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_routes_never_fail_and_conform_to_their_schema(
    case: schemathesis.Case, api_base_url: str
) -> None:
    case.call_and_validate(
        base_url=api_base_url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=[not_a_server_error, response_schema_conformance],
    )

"""deployments/prefect.yaml stays loadable: every entrypoint is a flow, every schedule is IST."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[3]
DEPLOYMENTS = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_entrypoint_is_a_flow_that_accepts_the_parameters(deployment: dict[str, Any]) -> None:
    from prefect import Flow

    path, _, name = deployment["entrypoint"].partition(":")
    spec = importlib.util.spec_from_file_location("entrypoint", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    flow = getattr(module, name)
    assert isinstance(flow, Flow)
    flow.validate_parameters(deployment.get("parameters", {}))


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_schedules_are_cron_in_india_time(deployment: dict[str, Any]) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    for schedule in deployment["schedules"]:
        assert schedule["timezone"] == "Asia/Kolkata"
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_prefect_deploy_accepts_the_deployment(deployment: dict[str, Any]) -> None:
    """`prefect deploy` reads each entry as its own DeploymentConfig; it ignores unknown keys,
    so each key is checked to be one of its fields."""
    from prefect.cli.deploy._models import DeploymentConfig

    DeploymentConfig.model_validate(deployment)
    assert set(deployment) <= set(DeploymentConfig.model_fields)


def test_a_trading_day_runs_one_at_a_time() -> None:
    [manage] = [d for d in DEPLOYMENTS if d["name"] == "manage-day"]
    assert manage["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}

"""The deployment store on the ledger's database (SQLite, and a throwaway PostgreSQL when one
can run here), and the in-memory one: the same rules on each."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from deploy_records import DEPLOYED_AT, record

from support.postgres import PostgresServer, running_postgres, unavailable_reason
from tradeloop.domain.deploy import DeploymentStore, InMemoryDeploymentStore
from tradeloop.errors import NotFoundError, UserError
from tradeloop.storage.deployments import open_deployment_store

LATER = DEPLOYED_AT + timedelta(hours=1)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL deployment tests skipped: {reason}")
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeploymentStore]:
    if request.param == "memory":
        yield InMemoryDeploymentStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database()
    opened = open_deployment_store(url)
    yield opened
    opened.close()


def test_a_deployment_round_trips_with_its_evidence_and_tz_aware_times(
    store: DeploymentStore,
) -> None:
    added = store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)

    assert added.id == "dep-a-1"
    assert store.get("dep-a-1") == added
    (listed,) = store.deployments()
    assert listed.deployed_at == DEPLOYED_AT and listed.deployed_at.tzinfo is not None
    assert listed.run_id == "run-1" and listed.mode == "paper" and listed.status == "active"
    assert listed.evidence["dsr"] == 0.96
    assert listed.evidence["oos_profit_factor"] == math.inf  # kept, on PostgreSQL too
    assert listed.spec_json == record("a", 0.9).spec_json
    assert store.get("dep-missing-1") is None


def test_a_second_active_deployment_of_one_spec_is_refused(store: DeploymentStore) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)

    with pytest.raises(UserError, match="already deployed as dep-a-1"):
        store.add(record("a", 0.9), run_id="run-2", mode="paper", at=LATER)

    assert [d.id for d in store.deployments(include_retired=True)] == ["dep-a-1"]


def test_retired_deployments_are_listed_only_with_include_retired_and_a_redeploy_counts_on(
    store: DeploymentStore,
) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)
    retired = store.retire("dep-a-1", "  below the gate on new data  ", LATER)

    again = store.add(record("a", 0.9), run_id="run-2", mode="paper", at=LATER)

    assert retired.status == "retired" and retired.retired_at == LATER
    assert retired.retire_reason == "below the gate on new data"
    assert again.id == "dep-a-2"
    assert [d.id for d in store.deployments()] == ["dep-a-2"]
    assert [d.id for d in store.deployments(include_retired=True)] == ["dep-a-1", "dep-a-2"]
    assert store.get("dep-a-1") == retired


def test_retiring_an_unknown_id_names_it_and_lists_the_active_ones(store: DeploymentStore) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)
    store.add(record("b", 0.8), run_id="run-1", mode="paper", at=DEPLOYED_AT)

    with pytest.raises(NotFoundError) as refused:
        store.retire("dep-c-1", "typo", LATER)

    message = str(refused.value)
    assert "no deployment 'dep-c-1'" in message
    assert "Active deployments: dep-a-1, dep-b-1" in message


def test_retiring_a_retired_deployment_says_so_and_changes_nothing(
    store: DeploymentStore,
) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)
    first = store.retire("dep-a-1", "first reason", LATER)

    with pytest.raises(UserError, match=r"already retired .*first reason"):
        store.retire("dep-a-1", "second reason", LATER + timedelta(hours=1))

    assert store.get("dep-a-1") == first


def test_retiring_without_a_reason_is_refused(store: DeploymentStore) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)

    with pytest.raises(UserError, match="reason is required"):
        store.retire("dep-a-1", "   ", LATER)

    assert store.deployments()[0].status == "active"


def test_promote_moves_an_active_paper_deployment_to_live_once(store: DeploymentStore) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)

    promoted = store.promote("dep-a-1", LATER)

    assert promoted.mode == "live" and promoted.promoted_at == LATER
    assert store.get("dep-a-1") == promoted
    with pytest.raises(UserError, match="already live"):
        store.promote("dep-a-1", LATER)


def test_a_retired_or_unknown_deployment_cannot_be_promoted(store: DeploymentStore) -> None:
    store.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)
    retired = store.retire("dep-a-1", "stopped", LATER)

    with pytest.raises(UserError, match="only an active paper deployment"):
        store.promote("dep-a-1", LATER)
    with pytest.raises(NotFoundError, match="Active deployments: none"):
        store.promote("dep-x-1", LATER)

    assert store.get("dep-a-1") == retired


def test_a_deployment_without_a_take_profit_stays_in_paper(store: DeploymentStore) -> None:
    store.add(record("a", 0.9, take_profit=False), run_id="run-1", mode="paper", at=DEPLOYED_AT)

    with pytest.raises(UserError, match="no take profit: live entries go to Dhan as super"):
        store.promote("dep-a-1", LATER)

    assert store.get("dep-a-1").mode == "paper"  # type: ignore[union-attr]


def test_deployments_survive_reopening_the_ledger_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    first = open_deployment_store(url)
    added = first.add(record("a", 0.9), run_id="run-1", mode="paper", at=DEPLOYED_AT)
    first.close()

    second = open_deployment_store(url)
    try:
        assert second.deployments() == [added]
    finally:
        second.close()

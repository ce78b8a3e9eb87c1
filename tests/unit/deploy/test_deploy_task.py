"""The research flow's `deploy_passing` task, called as a plain function on the real SQLite
ledger of the test's data directory: idempotent under retries, paper only, `top_k` honoured."""

from __future__ import annotations

import pytest
from deploy_records import record

from tradeloop.app import stores
from tradeloop.errors import ConfigError
from tradeloop.settings import load_settings
from tradeloop.tasks.research import deploy_passing

RECORDS = [
    record("a", 0.9),
    record("b", 0.8),
    record("c", 0.7),
    record("d", 0.6),
    record("e", 5.0, passed=False),
]


def _all_ids() -> list[str]:
    store = stores.deployment_store(load_settings())
    try:
        return [d.id for d in store.deployments(include_retired=True)]
    finally:
        store.close()


def test_the_top_k_passing_records_are_deployed_to_paper_with_the_run_and_evidence() -> None:
    made = deploy_passing.fn(load_settings(), "run-1", RECORDS)

    assert [d.id for d in made] == ["dep-a-1", "dep-b-1", "dep-c-1"]
    assert {d.mode for d in made} == {"paper"} and {d.run_id for d in made} == {"run-1"}
    assert made[0].evidence["score"] == 0.9 and made[0].evidence["dsr"] == 0.96
    assert _all_ids() == ["dep-a-1", "dep-b-1", "dep-c-1"]


def test_calling_the_task_twice_for_one_run_deploys_each_spec_once() -> None:
    settings = load_settings()
    first = deploy_passing.fn(settings, "run-1", RECORDS)

    second = deploy_passing.fn(settings, "run-1", RECORDS)

    assert second == first
    assert _all_ids() == ["dep-a-1", "dep-b-1", "dep-c-1"]


def test_a_retry_after_a_partial_first_attempt_adds_only_what_is_missing() -> None:
    settings = load_settings()
    store = stores.deployment_store(settings)
    try:  # the first attempt deployed one spec, then the database went away
        store.add(RECORDS[0], run_id="run-1", mode="paper", at=RECORDS[0].evaluated_at)
    finally:
        store.close()

    made = deploy_passing.fn(settings, "run-1", RECORDS)

    assert [d.id for d in made] == ["dep-a-1", "dep-b-1", "dep-c-1"]
    assert _all_ids() == ["dep-a-1", "dep-b-1", "dep-c-1"]


def test_a_later_run_skips_the_specs_still_deployed_and_takes_the_next_ones() -> None:
    settings = load_settings()
    deploy_passing.fn(settings, "run-1", RECORDS)

    made = deploy_passing.fn(settings, "run-2", [*RECORDS, record("f", 0.1, run_id="run-2")])

    assert [d.id for d in made] == ["dep-d-1", "dep-f-1"]
    assert {d.run_id for d in made} == {"run-2"}


def test_top_k_zero_deploys_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_DEPLOY__TOP_K", "0")

    assert deploy_passing.fn(load_settings(), "run-1", RECORDS) == []
    assert _all_ids() == []


def test_research_cannot_be_set_to_deploy_to_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_DEPLOY__MODE", "live")

    with pytest.raises(ConfigError, match=r"deploy\.mode"):
        load_settings()

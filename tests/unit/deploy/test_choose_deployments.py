"""`choose_deployments`: only records that passed the gate, the best `k`, each spec once."""

from __future__ import annotations

import math

from deploy_records import DEPLOYED_AT, record

from tradeloop.domain.deploy import Deployment, choose_deployments


def _active(spec_id: str) -> Deployment:
    return Deployment.of(
        record(spec_id, 1.0), sequence=1, run_id="run-0", mode="paper", at=DEPLOYED_AT
    )


def test_only_records_that_passed_the_gate_are_chosen_best_score_first() -> None:
    records = [
        record("a", 0.7),
        record("b", 2.0, passed=False),  # the best score, but refused by the gate
        record("c", 0.9),
        record("d", 0.8),
    ]

    chosen = choose_deployments(records, 2, active=[])

    assert [r.spec_id for r in chosen] == ["c", "d"]


def test_a_spec_already_active_is_skipped_and_the_next_one_fills_its_place() -> None:
    records = [record("a", 0.9), record("b", 0.8), record("c", 0.7)]

    chosen = choose_deployments(records, 2, active=[_active("a")])

    assert [r.spec_id for r in chosen] == ["b", "c"]


def test_a_retired_deployment_does_not_block_its_spec() -> None:
    retired = _active("a").retired("stopped working", DEPLOYED_AT)

    chosen = choose_deployments([record("a", 0.9)], 3, active=[retired])

    assert [r.spec_id for r in chosen] == ["a"]


def test_a_spec_in_several_records_is_chosen_once_with_its_best_record() -> None:
    records = [record("a", 0.6, symbol="NIFTY"), record("a", 0.9), record("b", 0.7)]

    chosen = choose_deployments(records, 3, active=[])

    assert [(r.spec_id, r.score) for r in chosen] == [("a", 0.9), ("b", 0.7)]


def test_equal_scores_are_ordered_by_spec_id_whatever_the_input_order() -> None:
    records = [record("c", 0.8), record("a", 0.8), record("b", 0.8)]

    assert [r.spec_id for r in choose_deployments(records, 2, [])] == ["a", "b"]
    assert [r.spec_id for r in choose_deployments(records[::-1], 2, [])] == ["a", "b"]


def test_k_zero_chooses_nothing_and_a_score_that_is_not_a_number_is_never_chosen() -> None:
    records = [record("a", 0.9), record("b", math.nan)]

    assert choose_deployments(records, 0, []) == []
    assert [r.spec_id for r in choose_deployments(records, 5, [])] == ["a"]


def test_a_deployment_carries_the_score_the_gate_numbers_and_the_metrics_as_evidence() -> None:
    deployment = Deployment.of(
        record("a", 0.9), sequence=2, run_id="run-7", mode="paper", at=DEPLOYED_AT
    )

    assert deployment.id == "dep-a-2"
    assert deployment.spec_version == 1 and deployment.status == "active"
    assert deployment.evidence["score"] == 0.9 and deployment.evidence["passed"] == 1.0
    assert deployment.evidence["dsr"] == 0.96 and deployment.evidence["trials"] == 40.0
    assert deployment.evidence["oos_sharpe"] == 1.8
    assert deployment.evidence["oos_profit_factor"] == math.inf

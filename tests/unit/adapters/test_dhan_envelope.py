"""How the SDK's lossy envelope is classified once the HTTP status is known."""

from __future__ import annotations

import pytest

from tradeloop.adapters.dhan.envelope import FailureKind, parse_response

# What dhanhq returns for a body that is not JSON (an empty or HTML 429) and for Dhan's DH-904.
UNREADABLE = {"status": "failure", "remarks": "Expecting value: line 1 column 1", "data": ""}
DH_904 = {
    "status": "failure",
    "remarks": {"error_code": "DH-904", "error_type": "Rate_Limit", "error_message": "Too many"},
    "data": "",
}


@pytest.mark.parametrize("raw", [UNREADABLE, DH_904], ids=["bare 429", "DH-904 body"])
def test_a_429_is_a_rate_limit_whose_outcome_is_known(raw: dict[str, object]) -> None:
    failure = parse_response(raw, 429, 2.0).failure

    assert failure is not None
    assert failure.is_rate_limit
    assert not failure.outcome_unknown
    assert failure.retry_after == 2.0


def test_dh_904_without_a_status_is_still_a_rate_limit() -> None:
    failure = parse_response(DH_904).failure

    assert failure is not None and failure.is_rate_limit and not failure.outcome_unknown


@pytest.mark.parametrize("status", [None, 200, 502])
def test_an_unreadable_answer_that_is_not_a_429_stays_unknown(status: int | None) -> None:
    failure = parse_response(UNREADABLE, status).failure

    assert failure is not None
    assert failure.kind is FailureKind.TRANSPORT
    assert not failure.is_rate_limit
    assert failure.outcome_unknown
    assert failure.http_status == status


def test_a_bare_429_says_what_it_is() -> None:
    failure = parse_response(UNREADABLE, 429).failure

    assert failure is not None
    assert "429" in failure.describe() and "rate limit" in failure.describe()

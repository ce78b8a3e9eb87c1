"""The contract check: lots and ticks from the instrument, prices rounded toward less risk."""

from __future__ import annotations

import hashlib
import json

import pytest

from support.contracts import fixed_contracts
from support.intents import future_entry
from tradeloop.domain.execution.contract import (
    contract_failures,
    on_tick,
    protective_stop,
    round_to_tick,
)
from tradeloop.domain.execution.orders import OrderIntent, OrderType, Side

CONTRACTS = fixed_contracts(tick=0.05)  # NIFTY 65 on a 0.05 grid, whatever the day


def test_long_entry_rounds_every_price_toward_less_risk() -> None:
    rounded = on_tick(
        future_entry(
            order_type=OrderType.LIMIT,
            price=24_000.03,
            stop_loss=23_900.02,
            target=24_200.04,
            reference_price=24_000.01,
            trailing_jump=10.02,
        ),
        CONTRACTS,
    )

    assert (rounded.price, rounded.stop_loss, rounded.target) == (24_000.0, 23_900.05, 24_200.0)
    assert (rounded.reference_price, rounded.trailing_jump) == (24_000.05, 10.0)
    assert contract_failures(rounded, CONTRACTS) == []


def test_short_entry_rounds_the_mirror_way() -> None:
    rounded = on_tick(
        future_entry(
            side=Side.SELL,
            order_type=OrderType.LIMIT,
            price=24_000.03,
            stop_loss=24_100.02,
            target=23_800.04,
            reference_price=24_000.01,
        ),
        CONTRACTS,
    )

    assert (rounded.price, rounded.stop_loss, rounded.target) == (24_000.05, 24_100.0, 23_800.05)
    assert rounded.reference_price == 24_000.0


def test_an_intent_already_on_the_tick_keeps_its_id() -> None:
    intent = future_entry(stop_loss=23_900.050000000003)  # float noise is on the grid
    assert on_tick(intent, CONTRACTS) is intent


@pytest.mark.parametrize(("direction", "expected"), [(1, 101.0), (-1, 100.95)])
def test_a_moved_stop_is_rounded_toward_the_position(direction: int, expected: float) -> None:
    assert protective_stop(direction, 100.97, 0.05) == expected
    assert protective_stop(direction, 100.97, None) == 100.97


def test_round_to_tick_handles_coarse_and_fine_ticks() -> None:
    assert round_to_tick(123.4, 1.0, -1) == 123.0
    assert round_to_tick(0.00037, 0.0025, 1) == 0.0025


def test_a_tick_finer_than_the_instruments_is_refused() -> None:
    failures = contract_failures(future_entry(tick_size=0.01), CONTRACTS)
    assert failures == [
        "NIFTY-FUT (lot 65, tick 0.01): tick_size 0.01 is not a multiple of the instrument's "
        "tick 0.05"
    ]


def test_exits_skip_the_lot_check_and_need_no_tick_without_prices() -> None:
    odd_exit = future_entry(
        symbol="ACME-FUT",
        quantity=7,
        lot_size=1,
        is_exit=True,
        stop_loss=None,
        target=None,
        reference_price=None,
    )
    assert contract_failures(odd_exit, CONTRACTS) == []


def test_an_intent_journalled_before_tick_size_existed_keeps_its_id() -> None:
    intent = future_entry()
    old_content = intent.model_dump(mode="json")
    del old_content["tick_size"]  # what the previous version hashed and stored
    old_id = (
        "tl"
        + hashlib.sha256(
            json.dumps(old_content, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()[:20]
    )

    assert OrderIntent.model_validate(old_content).id == intent.id == old_id
    assert future_entry(tick_size=0.05).id != intent.id  # a stated tick is part of the intent

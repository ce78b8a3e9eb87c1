"""Trade book rows to fills without a server: legs, ids, times, charges, and their invariants."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.dhan.origins import order_origins
from tradeloop.adapters.dhan.trades import fills_from_trades, instrument_kind
from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.execution.fills import BrokerFill, FillLeg
from tradeloop.domain.execution.orders import Side

COSTS = CostTable.bundled()
ENTRY_ID = "5925022734212"


def trade_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "orderId": ENTRY_ID,
        "exchangeOrderId": "X1",
        "exchangeTradeId": "T1",
        "transactionType": "BUY",
        "exchangeSegment": "NSE_FNO",
        "productType": "INTRADAY",
        "orderType": "LIMIT",
        "tradingSymbol": "NIFTY-Mar2026-24000-CE",
        "securityId": "52175",
        "tradedQuantity": 65,
        "tradedPrice": 120.0,
        "exchangeTime": "2026-03-02 09:31:00",
        "drvOptionType": "CALL",
        "drvStrikePrice": 24000.0,
    }
    row.update(changes)
    return row


def super_row(legs: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "orderId": ENTRY_ID,
        "correlationId": "tl-entry",
        "orderStatus": "TRADED",
        "transactionType": "BUY",
        "legName": "ENTRY_LEG",
        "legDetails": legs
        if legs is not None
        else [
            {"orderId": ENTRY_ID, "legName": "STOP_LOSS_LEG", "price": 110.0},
            {"orderId": ENTRY_ID, "legName": "TARGET_LEG", "price": 140.0},
        ],
    }
    row.update(changes)
    return row


def fills_of(
    trades: list[dict[str, Any]], orders: list[Any], supers: list[Any]
) -> list[BrokerFill]:
    return fills_from_trades(trades, order_origins(orders, supers), COSTS)


# --- which leg ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_type", "price", "leg"),
    [
        ("STOP_LOSS_MARKET", 139.0, FillLeg.STOP_LOSS),  # a stop order is the stop leg
        ("LIMIT", 138.5, FillLeg.TARGET),  # nearer the target
        ("LIMIT", 111.0, FillLeg.STOP_LOSS),  # nearer the stop
        ("LIMIT", 125.0, FillLeg.STOP_LOSS),  # as near to both: the stop
    ],
)
def test_shared_id_exit_without_leg_status_is_told_by_order_type_then_nearest_price(
    order_type: str, price: float, leg: FillLeg
) -> None:
    trades = [
        trade_row(exchangeTradeId="T1"),
        trade_row(
            exchangeTradeId="T2",
            transactionType="SELL",
            orderType=order_type,
            tradedPrice=price,
            exchangeTime="2026-03-02 10:00:00",
        ),
    ]

    entry, exit_fill = fills_of(trades, [], [super_row()])

    assert (entry.leg, exit_fill.leg) == (FillLeg.ENTRY, leg)
    assert exit_fill.correlation_id == "tl-entry"


def test_the_leg_dhan_shows_traded_wins_over_the_price() -> None:
    legs = [
        {"orderId": ENTRY_ID, "legName": "STOP_LOSS_LEG", "price": 110.0, "orderStatus": "TRADED"},
        {"orderId": ENTRY_ID, "legName": "TARGET_LEG", "price": 140.0, "orderStatus": "CANCELLED"},
    ]
    trades = [trade_row(transactionType="SELL", tradedPrice=139.0)]  # a trailed stop near target

    [fill] = fills_of(trades, [], [super_row(legs)])

    assert fill.leg is FillLeg.STOP_LOSS


def test_opposite_side_trade_of_a_super_order_without_leg_details_is_never_an_entry() -> None:
    [fill] = fills_of([trade_row(transactionType="SELL")], [], [super_row([])])

    assert fill.leg is FillLeg.STOP_LOSS


def test_exit_of_a_super_order_missing_from_the_super_book_is_never_an_entry() -> None:
    orders = [{"orderId": ENTRY_ID, "correlationId": "tl-entry", "transactionType": "BUY"}]
    trades = [
        trade_row(exchangeTradeId="T1"),
        trade_row(
            exchangeTradeId="T2",
            transactionType="SELL",
            orderType="STOP_LOSS_MARKET",
            tradedPrice=110.0,
            exchangeTime="2026-03-02 10:00:00",
        ),
    ]

    entry, stop = fills_of(trades, orders, [])

    assert (entry.leg, stop.leg) == (FillLeg.ENTRY, FillLeg.STOP_LOSS)
    assert stop.correlation_id == "tl-entry"


def test_legs_with_ids_of_their_own_map_to_the_parent_correlation_id() -> None:
    legs = [
        {"orderId": "L-STOP", "legName": "STOP_LOSS_LEG", "price": 110.0},
        {"orderId": "L-TARGET", "legName": "TARGET_LEG", "price": 140.0},
    ]
    trades = [trade_row(orderId="L-TARGET", transactionType="SELL", tradedPrice=112.0)]

    [fill] = fills_of(trades, [], [super_row(legs)])

    assert (fill.leg, fill.order_id, fill.correlation_id) == (
        FillLeg.TARGET,
        "L-TARGET",
        "tl-entry",
    )


def test_bracket_legs_listed_in_the_order_book_under_one_id_are_read_too() -> None:
    orders = [
        {
            "orderId": "B1",
            "correlationId": "tl-b",
            "transactionType": "SELL",
            "legName": "ENTRY_LEG",
        },
        {"orderId": "B1", "transactionType": "BUY", "legName": "TARGET_LEG", "price": 90.0},
        {"orderId": "B1", "transactionType": "BUY", "legName": "STOP_LOSS_LEG", "price": 130.0},
    ]
    trades = [
        trade_row(orderId="B1", exchangeTradeId="T1", transactionType="SELL"),
        trade_row(
            orderId="B1",
            exchangeTradeId="T2",
            transactionType="BUY",
            tradedPrice=91.0,
            exchangeTime="2026-03-02 10:00:00",
        ),
    ]

    entry, target = fills_of(trades, orders, [])

    assert (entry.leg, entry.side, target.leg, target.side) == (
        FillLeg.ENTRY,
        Side.SELL,
        FillLeg.TARGET,
        Side.BUY,
    )
    assert entry.correlation_id == target.correlation_id == "tl-b"


def test_super_order_without_correlation_id_takes_the_order_books() -> None:
    orders = [{"orderId": ENTRY_ID, "correlationId": "tl-from-book", "transactionType": "BUY"}]

    [fill] = fills_of([trade_row()], orders, [super_row(correlationId="")])

    assert fill.correlation_id == "tl-from-book"


# --- ids, times, charges ----------------------------------------------------------------------


def test_a_trade_listed_twice_is_one_fill() -> None:
    fills = fills_of([trade_row(), trade_row()], [], [super_row()])

    assert len(fills) == 1


@pytest.mark.parametrize("trade_id", ["0", "", None])
def test_missing_trade_ids_get_distinct_stable_ids(trade_id: str | None) -> None:
    trades = [
        trade_row(exchangeTradeId=trade_id),
        trade_row(exchangeTradeId=trade_id),  # a second, identical execution
        trade_row(exchangeTradeId=trade_id, tradedPrice=121.0),
    ]

    fills = fills_of(trades, [], [super_row()])

    assert len({fill.fill_id for fill in fills}) == 3
    assert fills == fills_of(list(reversed(trades)), [], [super_row()])
    assert all(fill.fill_id.startswith("dhan:NSE_FNO:20260302:order-") for fill in fills)


def test_one_trade_id_on_two_different_trades_keeps_both() -> None:
    trades = [trade_row(exchangeTradeId="T9"), trade_row(exchangeTradeId="T9", tradedPrice=125.0)]

    assert len(fills_of(trades, [], [super_row()])) == 2


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({"exchangeTime": "2026-03-02T09:31:05"}, datetime(2026, 3, 2, 4, 1, 5, tzinfo=UTC)),
        (
            {"exchangeTime": "1970-01-01 05:30:00", "updateTime": "2026-03-02 15:29:59"},
            datetime(2026, 3, 2, 9, 59, 59, tzinfo=UTC),
        ),
        (
            {"exchangeTime": None, "updateTime": "NA", "createTime": "2026-03-02 09:15:00"},
            datetime(2026, 3, 2, 3, 45, tzinfo=UTC),
        ),
    ],
)
def test_trade_time_is_ist_read_as_utc_skipping_placeholders(
    times: dict[str, Any], expected: datetime
) -> None:
    [fill] = fills_of([trade_row(**times)], [], [super_row()])

    assert fill.ts == expected


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({}, InstrumentKind.OPTIONS),
        ({"drvOptionType": None, "drvStrikePrice": 24000.0}, InstrumentKind.OPTIONS),
        (
            {"drvOptionType": "NA", "drvStrikePrice": 0.0, "tradingSymbol": "NIFTY26MAR24000PE"},
            InstrumentKind.OPTIONS,
        ),
        (
            {"drvOptionType": None, "drvStrikePrice": 0.0, "tradingSymbol": "NIFTY-Mar2026-FUT"},
            InstrumentKind.FUTURES,
        ),
        ({"exchangeSegment": "NSE_EQ", "drvOptionType": None}, InstrumentKind.EQUITY_INTRADAY),
        ({"exchangeSegment": "NSE_EQ", "productType": "CNC"}, None),
        ({"exchangeSegment": "MCX_COMM"}, None),
        (
            {"drvOptionType": None, "drvStrikePrice": "NA", "tradingSymbol": "NIFTY-FUT"},
            InstrumentKind.FUTURES,
        ),
    ],
)
def test_instrument_kind_for_the_cost_table(
    changes: dict[str, Any], kind: InstrumentKind | None
) -> None:
    assert instrument_kind(trade_row(**changes)) is kind


def test_a_segment_the_cost_table_lacks_gets_no_costs() -> None:
    [fill] = fills_of([trade_row(exchangeSegment="NSE_EQ", productType="CNC")], [], [super_row()])

    assert fill.costs == {}


# --- invariants -------------------------------------------------------------------------------

executions = st.lists(
    st.tuples(
        st.integers(0, 2),  # which of three orders
        st.integers(1, 4).map(lambda lots: lots * 65),
        st.integers(500, 60_000).map(lambda paise: paise / 100),
        st.integers(0, 22_499),  # seconds after 09:15 IST
    ),
    min_size=1,
    max_size=12,
)


def rows_from(generated: list[tuple[int, int, float, int]]) -> list[dict[str, Any]]:
    rows = []
    for number, (order, quantity, price, seconds) in enumerate(generated):
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(9 * 60 + 15 + minutes, 60)
        rows.append(
            trade_row(
                orderId=f"O{order}",
                exchangeTradeId=f"T{number}",
                tradedQuantity=quantity,
                tradedPrice=price,
                exchangeTime=f"2026-03-02 {hour:02d}:{minute:02d}:{second:02d}",
            )
        )
    return rows


PLAIN_ORDERS = [
    {"orderId": f"O{n}", "correlationId": f"tl-{n}", "transactionType": "BUY"} for n in range(3)
]


@settings(max_examples=60, deadline=None)
@given(generated=executions, data=st.data())
def test_fills_do_not_depend_on_how_dhan_orders_or_repeats_its_rows(
    generated: list[tuple[int, int, float, int]], data: st.DataObject
) -> None:
    rows = rows_from(generated)
    shuffled = data.draw(st.permutations(rows))
    repeated = rows + data.draw(st.lists(st.sampled_from(rows), max_size=4))

    fills = fills_of(rows, PLAIN_ORDERS, [])

    assert fills == fills_of(list(shuffled), PLAIN_ORDERS, [])
    assert fills == fills_of(repeated, PLAIN_ORDERS, [])
    assert [fill.ts for fill in fills] == sorted(fill.ts for fill in fills)
    assert len({fill.fill_id for fill in fills}) == len(rows)


@settings(max_examples=60, deadline=None)
@given(generated=executions)
def test_an_orders_trades_carry_exactly_one_orders_charges(
    generated: list[tuple[int, int, float, int]],
) -> None:
    fills = fills_of(rows_from(generated), PLAIN_ORDERS, [])

    turnover: dict[str, float] = defaultdict(float)
    charged: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for fill in fills:
        assert all(value >= 0 for value in fill.costs.values())
        turnover[fill.order_id] += fill.price * fill.quantity
        for name, value in fill.costs.items():
            charged[fill.order_id][name] += value
    for order_id, total in turnover.items():
        one_order = COSTS.order_costs(InstrumentKind.OPTIONS, True, total, 1.0).as_dict()
        for name, value in charged[order_id].items():
            assert value == pytest.approx(one_order[name], rel=1e-9, abs=1e-9)

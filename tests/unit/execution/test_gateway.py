"""The order gateway: risk first, write-ahead, at most one order per intent, no blind retries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.contracts import fixed_contracts
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import SETTLE_ABSENT_AFTER, OrderGateway, SubmitOutcome
from tradeloop.domain.execution.journal import InMemoryOrderJournal
from tradeloop.domain.execution.mode import ModeGuard
from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderStatus
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import InMemoryPaperBook
from tradeloop.domain.risk.decision import RiskCheck
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import Portfolio
from tradeloop.errors import NotSentError, OrderStateUnknownError, TransientError

IntentFactory = Callable[..., OrderIntent]


class CountingPaper(PaperBroker):
    """The real paper broker, counting create calls (the broker-side truth tests assert on)."""

    place_calls = 0

    def place(self, intent: OrderIntent) -> BrokerOrder:
        self.place_calls += 1
        return super().place(intent)


class TimesOutAfterCreating(CountingPaper):
    """Creates the order, then the answer is lost (a timeout): Dhan's ambiguous outcome."""

    def place(self, intent: OrderIntent) -> BrokerOrder:
        super().place(intent)
        return BrokerOrder.unknown(intent, "timed out")


class RaisesAfterCreating(CountingPaper):
    def place(self, intent: OrderIntent) -> BrokerOrder:
        super().place(intent)
        raise ConnectionResetError("connection reset by peer")


class TimesOutWithoutCreating(CountingPaper):
    def place(self, intent: OrderIntent) -> BrokerOrder:
        self.place_calls += 1
        return BrokerOrder.unknown(intent, "timed out")


class LookupFailsOnce(TimesOutAfterCreating):
    failures = 1

    def order_by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        if self.failures:
            self.failures -= 1
            raise TransientError("order book unavailable (HTTP 503)")
        return super().order_by_correlation_id(correlation_id)


GatewayFactory = Callable[[type[CountingPaper]], tuple[OrderGateway, CountingPaper]]


@pytest.fixture
def make_gateway(
    book: InMemoryPaperBook,
    journal: InMemoryOrderJournal,
    risk: RiskManager,
    paper_guard: ModeGuard,
    clock: ManualClock,
) -> GatewayFactory:
    def build(broker_class: type[CountingPaper]) -> tuple[OrderGateway, CountingPaper]:
        broker = broker_class(
            book, CostTable.bundled(), PaperConfig(slippage_bps=0.0), clock, fixed_contracts()
        )
        return OrderGateway(broker, journal, risk, paper_guard, clock), broker

    return build


def test_same_intent_submitted_twice_creates_one_order(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(CountingPaper)
    intent = make_intent()

    first = gateway.submit(intent, Portfolio())
    second = gateway.submit(intent, Portfolio())

    assert first.outcome is SubmitOutcome.PLACED and first.accepted
    assert second.outcome is SubmitOutcome.EXISTING
    assert second.order == first.order
    assert broker.place_calls == 1 and len(broker.orders()) == 1


def test_retry_is_not_refused_by_risk_for_the_position_it_created(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(CountingPaper)
    intent = make_intent()
    gateway.submit(intent, Portfolio())
    full = Portfolio.model_validate(
        {"positions": [{"security_id": s, "net_quantity": 65} for s in ("13", "25", "26")]}
    )

    again = gateway.submit(intent, full)

    assert again.outcome is SubmitOutcome.EXISTING and broker.place_calls == 1


def test_refused_intent_is_journalled_with_reasons_and_never_sent(
    make_gateway: GatewayFactory,
    make_intent: IntentFactory,
    journal: InMemoryOrderJournal,
    clock: ManualClock,
) -> None:
    gateway, broker = make_gateway(CountingPaper)

    result = gateway.submit(make_intent(stop_loss=None), Portfolio())

    assert result.outcome is SubmitOutcome.REFUSED and not result.accepted
    assert any("stop loss is required" in reason for reason in result.reasons)
    assert broker.place_calls == 0 and journal.orders() == []
    assert journal.refusals[0].reasons == result.reasons


def test_timeout_after_the_broker_created_it_adopts_the_order(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(TimesOutAfterCreating)

    result = gateway.submit(make_intent(), Portfolio())

    assert result.outcome is SubmitOutcome.ADOPTED
    assert result.order is not None and result.order.status is OrderStatus.OPEN
    assert result.order.broker_order_id == "PAPER-000001"
    assert broker.place_calls == 1 and len(broker.orders()) == 1


def test_exception_after_the_broker_created_it_adopts_the_order(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(RaisesAfterCreating)

    result = gateway.submit(make_intent(), Portfolio())

    assert result.outcome is SubmitOutcome.ADOPTED and broker.place_calls == 1


def test_unknown_outcome_not_at_the_broker_raises_and_is_never_resent(
    make_gateway: GatewayFactory,
    make_intent: IntentFactory,
    journal: InMemoryOrderJournal,
    clock: ManualClock,
) -> None:
    gateway, broker = make_gateway(TimesOutWithoutCreating)
    intent = make_intent()

    with pytest.raises(OrderStateUnknownError, match="NOT re-sent"):
        gateway.submit(intent, Portfolio())
    with pytest.raises(OrderStateUnknownError):
        gateway.submit(intent, Portfolio())  # a retry reconciles again; it does not create

    record = journal.get(intent.id)
    assert record is not None and record.status is OrderStatus.UNKNOWN
    assert broker.place_calls == 1


def test_transient_lookup_failure_propagates_and_the_retry_adopts(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(LookupFailsOnce)
    intent = make_intent()

    with pytest.raises(TransientError):
        gateway.submit(intent, Portfolio())
    retried = gateway.submit(intent, Portfolio())

    assert retried.outcome is SubmitOutcome.ADOPTED
    assert broker.place_calls == 1 and len(broker.orders()) == 1


CrashedSubmit = tuple[OrderGateway, CountingPaper, OrderIntent]


@pytest.fixture
def crashed_after_journal(
    make_gateway: GatewayFactory,
    make_intent: IntentFactory,
    journal: InMemoryOrderJournal,
    clock: ManualClock,
) -> CrashedSubmit:
    """The process wrote the intent's PENDING row, then died before it heard from the broker."""
    gateway, broker = make_gateway(CountingPaper)
    intent = make_intent()
    journal.create_pending(intent, "paper", "paper", clock.now())
    return gateway, broker, intent


def test_crash_between_journal_and_broker_is_reconciled_not_resent(
    crashed_after_journal: CrashedSubmit,
) -> None:
    gateway, broker, intent = crashed_after_journal  # ... before calling the broker

    with pytest.raises(OrderStateUnknownError):
        gateway.submit(intent, Portfolio())

    assert broker.place_calls == 0
    resolved = gateway.resolve_not_placed(intent.id, "checked the paper book: absent")
    assert resolved.status is OrderStatus.NOT_SENT and "operator" in resolved.message


def test_crash_after_the_broker_created_it_is_adopted_on_restart(
    crashed_after_journal: CrashedSubmit,
) -> None:
    gateway, broker, intent = crashed_after_journal
    broker.place(intent)  # ... after the broker created it, before recording the answer

    result = gateway.submit(intent, Portfolio())

    assert result.outcome is SubmitOutcome.ADOPTED and broker.place_calls == 1


def test_resolving_an_order_the_broker_has_adopts_it_instead(
    crashed_after_journal: CrashedSubmit,
) -> None:
    gateway, broker, intent = crashed_after_journal
    broker.place(intent)

    record = gateway.resolve_not_placed(intent.id, "I thought it was absent")

    assert record.status is OrderStatus.OPEN


def test_modify_and_cancel_go_through_the_journal(
    gateway: OrderGateway, make_intent: IntentFactory, paper: PaperBroker
) -> None:
    intent = make_intent()
    gateway.submit(intent, Portfolio())

    gateway.modify_stop(intent.id, 23_950.0)
    assert paper.stop_of("PAPER-000001") == 23_950.0
    cancelled = gateway.cancel(intent.id)
    assert cancelled.status is OrderStatus.CANCELLED


# -- faults that must end in a final state, and the contract checked before anything leaves ----


class CannotBuildTheRequest(CountingPaper):
    """Fails while building the request: nothing reached the broker."""

    def place(self, intent: OrderIntent) -> BrokerOrder:
        self.place_calls += 1
        raise NotSentError("the request could not be built: price has 3 decimals")


def test_failure_before_anything_was_sent_is_journalled_never_sent_not_unknown(
    make_gateway: GatewayFactory, make_intent: IntentFactory, journal: InMemoryOrderJournal
) -> None:
    gateway, broker = make_gateway(CannotBuildTheRequest)
    intent = make_intent()

    result = gateway.submit(intent, Portfolio())

    assert result.outcome is SubmitOutcome.NOT_SENT and not result.accepted
    record = journal.get(intent.id)
    assert record is not None and record.status is OrderStatus.NOT_SENT
    assert record.status.is_terminal
    assert record.message == "never sent: the request could not be built: price has 3 decimals"
    assert gateway.submit(intent, Portfolio()).outcome is SubmitOutcome.EXISTING
    assert broker.place_calls == 1


def test_nifty_quantity_of_50_with_lot_size_1_is_refused_naming_lot_and_tick(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(CountingPaper)

    result = gateway.submit(make_intent(quantity=50, lot_size=1), Portfolio())

    assert result.outcome is SubmitOutcome.REFUSED
    assert result.decision is not None and RiskCheck.CONTRACT in result.decision.checks
    assert any("NIFTY-FUT (lot 65, tick 0.05)" in reason for reason in result.reasons)
    assert broker.place_calls == 0


def test_price_off_the_tick_is_refused_before_sending_with_the_tick_in_the_message(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(CountingPaper)

    result = gateway.submit(make_intent(stop_loss=23_900.03), Portfolio())

    assert result.outcome is SubmitOutcome.REFUSED
    assert result.reasons == (
        "stop_loss 23900.03 is not on the tick of NIFTY-FUT (lot 65, tick 0.05): use 23900 or "
        "23900.05 (the position manager rounds its entries itself)",
    )
    assert broker.place_calls == 0


def test_unknown_tick_is_refused_naming_the_field_to_set(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(CountingPaper)

    result = gateway.submit(make_intent(symbol="ACME-FUT"), Portfolio())
    with_tick = gateway.submit(make_intent(symbol="ACME-FUT", tick_size=0.05), Portfolio())

    assert result.outcome is SubmitOutcome.REFUSED
    assert "tick size of ACME-FUT is not known: set tick_size" in result.reasons[0]
    assert with_tick.outcome is SubmitOutcome.PLACED and broker.place_calls == 1


def test_adopted_order_does_not_keep_the_outcome_unknown_message(
    make_gateway: GatewayFactory, make_intent: IntentFactory
) -> None:
    gateway, broker = make_gateway(TimesOutAfterCreating)
    intent = make_intent()

    result = gateway.submit(intent, Portfolio())
    broker.on_price("13", 24_000.0, gateway.clock.now())
    filled = gateway.refresh(intent.id)

    assert result.order is not None and result.order.status is OrderStatus.OPEN
    assert result.order.message == ""
    assert filled.status is OrderStatus.FILLED and filled.message == ""


def test_unknown_order_still_absent_two_minutes_later_is_settled_not_placed_and_never_resent(
    make_gateway: GatewayFactory,
    make_intent: IntentFactory,
    journal: InMemoryOrderJournal,
    clock: ManualClock,
) -> None:
    gateway, broker = make_gateway(TimesOutWithoutCreating)
    intent = make_intent()
    with pytest.raises(OrderStateUnknownError):
        gateway.submit(intent, Portfolio())

    clock.set(clock.now() + SETTLE_ABSENT_AFTER)
    result = gateway.submit(intent, Portfolio())

    assert result.outcome is SubmitOutcome.EXISTING and not result.accepted
    record = journal.get(intent.id)
    assert record is not None and record.status is OrderStatus.NOT_SENT
    assert record.message.startswith("not placed: paper has no order with this correlation id")
    assert broker.place_calls == 1

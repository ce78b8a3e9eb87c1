"""A paper trading day written to the ledger by the real paper stack: what `positions`,
`orders`, `trades` and the day's report read in tests."""

from __future__ import annotations

from datetime import date, time

from tradeloop.app import stores
from tradeloop.app.trading import paper_stack
from tradeloop.clock import ManualClock
from tradeloop.domain.execution.orders import OrderIntent, Side
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.positions.model import ExitPlan
from tradeloop.domain.positions.replay import Bar, PaperReplay
from tradeloop.settings import load_settings


def record_paper_day(day: date) -> OrderIntent:
    """On `day`, in the environment's ledger: a long NIFTY-FUT entry filled at 24,000 at 09:31
    IST that hits its 24,250 target at 09:32, an entry without a stop loss (refused at 09:33),
    and the kill switch turned on at 09:40 and off at 09:45. Returns the filled entry."""
    settings = load_settings(risk={"capital": 5_000_000.0})
    ledger = stores.ledger(settings)
    clock = ManualClock(ist_datetime(day, time(9, 30)))
    stack = paper_stack(settings, ledger, clock, paper=PaperConfig(slippage_bps=0.0))
    assert isinstance(stack.broker, PaperBroker)
    replay = PaperReplay(stack.positions, stack.broker, clock)
    intent = OrderIntent(
        strategy_id="dep-0123456789abcdef-1",
        symbol="NIFTY-FUT",
        security_id="13",
        side=Side.BUY,
        quantity=65,
        lot_size=65,
        stop_loss=23_900.0,
        target=24_250.0,
        reference_price=24_000.0,
        trading_day=day,
    )
    bars = [
        Bar(
            security_id="13", ts=ist_datetime(day, time(9, 30 + n)), open=o, high=h, low=lo, close=c
        )
        for n, (o, h, lo, c) in enumerate(
            [
                (23_990, 24_010, 23_980, 24_000),
                (24_000, 24_050, 23_990, 24_040),
                (24_040, 24_260, 24_030, 24_255),
            ]
        )
    ]
    replay.bar(bars[0], lambda _: [(intent, ExitPlan(break_even_r=None))])
    replay.bar(bars[1])
    replay.bar(bars[2], lambda _: [(intent.model_copy(update={"stop_loss": None}), ExitPlan())])
    at = ist_datetime(day, time(9, 40))
    ledger.set_kill_switch(True, "the feed froze at 09:40 and the quotes stopped moving", at)
    ledger.set_kill_switch(False, "feed back", ist_datetime(day, time(9, 45)))
    ledger.close()
    return intent

"""Data for the REST API's tests, written by the real stores: positions, a trade, an order and
a refusal in the ledger, a remembered spec that passed, its deployment, and one agent run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from support.intents import TRADING_DAY, future_entry
from support.records import passed_record
from tradeloop.agent.records import StepRecord, ToolCall
from tradeloop.agent.runlog import RunFooter, RunHeader, RunLogWriter
from tradeloop.agent.tool import ToolResult
from tradeloop.app import stores
from tradeloop.domain.execution.journal import Refusal
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.model import Position, PositionEvent, PositionState, TradeRecord
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.settings import Settings

STARTED = datetime(2026, 1, 6, 4, 0, tzinfo=UTC)  # 09:30 IST on TRADING_DAY
RUN_ID = "run-api-1"


@dataclass(frozen=True)
class Seeded:
    spec_id: str
    deployment_id: str
    position_id: str
    closed_position_id: str
    run_id: str
    trading_day: date


SPEC = random_specs(7, 1, "NIFTY", "15m")[0]


def _position(
    version: int, intent: dict[str, object] | None = None, **overrides: object
) -> Position:
    entry = future_entry(**(intent or {}))
    fields: dict[str, object] = {
        "position_id": entry.id,
        "strategy_id": "s-orb",
        "symbol": "NIFTY-FUT",
        "security_id": "13",
        "trading_day": TRADING_DAY,
        "direction": 1,
        "quantity": 65,
        "entry_intent": entry,
        "initial_stop": 23_900.0,
        "stop": 23_900.0,
        "target": 24_200.0,
        "version": version,
        "updated_at": STARTED,
        **overrides,
    }
    return Position.model_validate(fields)


def _event(p: Position, kind: str) -> PositionEvent:
    return PositionEvent(
        position_id=p.position_id,
        sequence=p.version,
        at=p.updated_at,
        kind=kind,
        from_state=None,
        to_state=p.state,
    )


def seed(settings: Settings) -> Seeded:
    """An open and a closed position with its trade, an order and a refusal, a remembered spec
    that passed, its deployment, and one finished agent run: each through its real store."""
    ledger = stores.ledger(settings)
    try:
        open_position = _position(1, state=PositionState.OPEN, entry_price=24_000.0)
        ledger.save(open_position, _event(open_position, "created"))
        closed = _position(1, intent={"stop_loss": 23_800.0}, state=PositionState.CLOSED)
        trade = TradeRecord(
            position_id=closed.position_id,
            strategy_id="s-orb",
            symbol="NIFTY-FUT",
            security_id="13",
            trading_day=TRADING_DAY,
            direction=1,
            quantity=65,
            entry_time=STARTED,
            entry_price=24_000.0,
            exit_time=STARTED + timedelta(minutes=30),
            exit_price=24_100.0,
            exit_reason=ExitReason.TARGET,
            gross_pnl=6_500.0,
            costs=43.0,
            net_pnl=6_457.0,
            r_multiple=0.5,
        )
        ledger.save(closed, _event(closed, "closed"), trade=trade)
        ledger.create_pending(future_entry(quantity=130), "paper", "paper", STARTED)
        refused = future_entry(quantity=650)
        ledger.record_refusal(Refusal(intent=refused, reasons=("too big",), at=STARTED))
    finally:
        ledger.close()
    record = passed_record(SPEC)
    stores.strategy_memory(settings).remember("t", [record])
    deployments = stores.deployment_store(settings)
    try:
        deployment = deployments.add(record, run_id="t", mode="paper", at=STARTED)
    finally:
        deployments.close()
    _agent_run(settings)
    return Seeded(
        spec_id=SPEC.id,
        deployment_id=deployment.id,
        position_id=open_position.position_id,
        closed_position_id=closed.position_id,
        run_id=RUN_ID,
        trading_day=TRADING_DAY,
    )


def _agent_run(settings: Settings) -> None:
    with RunLogWriter(settings.agent_runs_dir, RUN_ID) as writer:
        writer.write_header(
            RunHeader(
                run_id=RUN_ID,
                goal="find a NIFTY strategy",
                planner="rule-based",
                tools=("list_data",),
                max_steps=3,
                loop_limit=2,
                started_at=STARTED,
            )
        )
        result = ToolResult(status="done", data={"series": 2})
        writer.write_step(
            StepRecord(
                index=0,
                call=ToolCall(tool="list_data", args={}),
                executed_args={},
                result=result,
                attempts=1,
            )
        )
        writer.write_footer(
            RunFooter(
                outcome="done",
                steps=1,
                finished_at=STARTED + timedelta(seconds=2),
                duration_seconds=2.0,
                final_result=result,
            )
        )

"""SQLModel tables of the ledger (orders, fills, positions, trades, controls, the paper book,
deployments).

The tables live in their own registry, so the ledger creates only its own tables in its
database. Timestamps are stored in UTC and always read back tz-aware, on SQLite as on
PostgreSQL. Whole domain records are kept as JSON next to the columns that queries filter on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

ledger_registry = registry()


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware UTC timestamp on every backend (SQLite keeps no zone: we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores tz-aware times only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


def _json() -> Any:
    return Field(sa_column=Column(JSON, nullable=False))


class LedgerTable(SQLModel, registry=ledger_registry):
    """Base of the ledger's tables (its own metadata)."""


class OrderRow(LedgerTable, table=True):
    __tablename__ = "orders"

    id: int | None = Field(default=None, primary_key=True)
    intent_id: str = Field(unique=True, max_length=40)
    """Unique: the database refuses a second order for the same intent."""
    correlation_id: str = Field(max_length=40)
    broker: str
    mode: str
    strategy_id: str = Field(index=True)
    trading_day: date = Field(index=True)
    symbol: str
    security_id: str
    side: str
    quantity: int
    order_type: str
    is_exit: bool
    status: str = Field(index=True)
    broker_order_id: str | None = None
    filled_quantity: int = 0
    average_price: float | None = None
    message: str = ""
    intent: dict[str, Any] = _json()
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class RefusalRow(LedgerTable, table=True):
    __tablename__ = "refusals"

    id: int | None = Field(default=None, primary_key=True)
    intent_id: str = Field(index=True, max_length=40)
    strategy_id: str
    trading_day: date = Field(index=True)
    reasons: list[str] = _json()
    intent: dict[str, Any] = _json()
    at: datetime = _utc()


class FillRow(LedgerTable, table=True):
    __tablename__ = "fills"

    id: int | None = Field(default=None, primary_key=True)
    fill_id: str = Field(unique=True)
    order_id: str
    correlation_id: str = Field(index=True)
    leg: str
    security_id: str = Field(index=True)
    side: str
    quantity: int
    price: float
    costs: dict[str, float] = _json()
    cost_total: float
    cash_flow: float
    """−side × price × quantity − costs: cash is the sum of this column."""
    trading_day: date = Field(index=True)
    ts: datetime = _utc()


class PositionRow(LedgerTable, table=True):
    __tablename__ = "positions"

    position_id: str = Field(primary_key=True, max_length=40)
    strategy_id: str = Field(index=True)
    trading_day: date = Field(index=True)
    symbol: str
    security_id: str
    state: str = Field(index=True)
    version: int
    data: dict[str, Any] = _json()
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class PositionEventRow(LedgerTable, table=True):
    __tablename__ = "position_events"
    __table_args__ = (UniqueConstraint("position_id", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    position_id: str = Field(index=True, max_length=40)
    sequence: int
    kind: str
    from_state: str | None = None
    to_state: str
    detail: dict[str, Any] = _json()
    at: datetime = _utc()


class TradeRow(LedgerTable, table=True):
    __tablename__ = "trades"

    id: int | None = Field(default=None, primary_key=True)
    position_id: str = Field(unique=True, max_length=40)
    strategy_id: str = Field(index=True)
    symbol: str
    security_id: str
    trading_day: date = Field(index=True)
    direction: int
    quantity: int
    entry_price: float
    exit_price: float
    exit_reason: str
    gross_pnl: float
    costs: float
    net_pnl: float
    r_multiple: float
    entry_time: datetime = _utc()
    exit_time: datetime = _utc()


class DailyPnlRow(LedgerTable, table=True):
    __tablename__ = "daily_pnl"

    trading_day: date = Field(primary_key=True)
    gross_pnl: float = 0.0
    costs: float = 0.0
    net_pnl: float = 0.0
    trades: int = 0


class KillSwitchRow(LedgerTable, table=True):
    """Every change of the kill switch; the newest row is the current state."""

    __tablename__ = "kill_switch"

    id: int | None = Field(default=None, primary_key=True)
    engaged: bool
    reason: str
    changed_at: datetime = _utc()


class TradingStateRow(LedgerTable, table=True):
    __tablename__ = "trading_state"

    trading_day: date = Field(primary_key=True)
    state: str
    reason: str
    changed_at: datetime = _utc()


class PaperOrderRow(LedgerTable, table=True):
    __tablename__ = "paper_orders"

    order_id: str = Field(primary_key=True, max_length=40)
    correlation_id: str = Field(index=True, max_length=40)
    data: dict[str, Any] = _json()


class PaperFillRow(LedgerTable, table=True):
    __tablename__ = "paper_fills"

    id: int | None = Field(default=None, primary_key=True)
    fill_id: str = Field(unique=True)
    data: dict[str, Any] = _json()


class DeploymentRow(LedgerTable, table=True):
    """A deployed strategy (`tradeloop.domain.deploy.Deployment`).

    `active_spec_id` is the spec id while the deployment is active and NULL once retired: its
    unique constraint lets the database refuse a second active deployment of one spec (NULLs
    never collide, on SQLite as on PostgreSQL).
    """

    __tablename__ = "deployments"

    id: str = Field(primary_key=True, max_length=64)
    spec_id: str = Field(index=True, max_length=40)
    active_spec_id: str | None = Field(default=None, unique=True, max_length=40)
    spec_version: int
    name: str
    symbol: str
    timeframe: str
    spec_json: str = Field(sa_column=Column(Text, nullable=False))
    mode: str
    status: str = Field(index=True)
    run_id: str = Field(index=True)
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    """JSON text, not a JSON column: evidence may hold NaN or infinity, which PostgreSQL's JSON
    type refuses."""
    deployed_at: datetime = _utc()
    retired_at: datetime | None = _utc(nullable=True)
    retire_reason: str | None = None
    promoted_at: datetime | None = _utc(nullable=True)


class SessionProgressRow(LedgerTable, table=True):
    """How far a trading day of one set of strategies has been processed: the close time of
    its last bar whose every step (time rules, match, ratchet, decisions) was written."""

    __tablename__ = "session_progress"

    day: date = Field(primary_key=True)
    session_key: str = Field(primary_key=True, max_length=64)
    last_bar: datetime = _utc()

"""What the pre-trade risk check answers: the codes of the checks that can refuse an intent
(`RiskCheck`) and the decision, approved or refused with one reason per failed check
(`RiskDecision`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RiskCheck(StrEnum):
    """Codes of the checks that can refuse an intent."""

    KILL_SWITCH = "kill_switch"
    HALTED = "halted"
    REDUCING = "reducing"
    STALE_INTENT = "stale_intent"
    NO_STOP_LOSS = "no_stop_loss"
    NO_TARGET = "no_target"
    NO_ENTRY_PRICE = "no_entry_price"
    LEVELS_ORDER = "levels_order"
    REWARD_RISK = "reward_risk"
    MARKET_CLOSED = "market_closed"
    ENTRY_WINDOW = "entry_window"
    ZERO_LOTS = "zero_lots"
    QUANTITY_ABOVE_RISK = "quantity_above_risk"
    NOTIONAL = "notional"
    MAX_POSITIONS = "max_positions"
    DAILY_LOSS = "daily_loss"
    NOT_REDUCING = "not_reducing"
    FLATTEN_NOT_EXIT = "flatten_not_exit"
    CONTRACT = "contract"
    """Lot or tick of the instrument (contract.py)."""


class RiskDecision(BaseModel):
    """Approved, or refused with one reason per failed check (in plain words)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approved: bool
    reasons: tuple[str, ...] = ()
    checks: tuple[RiskCheck, ...] = ()
    sized_quantity: int | None = None
    """Units the risk budget allows (entries only)."""

    @classmethod
    def from_failures(
        cls, failures: list[tuple[RiskCheck, str]], sized_quantity: int | None = None
    ) -> RiskDecision:
        """Approved when nothing failed; else refused with each failure's check and reason."""
        return cls(
            approved=not failures,
            reasons=tuple(message for _, message in failures),
            checks=tuple(check for check, _ in failures),
            sized_quantity=sized_quantity,
        )

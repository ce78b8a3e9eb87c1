"""The pre-trade risk check every order passes, whoever asked for it (strategy, LLM, person).

Entries (intents with `is_exit=False`) must pass all of these; every failing check is reported:

* the kill switch is off, and the day's trading state is ACTIVE (the stricter of the caller's
  portfolio state and the state persisted for the day);
* the intent is for today (`trading_day` is today's IST date);
* a stop loss on the protective side (long stop < entry, short the mirror), and a target on
  the other: long target > entry, short the mirror. A target is required when the broker can
  only protect an entry with a target too (Dhan's super order: `require_target`); the paper
  broker rests a stop alone, so there an entry may have no target (it exits by its stop, its
  trail or the clock);
* with a target, reward:risk = |target − entry| / |entry − stop| >= `min_reward_risk`;
* the market is open and the IST time is inside the entry window;
* the quantity is at most what `risk_quantity` sizes for the risk budget (and that is >= 1 lot);
* notional = entry × quantity is within `max_capital_per_trade_pct` of capital;
* the *other* open (and pending) positions are fewer than `max_open_positions` (the entry's own
  PENDING position, written before the check, does not count against itself);
* the day's loss has not reached `max_daily_loss_pct` (reaching it HALTs the day);
* the contract (contract.py): the instrument's lot, a known tick, every price on it, as the
  `ContractTable` given at construction (the instrument master) says.

Exits (`is_exit=True`) are always allowed, except:

* an "exit" that does not reduce a position — no open position in the security, the same side
  as the position, or more units than are open — is refused: it would open or flip exposure
  without any of the entry checks;
* the market is closed (there is nowhere to send it);
* a price off the instrument's tick (contract.py);
* while the kill switch is on or the day is HALTED, exits are only accepted on the flatten path
  (`flatten=True`, used by the position manager's kill switch, square-off and stop handling),
  so that a strategy's own exit cannot race the flatten order and sell the same units twice
  into a reversed position.

The entry price is the limit price (LIMIT, STOP_LOSS), the trigger (STOP_LOSS_MARKET), or the
`reference_price` — the LTP at decision time — for a MARKET order, which must therefore set it.

This module holds the checks (`RiskManager`); the check codes and the decision they produce are
in decision.py, the sizing in sizing.py.
"""

from __future__ import annotations

from datetime import datetime

from tradeloop.domain.execution.contract import contract_failures, tick_of
from tradeloop.domain.execution.orders import OrderIntent, OrderType, Side
from tradeloop.domain.market.calendar import NSECalendar, to_ist
from tradeloop.domain.market.contracts import ContractTable
from tradeloop.domain.money import rupees
from tradeloop.domain.risk.decision import RiskCheck, RiskDecision
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.sizing import Sizing, size_trade
from tradeloop.domain.risk.state import DayState, Portfolio, TradingControlStore, TradingState


class RiskManager:
    """Sizes trades and approves or refuses intents. Reads and escalates the persisted controls.

    `contracts` (lot and tick of every index derivative, from the instrument master) is the one
    the order path's gateway, position manager and paper broker read too.
    """

    def __init__(
        self,
        limits: RiskLimits,
        calendar: NSECalendar,
        controls: TradingControlStore,
        contracts: ContractTable,
        *,
        require_target: bool = True,
    ) -> None:
        self.limits = limits
        self._calendar = calendar
        self._controls = controls
        self.contracts = contracts
        self.require_target = require_target

    def size(
        self, capital: float, entry: float, stop: float, lot_size: int, *, cap_notional: bool = True
    ) -> Sizing:
        """Units such that a stop-out loses at most `capital × risk_per_trade_pct` (sizing.py)."""
        return size_trade(self.limits, capital, entry, stop, lot_size, cap_notional=cap_notional)

    def update_trading_state(self, portfolio: Portfolio, now: datetime) -> DayState:
        """The day's effective state; persists HALTED when the daily loss limit is reached."""
        day = to_ist(now).date()
        stored = self._controls.day_state(day)
        if stored.state is not TradingState.HALTED and self._daily_loss_reached(portfolio):
            stored = self._controls.set_day_state(
                day,
                TradingState.HALTED,
                f"daily loss {rupees(-portfolio.day_pnl)} reached the limit "
                f"{rupees(self.limits.max_daily_loss)} ({self.limits.max_daily_loss_pct}%)",
                now,
            )
        state = stored.state.stricter(portfolio.trading_state)
        if self._controls.kill_switch().engaged:
            state = TradingState.HALTED
        return stored.model_copy(update={"state": state})

    def check(
        self, intent: OrderIntent, portfolio: Portfolio, now: datetime, *, flatten: bool = False
    ) -> RiskDecision:
        """Approve or refuse `intent` given what is open (`portfolio`) at `now`."""
        failures: list[tuple[RiskCheck, str]] = []
        day_state = self.update_trading_state(portfolio, now)
        if flatten and not intent.is_exit:
            failures.append(
                (RiskCheck.FLATTEN_NOT_EXIT, "the flatten path only accepts exits (is_exit=True)")
            )
        failures += [
            (RiskCheck.CONTRACT, reason) for reason in contract_failures(intent, self.contracts)
        ]
        if intent.is_exit:
            failures += self._exit_failures(intent, portfolio, now, day_state, flatten)
            return RiskDecision.from_failures(failures)
        failures += self._state_failures(day_state)
        failures += self._entry_failures(intent, portfolio, now)
        sized: int | None = None
        entry = _entry_price(intent)
        if entry is not None and intent.stop_loss is not None:
            sizing = self.size(
                self.limits.capital, entry, intent.stop_loss, intent.lot_size, cap_notional=False
            )
            sized = min(
                sizing.quantity,
                self.size(self.limits.capital, entry, intent.stop_loss, intent.lot_size).quantity,
            )
            if not sizing.approved:
                failures.append((RiskCheck.ZERO_LOTS, sizing.reason))
            elif intent.quantity > sizing.quantity:
                failures.append(
                    (
                        RiskCheck.QUANTITY_ABOVE_RISK,
                        f"quantity {intent.quantity} is above the {sizing.quantity} units "
                        f"({sizing.lots} lots) that risk {rupees(sizing.budget)} between entry "
                        f"{entry} and stop {intent.stop_loss}: lower the quantity",
                    )
                )
            notional = entry * intent.quantity
            if notional > self.limits.max_notional_per_trade:
                failures.append(
                    (
                        RiskCheck.NOTIONAL,
                        f"notional {rupees(notional)} ({intent.quantity} × {entry}) is above "
                        f"{rupees(self.limits.max_notional_per_trade)} "
                        f"({self.limits.max_capital_per_trade_pct}% of capital): trade fewer lots",
                    )
                )
        return RiskDecision.from_failures(failures, sized)

    def _daily_loss_reached(self, portfolio: Portfolio) -> bool:
        return -portfolio.day_pnl >= self.limits.max_daily_loss

    def _state_failures(self, day_state: DayState) -> list[tuple[RiskCheck, str]]:
        if self._controls.kill_switch().engaged:
            switch = self._controls.kill_switch()
            return [
                (
                    RiskCheck.KILL_SWITCH,
                    f"kill switch is on ({switch.reason or 'no reason given'}): no new entries; "
                    "`tradeloop kill-switch off --reason ...` when it is safe",
                )
            ]
        if day_state.state is TradingState.HALTED:
            return [(RiskCheck.HALTED, f"trading is HALTED today: {day_state.reason}")]
        if day_state.state is TradingState.REDUCING:
            return [(RiskCheck.REDUCING, f"trading is REDUCING (exits only): {day_state.reason}")]
        return []

    def _entry_failures(
        self, intent: OrderIntent, portfolio: Portfolio, now: datetime
    ) -> list[tuple[RiskCheck, str]]:
        failures: list[tuple[RiskCheck, str]] = []
        local = to_ist(now)
        if intent.trading_day != local.date():
            failures.append(
                (
                    RiskCheck.STALE_INTENT,
                    f"intent is for {intent.trading_day} but today is {local.date()} (IST): "
                    "build a new intent for today",
                )
            )
        entry = _entry_price(intent)
        if entry is None:
            failures.append(
                (
                    RiskCheck.NO_ENTRY_PRICE,
                    "a MARKET entry needs reference_price (the LTP at decision time) to be "
                    "sized and checked",
                )
            )
        if intent.stop_loss is None:
            failures.append(
                (RiskCheck.NO_STOP_LOSS, "a stop loss is required on every entry: set stop_loss")
            )
        if intent.target is None and self.require_target:
            failures.append(
                (
                    RiskCheck.NO_TARGET,
                    "a target is required on every entry here: the broker protects an entry "
                    "only with a stop and a target together; give the strategy a take_profit",
                )
            )
        if entry is not None and intent.stop_loss is not None:
            tick = tick_of(intent, self.contracts) or 0.0
            failures += self._level_failures(
                intent.side, entry, intent.stop_loss, intent.target, tick
            )
        if not self._calendar.is_open(now):
            failures.append(
                (RiskCheck.MARKET_CLOSED, f"the market is closed at {local:%Y-%m-%d %H:%M} IST")
            )
        elif not (self.limits.entry_window_start <= local.time() <= self.limits.entry_window_end):
            failures.append(
                (
                    RiskCheck.ENTRY_WINDOW,
                    f"{local:%H:%M:%S} IST is outside the entry window "
                    f"{self.limits.entry_window_start:%H:%M}–{self.limits.entry_window_end:%H:%M}",
                )
            )
        others = portfolio.open_positions_besides(intent.id)
        if others >= self.limits.max_open_positions:
            failures.append(
                (
                    RiskCheck.MAX_POSITIONS,
                    f"{others} other positions are open or pending; the limit is "
                    f"{self.limits.max_open_positions}",
                )
            )
        if self._daily_loss_reached(portfolio):
            failures.append(
                (
                    RiskCheck.DAILY_LOSS,
                    f"the day's P&L {rupees(portfolio.day_pnl)} has reached the daily loss limit "
                    f"{rupees(self.limits.max_daily_loss)}",
                )
            )
        return failures

    def _level_failures(
        self, side: Side, entry: float, stop: float, target: float | None, tick: float
    ) -> list[tuple[RiskCheck, str]]:
        sign = side.sign
        if target is None:
            if sign * (entry - stop) > 0:
                return []
            expected = "entry > stop" if side is Side.BUY else "entry < stop"
            return [
                (
                    RiskCheck.LEVELS_ORDER,
                    f"a {side} needs {expected}; got entry {entry}, stop {stop}",
                )
            ]
        if not (sign * (target - entry) > 0 and sign * (entry - stop) > 0):
            expected = "target > entry > stop" if side is Side.BUY else "target < entry < stop"
            return [
                (
                    RiskCheck.LEVELS_ORDER,
                    f"a {side} needs {expected}; got target {target}, entry {entry}, stop {stop}",
                )
            ]
        reward_risk = abs(target - entry) / abs(entry - stop)
        # Prices go out on the tick, each rounded the way that adds no risk (contract.on_tick):
        # the reference and the target can each lose a tick of reward. Levels that met the
        # minimum before that rounding are not refused for it.
        unrounded_best = (abs(target - entry) + 2 * tick) / abs(entry - stop)
        # A target at exactly the minimum R (a spec's `r: 1.5`) may come out a hair below it
        # in floating point: that is the minimum, met.
        floor = self.limits.min_reward_risk * (1 - 1e-9)
        if reward_risk < floor and unrounded_best < floor:
            shown = f"{reward_risk:.2f}"
            if float(shown) >= self.limits.min_reward_risk:  # 1.4996 would read "1.50"
                shown = f"{reward_risk:.4f}"
            return [
                (
                    RiskCheck.REWARD_RISK,
                    f"reward:risk {shown} is below the minimum "
                    f"{self.limits.min_reward_risk}: move the target further or the stop closer",
                )
            ]
        return []

    def _exit_failures(
        self,
        intent: OrderIntent,
        portfolio: Portfolio,
        now: datetime,
        day_state: DayState,
        flatten: bool,
    ) -> list[tuple[RiskCheck, str]]:
        failures: list[tuple[RiskCheck, str]] = []
        if not flatten:
            if self._controls.kill_switch().engaged:
                failures.append(
                    (
                        RiskCheck.KILL_SWITCH,
                        "kill switch is on: the position manager is flattening; exits go "
                        "through its flatten path only",
                    )
                )
            elif day_state.state is TradingState.HALTED:
                failures.append(
                    (
                        RiskCheck.HALTED,
                        f"trading is HALTED ({day_state.reason}): exits go through the position "
                        "manager's flatten path only",
                    )
                )
        held = portfolio.net_quantity(intent.security_id)
        reduces = held != 0 and intent.side.sign == -_sign(held) and intent.quantity <= abs(held)
        if not reduces:
            failures.append(
                (
                    RiskCheck.NOT_REDUCING,
                    f"exit {intent.side} {intent.quantity} of {intent.security_id} does not reduce "
                    f"the open position ({held:+d} units): it would open exposure unchecked",
                )
            )
        if not self._calendar.is_open(now):
            failures.append(
                (
                    RiskCheck.MARKET_CLOSED,
                    f"the market is closed at {to_ist(now):%Y-%m-%d %H:%M} IST",
                )
            )
        return failures


def _sign(value: int) -> int:
    return 1 if value > 0 else -1


def _entry_price(intent: OrderIntent) -> float | None:
    if intent.order_type in (OrderType.LIMIT, OrderType.STOP_LOSS):
        return intent.price
    if intent.order_type is OrderType.STOP_LOSS_MARKET:
        return intent.trigger_price
    return intent.reference_price

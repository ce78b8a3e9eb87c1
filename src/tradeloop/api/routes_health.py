"""`GET /health`: what this process can see of each part, and nothing it cannot.

The candle store, the ledger and the Prefect API are each tried; the trading mode comes from
the live switches (never their values), the kill switch from the ledger. No market feed runs in
the API process, so the feed is reported as unknown rather than guessed.
"""

from __future__ import annotations

from fastapi import APIRouter

from tradeloop.api.deps import SettingsDep
from tradeloop.api.models import Check, Health, KillSwitchState, LiveSwitch, ist
from tradeloop.api.prefect import prefect_check
from tradeloop.app import stores
from tradeloop.app.trading import live_mode_report
from tradeloop.errors import TradeloopError
from tradeloop.settings import Settings

router = APIRouter(tags=["health"])

FEED_NOTE = (
    "no market feed runs inside the API process: a managed day (`tradeloop manage`, the "
    "manage-day deployment) runs its own feed in its own process"
)


def _candles(settings: Settings) -> tuple[Check, int | None]:
    try:
        count = len(stores.candle_store(settings).series())
    except (TradeloopError, OSError) as exc:
        return Check(ok=False, detail=f"the candle store cannot be read: {exc}"), None
    return Check(ok=True, detail=f"{count} series in {settings.candles_dir}"), count


@router.get("/health", response_model=Health, summary="What this process can see of each part")
def health(settings: SettingsDep) -> Health:
    """Each part's state: candle store, ledger, Prefect API, trading mode, kill switch, feed."""
    candles, series = _candles(settings)
    kill_switch: KillSwitchState | None = None
    try:
        ledger = stores.ledger(settings)
        try:
            switch = ledger.kill_switch()
        finally:
            ledger.close()
    except TradeloopError as exc:
        ledger_check = Check(ok=False, detail=str(exc))
    else:
        ledger_check = Check(ok=True, detail="reachable")
        kill_switch = KillSwitchState(
            engaged=switch.engaged, reason=switch.reason, changed_at=ist(switch.changed_at)
        )
    report = live_mode_report(settings)
    return Health(
        ok=bool(candles.ok and ledger_check.ok),
        candles=candles,
        series=series,
        ledger=ledger_check,
        prefect=prefect_check(),
        trading_mode=report.mode.value,
        requested_mode=report.requested.value,
        live_switches=[
            LiveSwitch(variable=s.variable, ok=s.ok, state=s.state) for s in report.switches
        ],
        kill_switch=kill_switch,
        feed=None,
        feed_note=FEED_NOTE,
    )

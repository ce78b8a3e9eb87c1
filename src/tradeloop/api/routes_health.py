"""`GET /health`: what this process can see of each part, and nothing it cannot.

The candle store, the ledger and the Prefect API are each tried; the trading mode comes from
the live switches (never their values), the kill switch from the ledger. No market feed runs in
the API process, so the feed is reported as unknown rather than guessed.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from tradeloop.api.deps import SettingsDep
from tradeloop.api.models import Check, Health, KillSwitchState, LiveSwitch, ist
from tradeloop.app import stores
from tradeloop.app.trading import live_mode_report
from tradeloop.errors import TradeloopError
from tradeloop.settings import Settings

router = APIRouter(tags=["health"])

PREFECT_TIMEOUT_SECONDS = 3.0
FEED_NOTE = (
    "no market feed runs inside the API process: a managed day (`tradeloop manage`, the "
    "manage-day deployment) runs its own feed; see its flow run in the Prefect UI"
)


def prefect_api_url() -> str | None:
    """PREFECT_API_URL as Prefect reads it (environment or profile); None when unset."""
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


def _prefect_check() -> Check:
    url = prefect_api_url()
    if url is None:
        return Check(
            ok=None,
            detail="not configured: PREFECT_API_URL is not set (see docs/operations.md)",
        )
    try:
        answer = httpx.get(f"{url.rstrip('/')}/health", timeout=PREFECT_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return Check(ok=False, detail=f"{url} does not answer ({type(exc).__name__})")
    if answer.status_code != 200:
        return Check(ok=False, detail=f"{url}/health answered HTTP {answer.status_code}")
    return Check(ok=True, detail=f"{url} answers")


def _candles(settings: Settings) -> tuple[Check, int | None]:
    try:
        count = len(stores.candle_store(settings).series())
    except (TradeloopError, OSError) as exc:
        return Check(ok=False, detail=f"the candle store cannot be read: {exc}"), None
    return Check(ok=True, detail=f"{count} series in {settings.candles_dir}"), count


@router.get("/health", response_model=Health)
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
        prefect=_prefect_check(),
        trading_mode=report.mode.value,
        requested_mode=report.requested.value,
        live_switches=[
            LiveSwitch(variable=s.variable, ok=s.ok, state=s.state) for s in report.switches
        ],
        kill_switch=kill_switch,
        feed=None,
        feed_note=FEED_NOTE,
    )

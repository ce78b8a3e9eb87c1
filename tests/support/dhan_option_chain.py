"""A loopback server for Dhan's v2 option-chain API: the real dhanhq SDK asks it for chains.

    POST /optionchain/expirylist  {UnderlyingScrip, UnderlyingSeg} → {"data": [...], "status"}
    POST /optionchain             {UnderlyingScrip, UnderlyingSeg, Expiry}
                                  → {"data": {"last_price", "oc": {"24000.000000": {"ce", "pe"}}}}

The shapes are those of Dhan's Option Chain page (https://dhanhq.co/docs/v2/option-chain/):
`implied_volatility` in percent, Greeks per point / per day / per vol point, `oi` an integer.
Every chain is the same deterministic one around the index's level (`LEVELS`); `quote(strike,
side)` gives what the server answers for one option, so a test can compare.

It counts every request when it arrives (`arrivals`, monotonic seconds). A wrong
`access-token` gets Dhan's 401 DH-901 (the shared handler); `mangle_next(fn)` passes the next
chain answer's body through `fn`; `too_fast=True` refuses a chain request that arrives less than
3 s after the previous one with HTTP 429 (Dhan's DH-904), as Dhan would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .dhan_http import RecordedRequest, ThreadedLoopback
from .dhan_payloads import error_body, json_bytes
from .dhan_server import DH_904

LEVELS = {13: (24_010.5, 50.0), 25: (51_020.0, 100.0)}
"""Security id → (last price, strike step)."""
EXPIRIES = ["2026-12-10", "2026-12-03", "2026-12-17", "2026-12-29"]
"""Out of order on purpose: the adapter sorts."""
BAD_INPUT = error_body(
    "Input_Exception", "DH-905", "Missing required fields, bad values for parameters etc."
)


def quote(level: float, strike: float, side: str) -> dict[str, Any]:
    """What the server answers for one option (deterministic, Dhan's units)."""
    distance = (strike - level) / level
    call = side == "ce"
    return {
        "average_price": 100.0,
        "greeks": {
            "delta": round((0.5 - 10 * distance) if call else (-0.5 - 10 * distance), 5),
            "theta": -12.88756,
            "gamma": 0.00136,
            "vega": 12.98931,
        },
        "implied_volatility": round(12.5 + 40 * abs(distance), 6),
        "last_price": round(max(level - strike, 0) if call else max(strike - level, 0), 2) + 25.0,
        "oi": 3_786_445 + int(strike),
        "previous_close_price": 90.0,
        "previous_oi": 1_000,
        "previous_volume": 1,
        "top_ask_price": 1.0,
        "top_ask_quantity": 75,
        "top_bid_price": 1.0,
        "top_bid_quantity": 75,
        "volume": 117_567_970,
    }


def chain_body(security_id: int, strikes_each_side: int = 5) -> dict[str, Any]:
    level, step = LEVELS[security_id]
    atm = round(level / step) * step
    oc = {
        f"{atm + offset * step:.6f}": {
            "ce": quote(level, atm + offset * step, "ce"),
            "pe": quote(level, atm + offset * step, "pe"),
        }
        for offset in range(-strikes_each_side, strikes_each_side + 1)
    }
    return {"data": {"last_price": level, "oc": oc}, "status": "success"}


class DhanOptionChainServer(ThreadedLoopback):
    """The fake option-chain API: start it, point `DhanOptionChains` at `base_url`, count."""

    thread_name = "dhan-option-chain"

    def __init__(self, *, access_token: str, client_id: str, too_fast: bool = False) -> None:
        self.access_token = access_token
        self.client_id = client_id
        self.too_fast = too_fast
        self._arrivals: list[float] = []
        self._requests: list[RecordedRequest] = []
        self._last_chain: float | None = None
        self._mangle: Callable[[dict[str, Any]], Any] | None = None
        self._lock = threading.Lock()

    def mangle_next(self, change: Callable[[dict[str, Any]], Any]) -> None:
        with self._lock:
            self._mangle = change

    @property
    def arrivals(self) -> list[float]:
        with self._lock:
            return list(self._arrivals)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def chain_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/optionchain"]

    # --- the ServesDhan protocol of the shared handler ----------------------------------------

    def arrive(self, request: RecordedRequest) -> tuple[int, bytes] | None:
        now = time.monotonic()
        with self._lock:
            self._arrivals.append(now)
            previous, self._last_chain = self._last_chain, now
            if self.too_fast and previous is not None and now - previous < 3.0:
                self._requests.append(request)
                return 429, DH_904
        return None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def handle(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        if method != "POST" or path not in ("/optionchain", "/optionchain/expirylist"):
            return 404, json_bytes({"status": 404, "error": "Not Found", "path": path})
        try:
            security_id = int(body["UnderlyingScrip"])
            if body["UnderlyingSeg"] != "IDX_I" or security_id not in LEVELS:
                raise ValueError("underlying")
            if path == "/optionchain/expirylist":
                return 200, json_bytes({"data": EXPIRIES, "status": "success"})
            if body["Expiry"] not in EXPIRIES:
                raise ValueError("expiry")
        except (KeyError, TypeError, ValueError):
            return 400, BAD_INPUT
        answer = chain_body(security_id)
        with self._lock:
            mangle, self._mangle = self._mangle, None
        return 200, json_bytes(mangle(answer) if mangle is not None else answer)

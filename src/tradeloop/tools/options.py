"""The option tool the agent may call: a near-the-money slice of a model chain.

The chain is priced as of the last minute the research tools may see (never the lockbox, which
is held out for the deployment gate), from that minute's close and that day's stored IV.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import JsonValue

from tradeloop.agent import FunctionTool, ToolResult, tool
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.errors import NotFoundError
from tradeloop.tools.session import ResearchSession

STRIKES_EACH_SIDE = 3


def make_fetch_option_chain(session: ResearchSession) -> FunctionTool:
    """The `fetch_option_chain` tool on the session's candles and option pricing."""

    @tool(keywords=("option", "premium"))
    def fetch_option_chain(symbol: str = "NIFTY", expiry: date | None = None) -> ToolResult:
        """Option prices near the money: for the at-the-money strike and 3 each side, the CE
        and PE premium (rupees per unit), implied volatility (percent) and delta. Model prices
        (Black-Scholes on the stored spot and IV), not market quotes.

        Args:
            symbol: NIFTY or BANKNIFTY.
            expiry: Expiry day (YYYY-MM-DD); omit for the current weekly (or the monthly).
        """
        name = index_instrument(symbol).symbol
        candles = session.minute_candles(name, None, None)
        if candles.is_empty():
            raise NotFoundError(f"no {name} minute candles are stored to price options from")
        last = candles.row(-1, named=True)
        chain = session.option_chain(
            name, last["ts"] + timedelta(minutes=1), float(last["close"]), expiry, STRIKES_EACH_SIDE
        )
        rows = chain.around(STRIKES_EACH_SIDE).sort("strike")
        calls = rows.filter(rows["option_type"] == "CE").iter_rows(named=True)
        puts = rows.filter(rows["option_type"] == "PE").iter_rows(named=True)
        strikes: list[JsonValue] = [
            {
                "strike": call["strike"],
                "ce": round(call["price"], 2),
                "ce_iv_pct": round(call["iv"] * 100, 1),
                "ce_delta": round(call["delta"], 2),
                "pe": round(put["price"], 2),
                "pe_iv_pct": round(put["iv"] * 100, 1),
                "pe_delta": round(put["delta"], 2),
            }
            for call, put in zip(calls, puts, strict=True)
        ]
        return ToolResult.ok(
            {
                "symbol": name,
                "expiry": chain.expiry.isoformat(),
                "as_of_ist": f"{to_ist(chain.as_of):%Y-%m-%d %H:%M}",
                "spot": round(chain.spot, 2),
                "days_to_expiry": round(chain.time * 365, 2),
                "prices": "model",
                "strikes": strikes,
            }
        )

    return fetch_option_chain

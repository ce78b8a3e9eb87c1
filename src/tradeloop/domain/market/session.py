"""The NSE equity-derivatives session, written once: open, close, square-off, entry window.

Every rule that needs one of these times imports it from here: the calendar, the candle
validator, the indicators' minute-of-session clock, the strategy DSL's defaults, the backtest
kernel's square-off, the risk limits' entry window and the position manager's square-off.

Times are IST wall-clock times (Asia/Kolkata, UTC+05:30 all year). Minute bars are labelled by
their open time, so a session's bars run from 09:15 to 15:29 inclusive.
"""

from __future__ import annotations

from datetime import time
from typing import Final

OPEN: Final = time(9, 15)
"""The first minute of the session (the 09:15 bar opens it)."""
CLOSE: Final = time(15, 30)
"""The end of the session: the last 1m bar is labelled 15:29."""
SQUARE_OFF: Final = time(15, 15)
"""Default time at which intraday positions are closed (brokers square off around 15:15-15:20)."""
ENTRY_WINDOW_START: Final = time(9, 20)
"""Default first time of day for new entries: the opening minutes are the most erratic."""
ENTRY_WINDOW_END: Final = time(15, 0)
"""Default last time of day for new entries: leaves room before the square-off."""


def minute_of_day(at: time) -> int:
    """Minutes since midnight of a wall-clock time: 09:15 → 555."""
    return at.hour * 60 + at.minute


OPEN_MINUTE: Final = minute_of_day(OPEN)
CLOSE_MINUTE: Final = minute_of_day(CLOSE)
SQUARE_OFF_MINUTE: Final = minute_of_day(SQUARE_OFF)
MINUTES: Final = CLOSE_MINUTE - OPEN_MINUTE
"""Minutes (1m bars) in a full session: 375."""

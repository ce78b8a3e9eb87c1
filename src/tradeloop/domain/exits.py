"""Why positions close: one vocabulary for the backtester, the paper session and live trading.

Each `ExitReason` carries the label the ledger stores and the trade lists show, and the code
the compiled backtest writes in a trade record (compiled code takes no strings).
"""

from __future__ import annotations

from enum import StrEnum


class ExitReason(StrEnum):
    """Why a position closed. The value is the stored label; `code` the kernel's number.

    A backtest closes trades for STOP to END_OF_DATA only (`BACKTEST_EXIT_REASONS`);
    KILL_SWITCH, HALTED and MANUAL close paper and live positions only.
    """

    code: int

    #       label              code
    STOP = "stop", 0
    TARGET = "target", 1
    TRAILING_STOP = "trailing_stop", 2
    BREAK_EVEN_STOP = "break_even_stop", 3
    MAX_BARS = "max_bars", 4
    SQUARE_OFF = "square_off", 5
    END_OF_DATA = "end_of_data", 6
    KILL_SWITCH = "kill_switch", 7
    HALTED = "halted", 8
    MANUAL = "manual", 9

    def __new__(cls, label: str, code: int) -> ExitReason:
        member = str.__new__(cls, label)
        member._value_ = label
        member.code = code
        return member


BACKTEST_EXIT_REASONS: tuple[ExitReason, ...] = tuple(
    reason for reason in ExitReason if reason.code <= ExitReason.END_OF_DATA.code
)
"""The reasons a backtest gives, in code order: `BACKTEST_EXIT_REASONS[code]`."""

"""`ExitReason`: one enum for the ledger's labels and the backtest kernel's codes."""

from __future__ import annotations

from tradeloop.domain.exits import BACKTEST_EXIT_REASONS, ExitReason


def test_labels_and_codes_are_the_ones_stored_and_written() -> None:
    # The ledger stores these labels and old backtests hold these codes: never renumber them.
    assert [(reason.value, reason.code) for reason in ExitReason] == [
        ("stop", 0),
        ("target", 1),
        ("trailing_stop", 2),
        ("break_even_stop", 3),
        ("max_bars", 4),
        ("square_off", 5),
        ("end_of_data", 6),
        ("kill_switch", 7),
        ("halted", 8),
        ("manual", 9),
    ]


def test_backtest_reasons_are_indexed_by_their_code() -> None:
    assert [reason.code for reason in BACKTEST_EXIT_REASONS] == list(
        range(len(BACKTEST_EXIT_REASONS))
    )
    assert ExitReason.KILL_SWITCH not in BACKTEST_EXIT_REASONS


def test_a_stored_label_reads_back_as_its_reason() -> None:
    assert ExitReason("trailing_stop") is ExitReason.TRAILING_STOP
    assert ExitReason.BREAK_EVEN_STOP == "break_even_stop"
    assert f"{ExitReason.HALTED}" == "halted"

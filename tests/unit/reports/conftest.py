"""A backtest saved by the real commands, once per session (tests/support/saved_backtest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.saved_backtest import TRADELOOP, SavedBacktest, save_backtest


@pytest.fixture(scope="session")
def saved_backtest(tmp_path_factory: pytest.TempPathFactory) -> SavedBacktest:
    if not Path(TRADELOOP).exists():
        pytest.skip("the tradeloop script is not installed beside this interpreter")
    return save_backtest(tmp_path_factory.mktemp("saved-backtest"))

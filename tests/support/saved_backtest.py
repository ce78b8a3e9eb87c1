"""A backtest saved by the real commands: `tradeloop data synth` then `tradeloop backtest` on
the ORB example, each in its own process with its own data dir."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support.cli_env import cli_environment
from tradeloop.storage.backtests import BacktestArchive

TRADELOOP = str(Path(sys.executable).with_name("tradeloop"))
ORB_SPEC = Path(__file__).parents[2] / "examples" / "strategies" / "nifty_orb_vwap_5m.json"


@dataclass(frozen=True)
class SavedBacktest:
    """Where the session's backtest lives: the environment that names its data dir, and its id."""

    env: dict[str, str]
    data_dir: Path
    backtest_id: str

    @property
    def archive(self) -> BacktestArchive:
        return BacktestArchive(self.data_dir / "backtests")


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRADELOOP, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def save_backtest(root: Path) -> SavedBacktest:
    """Synthesize 60 NIFTY sessions and backtest the ORB example on them, under `root`."""
    env = cli_environment(root)
    for args in (
        ("data", "synth", "--symbol", "NIFTY", "--days", "60"),
        ("backtest", str(ORB_SPEC)),
    ):
        result = run_cli(env, *args)
        assert result.returncode == 0, result.stdout + result.stderr
    data_dir = root / "data"
    [entry] = BacktestArchive(data_dir / "backtests").list()
    # `tradeloop backtest` names the id its report is asked for by.
    assert f"backtest id {entry.id}: `tradeloop report {entry.id} --open`" in result.stdout
    return SavedBacktest(env, data_dir, entry.id)

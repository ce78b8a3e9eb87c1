"""`tradeloop feed replay` in a subprocess, watched by `tradeloop feed watch --json`, stopped by
Ctrl-C (SIGINT): both commands end to end over loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tradeloop.app.stores import candle_store
from tradeloop.cli import main
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.settings import Settings

DAY = date(2025, 3, 4)


def test_a_replay_served_by_the_cli_is_watched_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    executable = Path(sys.executable).with_name("tradeloop")
    if not executable.exists():
        pytest.skip("the tradeloop script is not installed beside this interpreter")
    data_dir = tmp_path / "data"
    store = candle_store(Settings(data_dir=data_dir))
    for symbol in ("NIFTY", "BANKNIFTY"):
        store.write(generate_market(symbol, days=2, start=date(2025, 3, 3)).candles)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
        "TRADELOOP_DATA_DIR": str(data_dir),
    }
    replay = subprocess.Popen(
        [str(executable), "feed", "replay", "--date", str(DAY), "--speed", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert replay.stdout is not None
        lines = []
        for line in replay.stdout:
            lines.append(line)
            if line.startswith("feed URL: "):
                break
        assert lines and lines[-1].startswith("feed URL: "), "".join(lines)
        url = lines[-1].removeprefix("feed URL: ").strip()
        assert url.startswith("ws://127.0.0.1:")

        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("TRADELOOP_DATA_DIR", str(data_dir))
        monkeypatch.setattr(sys, "argv", ["tradeloop", "feed", "watch", "--replay", url, "--json"])
        try:
            main()
        except SystemExit as exited:
            assert exited.code in (0, None)
        snapshot = json.loads(capsys.readouterr().out)
        assert [row["symbol"] for row in snapshot] == ["NIFTY", "BANKNIFTY"]
        for row in snapshot:
            assert row["ltp"] > 0 and row["stale"] is False
            assert row["exchange_time"].startswith(f"{DAY}T09:1")
            assert row["change"] is not None  # from the stored previous session's close
    finally:
        replay.send_signal(signal.SIGINT)
        out, err = replay.communicate(timeout=30)
    assert replay.returncode == 0, err
    assert "replay stopped" in out
    assert "Traceback" not in err

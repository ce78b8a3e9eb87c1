"""Commands that start Prefect keep its files in the data dir when PREFECT_HOME is not set.

A new user runs `.venv/bin/tradeloop manage ...` from a shell with no Prefect variables (the
demo tells them to). Before, `manage` reached the temporary Prefect server with PREFECT_HOME
unset and crashed (KeyError), and `serve` imported Prefect before the data dir's home was set.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.cli_env import cli_environment

TRADELOOP = str(Path(sys.executable).parent / "tradeloop")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("manage", "--date", "2025-03-03"), "no active paper deployment"),
        (("serve",), "PREFECT_API_URL is not set"),
    ],
)
def test_prefect_lives_in_the_data_dir_without_prefect_home(
    tmp_path: Path, command: tuple[str, ...], expected: str
) -> None:
    env = cli_environment(tmp_path)
    del env["PREFECT_HOME"]
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()

    done = subprocess.run(
        [TRADELOOP, *command], env=env, capture_output=True, text=True, timeout=300
    )

    output = " ".join((done.stdout + done.stderr).split())
    assert expected in output, output
    assert "bug in tradeloop" not in output
    assert (tmp_path / "data" / "prefect").is_dir()
    assert not (tmp_path / "home" / ".prefect").exists()

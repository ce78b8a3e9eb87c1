"""CLI start-up: `tradeloop --version`, `--help` and `data ls`, each in a fresh process.

Each command runs as the installed `tradeloop` script (the venv's, beside this interpreter)
with the data directory in a temporary folder, so `data ls` finds an empty store. The time is
the wall clock from spawn to exit, median of several runs taken in turns.

Targets on an idle machine (issue 12): `--version` and `--help` < 0.5 s; `data ls`, a command
doing its own (small) work, < 1 s. The load average is printed: on a busy machine every
number grows, so read them against it. `-X importtime` shows what a slow start imports:
`python -X importtime -c "import tradeloop.cli"`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
COMMANDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("--version",), 0.5),
    (("--help",), 0.5),
    (("data", "ls"), 1.0),
)


def scratch_dir() -> Path:
    """The repository's `.tmp/`: a benchmark writes nothing outside the repository."""
    folder = Path(__file__).resolve().parent.parent / ".tmp"
    folder.mkdir(exist_ok=True)
    return folder


def _script() -> list[str]:
    installed = Path(sys.executable).with_name("tradeloop")
    if installed.is_file():
        return [str(installed)]
    return [sys.executable, "-c", "from tradeloop.cli import main; main()"]


def _seconds(command: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def main() -> None:
    script = _script()
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as folder:
        environment = {**os.environ, "TRADELOOP_DATA_DIR": str(Path(folder) / "data")}
        _seconds([*script, "--version"], environment)  # warm the file cache and bytecode
        samples: dict[tuple[str, ...], list[float]] = {args: [] for args, _ in COMMANDS}
        for _ in range(RUNS):
            for args, _target in COMMANDS:
                samples[args].append(_seconds([*script, *args], environment))
    one, five, fifteen = os.getloadavg()
    print(f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs")
    print(f"{'command':<24}{'median':>10}{'min':>10}{'target':>10}")
    for args, target in COMMANDS:
        median, fastest = statistics.median(samples[args]), min(samples[args])
        verdict = "ok" if median < target else "SLOW"
        print(
            f"{'tradeloop ' + ' '.join(args):<24}{median:>9.2f}s{fastest:>9.2f}s"
            f"{'< ' + format(target, '.1f') + 's':>10}  {verdict}"
        )


if __name__ == "__main__":
    main()

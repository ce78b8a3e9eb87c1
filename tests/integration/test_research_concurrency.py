"""Four `tradeloop research run`s at once on one data dir all finish and are all remembered.

Issue 17's concurrency acceptance: the real command in four processes started together, each
with its own temporary Prefect server on the shared PREFECT_HOME, each remembering its batches
in the one strategy memory while the others write theirs. Every run exits 0 without a
traceback, and memory then holds every row of every run: per run id, one row per spec of that
run's leaderboard.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from support.cli_env import cli_environment
from tradeloop.domain.strategy.generators import random_specs

pytestmark = pytest.mark.slow

TRADELOOP = str(Path(sys.executable).parent / "tradeloop")
SEEDS = (21, 22, 23, 24)
RANDOM = 12
RESEARCH = [TRADELOOP, "research", "run", "--symbol", "NIFTY", "--random", str(RANDOM)]
RESEARCH += ["--walk-forward", "2", "--batch-size", "4", "--json"]


def test_four_research_runs_at_once_all_complete_and_memory_holds_every_row(
    tmp_path: Path,
) -> None:
    drawn = {
        seed: {spec.id for spec in random_specs(seed, RANDOM, "NIFTY", "5m")} for seed in SEEDS
    }
    every = set().union(*drawn.values())
    assert len(every) == sum(map(len, drawn.values())), "the seeds must draw different specs"

    env = cli_environment(tmp_path)
    synth = [TRADELOOP, "data", "synth", "--symbol", "NIFTY", "--days", "40"]
    subprocess.run(synth, env=env, check=True, capture_output=True, timeout=300)
    runs = {
        seed: subprocess.Popen(
            [*RESEARCH, "--seed", str(seed)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in SEEDS
    }
    results = {}
    try:
        for seed, run in runs.items():
            output, errors = run.communicate(timeout=600)
            assert run.returncode == 0, output + errors
            assert "Traceback" not in output + errors, output + errors
            results[seed] = json.loads(output)
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
                run.wait()

    memory = tmp_path / "data" / "memory"
    batches = [path for path in memory.glob("run=*.parquet") if ".gate" not in path.name]
    remembered = pl.read_parquet(batches)
    by_run = {
        run_id: set(frame["spec_id"])
        for (run_id,), frame in remembered.group_by("run_id")  # type: ignore[misc]
    }
    rows = dict(remembered.group_by("run_id").len().iter_rows())
    assert len(by_run) == len(SEEDS)
    for seed, result in results.items():
        leaderboard = {row["spec_id"] for row in result["leaderboard"]}
        assert leaderboard == drawn[seed]  # every drawn spec ranked (option ones too: IV stored)
        assert (result["evaluated"], result["reused"]) == (len(leaderboard), 0)
        (run_id,) = [run_id for run_id, specs in by_run.items() if specs == leaderboard]
        assert rows[run_id] == len(result["leaderboard"])  # each spec once, none lost
    gated = [path for path in memory.glob("run=*.gate.parquet")]
    if gated:  # a gate part re-remembers, with its verdict, a spec of the same run
        for (run_id,), frame in pl.read_parquet(gated).group_by("run_id"):  # type: ignore[misc]
            assert set(frame["spec_id"]) <= by_run[run_id]

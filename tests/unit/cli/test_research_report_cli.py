"""`tradeloop research runs` lists the runs strategy memory holds (80 columns, or JSON);
`tradeloop research report RUN_ID` writes the run's page (and PNG) under the data dir, opens it
on --open, and refuses an unknown run id naming it and how to list the runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support.cli_env import cli_environment
from support.research_runs import FIRST_RUN, SECOND_RUN, SPECS, remember_two_runs
from support.saved_backtest import TRADELOOP, run_cli
from tradeloop.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not Path(TRADELOOP).exists():
        pytest.skip("the tradeloop script is not installed beside this interpreter")
    env = cli_environment(tmp_path_factory.mktemp("research-runs"))
    remember_two_runs(Path(env["TRADELOOP_DATA_DIR"]))
    return env


def test_research_runs_lists_the_latest_first_at_80_columns(runs_env: dict[str, str]) -> None:
    result = run_cli(runs_env | {"COLUMNS": "80"}, "research", "runs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    first = next(line for line in lines if FIRST_RUN in line)  # whole ids, never cut
    second = next(line for line in lines if SECOND_RUN in line)
    assert lines.index(second) < lines.index(first)
    assert first.split()[1:] == ["2025-06-02", "15:32", str(SPECS), "1"]
    assert second.split()[1:] == ["2025-06-03", "15:31", str(SPECS + 1), "1"]
    assert "…" not in result.stdout and "tradeloop research report RUN_ID" in result.stdout


def test_research_runs_json_has_every_run(runs_env: dict[str, str]) -> None:
    result = run_cli(runs_env, "research", "runs", "--json")
    assert result.returncode == 0, result.stderr
    assert [(run["run_id"], run["specs"], run["passed"]) for run in json.loads(result.stdout)] == [
        (SECOND_RUN, SPECS + 1, 1),
        (FIRST_RUN, SPECS, 1),
    ]


def test_research_report_writes_the_page_and_the_png_under_the_data_dir(
    runs_env: dict[str, str],
) -> None:
    result = run_cli(runs_env, "research", "report", SECOND_RUN, "--png")
    assert result.returncode == 0, result.stderr
    folder = Path(runs_env["TRADELOOP_DATA_DIR"]) / "reports" / "research" / SECOND_RUN
    written = [line.removeprefix("wrote ") for line in result.stdout.splitlines()]
    assert written == [str(folder / "report.html"), str(folder / "scores.png")]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert f"Research run {SECOND_RUN}" in page
    assert "<td class='text'>ranked</td><td>25</td>" in page  # the reused specs included
    assert "1 score(s) are not a number (NaN) or infinite" in page
    assert (folder / "scores.png").read_bytes()[:8] == PNG_SIGNATURE


def test_an_unknown_run_id_is_named_with_how_to_list_the_runs(runs_env: dict[str, str]) -> None:
    result = run_cli(runs_env | {"COLUMNS": "200"}, "research", "report", FIRST_RUN[:-1] + "9")
    assert result.returncode == 2
    assert f"no research run '{FIRST_RUN[:-1]}9' in strategy memory" in result.stderr
    assert f"did you mean {FIRST_RUN}?" in result.stderr
    assert "`tradeloop research runs` lists the runs" in result.stderr
    assert "Traceback" not in result.stderr


def test_research_report_open_hands_the_page_to_the_web_browser(
    runs_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def record_open(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", record_open)
    for key in ("TRADELOOP_DATA_DIR", "TRADELOOP_CONFIG"):
        monkeypatch.setenv(key, runs_env[key])
    monkeypatch.setattr(sys, "argv", ["tradeloop", "research", "report", FIRST_RUN, "--open"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    page = Path(runs_env["TRADELOOP_DATA_DIR"]) / "reports" / "research" / FIRST_RUN / "report.html"
    assert opened == [page.resolve().as_uri()]


def test_research_runs_on_an_empty_memory_says_how_to_make_one(tmp_path: Path) -> None:
    result = run_cli(cli_environment(tmp_path), "research", "runs")
    assert result.returncode == 0, result.stderr
    assert "no research runs in strategy memory" in result.stdout
    assert "tradeloop research run" in result.stdout

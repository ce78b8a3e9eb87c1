"""The terminal as a trader meets it, at 80 columns: the leaderboard (`research run`), strategy
memory (`research best`), the scorecard (`backtest`) and every command's `--help`.

A cell a trader reads (a name, a spec id, a score, a rupee amount) is never cut to "…"; a
listing is scriptable with `--json`; a TOML section named in help ("[risk]") is not eaten as
rich markup.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import click
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import tradeloop.cli._backtest_report as backtest_report
import tradeloop.cli.research as research_cli
from tradeloop.app.stores import strategy_memory
from tradeloop.cli import app
from tradeloop.domain.backtest.scoring import ScoreCard
from tradeloop.domain.research import LeaderboardRow
from tradeloop.settings import load_settings
from tradeloop.storage.memory import StrategyRecord

ROWS = 831
EVALUATED = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # 15:30 IST


def _row(rank: int) -> LeaderboardRow:
    few = rank % 2 == 0
    return LeaderboardRow(
        rank=rank,
        name=f"banknifty_random_7_{rank:04d}_15m",
        spec_id=f"{rank:016x}",
        symbol="BANKNIFTY",
        timeframe="15m",
        score=0.0 if few else 0.6123,
        passed=rank == 1,
        trades=3 if few else 41,
        win_rate_pct=55.5,
        profit_factor=1.0123,
        net_pnl=-1_234_567.0,
        return_pct=-12.3,
        max_drawdown_pct=20.1,
        sharpe=-1.2345,
        reason="" if rank == 1 else (f"only {rank} out-of-sample trades" if few else "DSR low"),
        lockbox_sharpe=0.5,
        lockbox_trades=12,
        psr=0.51,
        dsr=0.12,
        trials=ROWS,
    )


@pytest.fixture
def narrow_console(monkeypatch: pytest.MonkeyPatch) -> Console:
    console = Console(width=80, record=True, color_system=None, force_terminal=False)
    monkeypatch.setattr(research_cli, "console", console)
    return console


@pytest.fixture
def research_of_831_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`research run` without Prefect or candles: the flow returns a leaderboard of 831 rows."""
    import tradeloop.cli._prefect as prefect_module
    import tradeloop.flows.research as research_flows

    result = research_flows.ResearchResult(
        leaderboard=[_row(rank) for rank in range(1, ROWS + 1)],
        evaluated=ROWS,
        reused=0,
        run_id="run-7",
        report="/data/reports/research/run-7/report.html",
    )
    monkeypatch.setattr(research_flows, "research_flow", lambda parameters: result)
    monkeypatch.setattr(prefect_module, "prefect_api", lambda: nullcontext("http://unused"))
    monkeypatch.setattr(research_cli, "_check_candles", lambda current, parameters: None)
    yield


def _invoke(*args: str) -> str:
    outcome = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


@pytest.mark.usefixtures("research_of_831_rows")
def test_research_run_prints_a_screenful_and_says_how_many_were_left_out(
    narrow_console: Console,
) -> None:
    _invoke("research", "run", "--templates", "5m")
    text = narrow_console.export_text()
    assert "banknifty_random_7_0020_15m" in text and "banknifty_random_7_0021_15m" not in text
    flat = " ".join(text.split())
    assert f"top 20 of {ROWS} strategies ({ROWS - 20} left out)" in flat
    assert "tradeloop research best" in flat and "--json" in flat
    assert "`tradeloop research report run-7 --open` opens it" in flat
    assert "\n/data/reports/research/run-7/report.html\n" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for cell in ("0.612", "-₹12,34,567", "1.01", "0.12"):  # score, net P&L, PF, DSR
        assert cell in text


@pytest.mark.usefixtures("research_of_831_rows")
def test_research_run_limit_sets_the_rows_and_ties_each_note_to_its_rank(
    narrow_console: Console,
) -> None:
    _invoke("research", "run", "--templates", "5m", "--limit", "4")
    text = narrow_console.export_text()
    assert "banknifty_random_7_0004_15m" in text and "banknifty_random_7_0005_15m" not in text
    notes = text[text.index("Why not passed") :]
    assert "#2 banknifty_random_7_0002_15m: only 2 out-of-sample trades" in notes
    assert "#4 banknifty_random_7_0004_15m: only 4 out-of-sample trades" in notes
    assert "#3 banknifty_random_7_0003_15m: DSR low" in notes
    assert "#1 " not in notes  # it passed: nothing to explain


@pytest.mark.usefixtures("research_of_831_rows")
def test_research_run_json_holds_the_whole_leaderboard() -> None:
    output = _invoke("research", "run", "--templates", "5m", "--json", "--limit", "3")
    leaderboard = json.loads(output)["leaderboard"]
    assert len(leaderboard) == ROWS
    assert leaderboard[-1]["name"] == f"banknifty_random_7_{ROWS:04d}_15m"


def _remember(count: int) -> None:
    records = [
        StrategyRecord(
            run_id="run-1",
            evaluated_at=EVALUATED - timedelta(minutes=index),
            spec_id=f"{index:04d}abcdef012345",
            name=f"banknifty_random_7_{index:04d}_15m",
            symbol="BANKNIFTY",
            timeframe="15m",
            regime="trending-up/normal-vol",
            window_start=EVALUATED - timedelta(days=300),
            window_end=EVALUATED,
            score=0.9 - index / 100,
            passed=False,
            reasons=(f"only {index} out-of-sample trades",),
            metrics={"trades": 41.0, "net_pnl": -1_234_567.0},
            gate={"dsr": 0.12, "psr": 0.5, "lockbox_sharpe": 0.4, "trials": math.nan},
            spec_json='{"name": "x"}',
        )
        for index in range(count)
    ]
    strategy_memory(load_settings()).remember("run-1", records)


def test_research_best_at_80_columns_keeps_names_and_whole_spec_ids_with_ist_times(
    narrow_console: Console,
) -> None:
    _remember(3)
    _invoke("research", "best")
    text = narrow_console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = "".join(text.split())  # a folded cell is whole once the wrapping is undone
    for index in range(3):
        assert f"banknifty_random_7_{index:04d}_15m" in flat
        assert f"{index:04d}abcdef012345" in text  # a spec id is copied: one line, whole
    assert "(IST)" in text and "UTC" not in text
    assert "2025-06-02" in text and "15:30" in text  # 10:00 UTC
    assert "#3 banknifty_random_7_0002_15m: only 2 out-of-sample trades" in text


def test_research_best_json_lists_every_record() -> None:
    _remember(3)
    records = json.loads(_invoke("research", "best", "--json"))
    assert [record["spec_id"] for record in records] == [
        f"{index:04d}abcdef012345" for index in range(3)
    ]


def test_scorecard_names_its_components_apart_from_the_raw_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(backtest_report, "console", console)
    card = ScoreCard(
        score=0.31,
        components={"win_rate": 0.45, "profit_factor": 0.004, "max_drawdown": 0.12},
        passed=False,
        reasons=("score 0.310 is below min_score = 0.500",),
    )
    backtest_report._print_score(card, out_of_sample=True)
    text = " ".join(console.export_text().split())
    assert "profit-factor score 0.004" in text and "win-rate score 0.450" in text
    assert not re.search(r"profit[ _]factor 0\.004", text)


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():  # a group
        yield from _commands(sub, (*path, name))


def _sections(command: click.Command) -> set[str]:
    """The `[section]` names a command's help and option help texts mention."""
    texts = [command.help or "", *(getattr(param, "help", None) or "" for param in command.params)]
    return set(re.findall(r"\[[a-z_]+\]", " ".join(texts).replace("\\[", "[")))


def test_every_help_text_keeps_its_toml_sections() -> None:
    runner = CliRunner()
    lost: list[str] = []
    seen: set[str] = set()
    for path, command in _commands(typer.main.get_command(app)):
        sections = _sections(command)
        if not sections:
            continue
        output = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
        seen |= sections
        lost += [f"{' '.join(path)}: {section}" for section in sections if section not in output]
    assert {"[risk]", "[execution]", "[options]"} <= seen  # the walk found the help texts
    assert not lost, f"eaten by rich markup (escape it as \\[): {lost}"

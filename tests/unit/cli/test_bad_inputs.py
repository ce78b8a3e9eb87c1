"""A table of user mistakes in config files, environment values and spec files, each run
through the real entry point (`tradeloop.cli.main`, which maps errors to exit codes).

Each must end in exit 2 (the user's input) or 1 (an operational refusal), with no traceback and
a message that names the input. Two cases also run `.venv/bin/tradeloop` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tradeloop.cli import main


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expected_code: int
    names: tuple[str, ...]
    config: str | bytes | None = None  # written to bad.toml, named by TRADELOOP_CONFIG
    env: dict[str, str | None] = field(default_factory=dict)  # None unsets; "{tmp}": tmp_path
    dotenv: str | None = None  # written to ./.env
    files: dict[str, str] = field(default_factory=dict)  # extra files, relative to tmp
    absent: tuple[str, ...] = ()  # must not appear (a password, Prefect's log)


SHOW = ("config", "show")
RUN = ("research", "run")
DEEP = "[" * 100_000 + "]" * 100_000

CASES = [
    # -- config files --------------------------------------------------------------------------
    Case("toml-syntax", SHOW, 2, ("bad.toml", "not valid TOML", "line 2"), "[risk]\ncapital =\n"),
    Case(
        "toml-unquoted-time", SHOW, 2, ("bad.toml", "line 2"), "[risk]\nentry_window_end = 15:00\n"
    ),
    Case(
        "capital-inf",
        SHOW,
        2,
        ("risk.capital", "bad.toml [risk]", "finite"),
        "[risk]\ncapital = inf\n",
    ),
    Case("capital-nan", SHOW, 2, ("risk.capital", "bad.toml [risk]"), "[risk]\ncapital = nan\n"),
    Case(
        "negative-weight",
        SHOW,
        2,
        ("strategy.weight_win_rate", "bad.toml [strategy]", "-1"),
        "[strategy]\nweight_win_rate = -1\n",
    ),
    Case("unknown-key", SHOW, 2, ("risk.max_open_postions",), "[risk]\nmax_open_postions = 2\n"),
    Case(
        "window-reversed",
        SHOW,
        2,
        ("section [risk]", "bad.toml", "entry_window_start", "entry_window_end"),
        '[risk]\nentry_window_start = "15:00:00"\nentry_window_end = "10:00:00"\n',
    ),
    Case("not-utf8", SHOW, 2, ("bad.toml", "UTF-8"), b"[risk]\ncapital = \xff\xfe\n"),
    Case("bad-config-on-trades", ("trades",), 2, ("bad.toml",), "[risk\n"),
    # -- environment ---------------------------------------------------------------------------
    Case(
        "config-missing",
        SHOW,
        2,
        ("TRADELOOP_CONFIG", "typo.toml", "does not exist"),
        env={"TRADELOOP_CONFIG": "{tmp}/typo.toml"},
    ),
    Case("config-empty", SHOW, 2, ("TRADELOOP_CONFIG", "empty"), env={"TRADELOOP_CONFIG": ""}),
    Case(
        "config-directory",
        SHOW,
        2,
        ("TRADELOOP_CONFIG", "is a directory"),
        env={"TRADELOOP_CONFIG": "{tmp}"},
    ),
    Case(
        "data-dir-empty", SHOW, 2, ("TRADELOOP_DATA_DIR", "empty"), env={"TRADELOOP_DATA_DIR": ""}
    ),
    Case(
        "data-dir-file",
        SHOW,
        2,
        ("TRADELOOP_DATA_DIR", "a-file", "not a directory"),
        env={"TRADELOOP_DATA_DIR": "{tmp}/a-file"},
        files={"a-file": "x"},
    ),
    Case(
        "capital-text",
        SHOW,
        2,
        ("TRADELOOP_RISK__CAPITAL", "abc"),
        env={"TRADELOOP_RISK__CAPITAL": "abc"},
    ),
    Case(
        "mode-typo",
        SHOW,
        2,
        ("TRADELOOP_TRADING_MODE", "lvie"),
        env={"TRADELOOP_TRADING_MODE": "lvie"},
    ),
    # -- .env ----------------------------------------------------------------------------------
    Case(
        "home-in-dotenv",
        SHOW,
        2,
        ("TRADELOOP_HOME", ".env", "prefect deploy"),
        dotenv="TRADELOOP_HOME=/srv/tradeloop\n",
    ),
    Case(
        "config-in-dotenv-missing",
        SHOW,
        2,
        (".env TRADELOOP_CONFIG", "nowhere.toml"),
        env={"TRADELOOP_CONFIG": None},
        dotenv="TRADELOOP_CONFIG=nowhere.toml\n",
    ),
    Case(
        "value-in-dotenv",
        SHOW,
        2,
        ("TRADELOOP_RISK__MAX_OPEN_POSITIONS in .env", "0"),
        dotenv="TRADELOOP_RISK__MAX_OPEN_POSITIONS=0\n",
    ),
    # -- requested live, refused ---------------------------------------------------------------
    *[
        Case(
            f"live-refused-{command}",
            (command,),
            1,
            ("live trading refused", "TRADELOOP_DHAN_CLIENT_ID", "TRADELOOP_LIVE_CONFIRM"),
            env={"TRADELOOP_TRADING_MODE": "live"},
        )
        for command in ("positions", "orders", "trades")
    ],
    # -- services that are not running --------------------------------------------------------
    Case(
        "agent-ollama-down",  # refused before the flow runs: no Prefect log of a failed run
        ("agent", "research", "--planner", "ollama"),
        1,  # a service that is not running: operational, like an unreachable database
        ("cannot connect to Ollama at http://127.0.0.1:1", "ollama serve"),
        env={"TRADELOOP_OLLAMA_HOST": "http://127.0.0.1:1"},
        absent=("Flow run", "Encountered exception"),
    ),
    # -- the ledger database -------------------------------------------------------------------
    *[
        Case(
            f"ledger-postgres-refused-{command}",
            (command,),
            1,
            ("DatabaseUnavailableError", "127.0.0.1:1", "start PostgreSQL", "DATABASE_URL"),
            env={"TRADELOOP_DATABASE_URL": "postgresql+psycopg2://u:s3cretpw@127.0.0.1:1/x"},
            absent=("s3cretpw",),
        )
        for command in ("positions", "trades")
    ],
    Case(
        "ledger-sqlite-directory-is-a-file",
        ("positions",),
        2,
        ("a-file", "cannot be created", "TRADELOOP_DATABASE_URL"),
        env={"TRADELOOP_DATABASE_URL": "sqlite:///{tmp}/a-file/ledger.sqlite"},
        files={"a-file": "x"},
    ),
    Case(
        "ledger-sqlite-file-is-a-directory",
        ("positions",),
        1,
        ("DatabaseUnavailableError", "cannot be opened", "TRADELOOP_DATABASE_URL"),
        env={"TRADELOOP_DATABASE_URL": "sqlite:///{tmp}"},
    ),
    # -- spec files ----------------------------------------------------------------------------
    Case(
        "spec-duplicate-key",
        ("strategy", "validate", "{tmp}/dup.json"),
        2,
        ("dup.json", "'name' twice"),
        files={"dup.json": '{"name": "a", "name": "b"}'},
    ),
    Case(
        "spec-too-deep",
        ("strategy", "validate", "{tmp}/deep.json"),
        2,
        ("deep.json", "nested too deeply"),
        files={"deep.json": DEEP},
    ),
    Case(
        "spec-not-json",
        ("strategy", "validate", "{tmp}/bad.json"),
        2,
        ("bad.json", "not valid JSON"),
        files={"bad.json": "{name: 'x'}"},
    ),
    Case(
        "backtest-spec-duplicate-key",
        ("backtest", "{tmp}/dup.json"),
        2,
        ("dup.json", "'symbol' twice"),
        files={"dup.json": '{"symbol": "NIFTY", "symbol": "BANKNIFTY"}'},
    ),
    Case(
        "backtest-spec-too-deep",
        ("backtest", "{tmp}/deep.json"),
        2,
        ("deep.json", "nested too deeply"),
        files={"deep.json": "{" + '"a":{' * 50_000 + "}" * 50_001},
    ),
    Case("spec-missing", ("strategy", "validate", "{tmp}/nope.json"), 2, ("nope.json",)),
    # -- research run options: refused before the flow (and Prefect) starts ---------------------
    Case("research-random-negative", (*RUN, "--random", "-5"), 2, ("--random -5", "0 to 100000")),
    Case("research-random-text", (*RUN, "--random", "abc"), 2, ("--random", "valid integer")),
    Case("research-folds-zero", (*RUN, "--walk-forward", "0"), 2, ("--walk-forward 0", "1 to 20")),
    Case("research-folds-99", (*RUN, "--walk-forward", "99"), 2, ("--walk-forward 99", "1 to 20")),
    Case("research-from-month-13", (*RUN, "--from", "2025-13-01"), 2, ("--from", "YYYY-MM-DD")),
    Case("research-to-text", (*RUN, "--to", "yesterday"), 2, ("--to 'yesterday'", "YYYY-MM-DD")),
    Case(
        "research-to-before-from",
        (*RUN, "--from", "2025-03-10", "--to", "2025-03-01"),
        2,
        ("--from/--to", "2025-03-01 is before", "2025-03-10"),
    ),
    Case(
        "research-symbol-unknown",
        (*RUN, "--symbol", "NIFTTY"),
        2,
        ("--symbol", "NIFTTY", "Did you mean NIFTY?"),
    ),
    Case(
        "research-spec-dir-missing",
        (*RUN, "--spec-dir", "{tmp}/nope"),
        2,
        ("--spec-dir", "nope", "does not exist"),
    ),
    Case(
        "research-spec-dir-file",
        (*RUN, "--spec-dir", "{tmp}/one.json"),
        2,
        ("--spec-dir", "one.json", "not a directory"),
        files={"one.json": "{}"},
    ),
    Case("research-templates-7m", (*RUN, "--templates", "7m"), 2, ("--templates", "'7m'", "5m")),
    Case("research-seed-negative", (*RUN, "--seed", "-1"), 2, ("--seed -1", "0 or more")),
    Case(
        "research-spec-dir-bad-spec",
        (*RUN, "--spec-dir", "{tmp}/specs"),
        2,
        ("specs/bad.json", "symbol: required field is missing"),
        files={"specs/bad.json": '{"name": "x"}'},
    ),
    Case(
        "research-no-candles",
        (*RUN, "--templates", "5m", "--symbol", "BANKNIFTY"),
        2,
        ("no 1m candles for BANKNIFTY", "nothing yet", "tradeloop data synth"),
    ),
]


def _arrange(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # .env is read from the working directory
    for name, value in (
        ("PREFECT_HOME", str(tmp_path / "prefect")),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("PREFECT_LOGGING_LEVEL", "WARNING"),
        ("COLUMNS", "2000"),
    ):
        monkeypatch.setenv(name, value)
    for relative, text in case.files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    if case.config is not None:
        path = tmp_path / "bad.toml"
        if isinstance(case.config, bytes):
            path.write_bytes(case.config)
        else:
            path.write_text(case.config, encoding="utf-8")
        monkeypatch.setenv("TRADELOOP_CONFIG", str(path))
    if case.dotenv is not None:
        (tmp_path / ".env").write_text(case.dotenv, encoding="utf-8")
    for variable, setting in case.env.items():
        if setting is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, setting.replace("{tmp}", str(tmp_path)))


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_ends_in_a_message_naming_it(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _arrange(case, tmp_path, monkeypatch)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in case.args]
    monkeypatch.setattr(sys, "argv", ["tradeloop", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    output = _flat(captured.out + captured.err)
    assert exited.value.code == case.expected_code, output
    assert "Traceback" not in output
    for name in case.names:
        assert _flat(name) in output, f"{name!r} not in: {output}"
    for secret in case.absent:
        assert secret not in output


@pytest.mark.parametrize(
    ("config", "expected"),
    [("[risk]\ncapital = inf\n", "risk.capital"), ("[risk\n", "not valid TOML")],
    ids=["invalid-value", "toml-syntax"],
)
def test_the_installed_command_reports_a_bad_config_file_without_a_traceback(
    config: str, expected: str, tmp_path: Path
) -> None:
    executable = Path(sys.executable).with_name("tradeloop")
    if not executable.exists():
        pytest.skip("the tradeloop script is not installed beside this interpreter")
    path = tmp_path / "tradeloop.toml"
    path.write_text(config, encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COLUMNS": "2000",
        "TRADELOOP_DATA_DIR": str(tmp_path / "data"),
        "TRADELOOP_CONFIG": str(path),
    }
    result = subprocess.run(
        [str(executable), "config", "show"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    output = _flat(result.stdout + result.stderr)
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert expected in output and "tradeloop.toml" in output

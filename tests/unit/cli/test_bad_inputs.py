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
from typing import Any

import pytest
import typer

from tradeloop.cli import app, main


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expected_code: int
    names: tuple[str, ...]
    config: str | bytes | None = None  # written to bad.toml, named by TRADELOOP_CONFIG
    env: dict[str, str | None] = field(default_factory=dict)  # None unsets; "{tmp}": tmp_path
    dotenv: str | None = None  # written to ./.env
    files: dict[str, str | bytes] = field(default_factory=dict)  # extra files, relative to tmp
    absent: tuple[str, ...] = ()  # must not appear (a password, Prefect's log)


SHOW = ("config", "show")
ORB_SPEC = Path(__file__).parents[3] / "examples" / "strategies" / "nifty_orb_vwap_5m.json"
RUN = ("research", "run")
DEEP = "[" * 100_000 + "]" * 100_000
SYNTH = ("data", "synth")
IMPORT = ("data", "import")
GAPS = ("data", "gaps")
BEST = ("research", "best")
AGENT_RUN = ("agent", "run")
CANDLE_CSV = "ts,open,high,low,close,volume\n2025-01-02 09:15:00,100,101,99,100.5,10\n"
LOAD = ("instruments", "load")
FIND = ("instruments", "find")
OPTIONS_CHAIN = ("options", "chain")
OPTIONS_EXPIRIES = ("options", "expiries")
NO_DHAN_CREDENTIALS: dict[str, str | None] = {
    "TRADELOOP_DHAN_CLIENT_ID": None,
    "TRADELOOP_DHAN_ACCESS_TOKEN": None,
}
FEED_REPLAY = ("feed", "replay")
FEED_WATCH = ("feed", "watch")
FETCH_JANUARY = ("data", "fetch", "--symbol", "NIFTY", "--from", "2025-01-01", "--to", "2025-01-31")
MASTER_HEADER = (
    "EXCH_ID,SEGMENT,SECURITY_ID,INSTRUMENT,UNDERLYING_SYMBOL,SYMBOL_NAME,LOT_SIZE,"
    "SM_EXPIRY_DATE,STRIKE_PRICE,OPTION_TYPE,TICK_SIZE\n"
)
MASTER_ROW = "NSE,D,35001,OPTIDX,NIFTY,NIFTY-Dec2026-24000-CE,65.0,2026-12-29,24000.0,CE,5.0\n"

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
        "research-limit-zero", (*RUN, "--limit", "0"), 2, ("--limit", "greater than or equal to 1")
    ),
    Case("research-limit-text", (*RUN, "--limit", "all"), 2, ("--limit", "valid integer")),
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
    # -- data: refused before anything is generated, read or written ----------------------------
    Case("synth-days-zero", (*SYNTH, "--days", "0"), 2, ("--days", "greater than or equal to 1")),
    Case(
        "synth-seed-negative", (*SYNTH, "--seed", "-1"), 2, ("--seed", "greater than or equal to 0")
    ),
    Case("synth-symbol-unknown", (*SYNTH, "--symbol", "SENSEX"), 2, ("SENSEX", "NIFTY")),
    Case(
        "synth-start-month-13",
        (*SYNTH, "--start", "2025-13-01"),
        2,
        ("Invalid value for --start", "'2025-13-01' is not a date", "YYYY-MM-DD"),
    ),
    Case("synth-regime-typo", (*SYNTH, "--regime", "plantd"), 2, ("--regime 'plantd'", "planted")),
    Case(
        "synth-edge-too-strong",
        (*SYNTH, "--regime", "planted", "--edge-strength", "5"),
        2,
        ("--edge-strength 5", "0.8"),
    ),
    Case(
        "synth-bad-config",
        (*SYNTH, "--days", "1"),
        2,
        ("bad.toml", "risk.capital"),
        "[risk]\ncapital = -5\n",
    ),
    Case(
        "import-file-missing",
        (*IMPORT, "{tmp}/nope.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("nope.csv",),
    ),
    Case(
        "import-csv-malformed",
        (*IMPORT, "{tmp}/bad.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("bad.csv",),
        files={"bad.csv": 'ts,open,high\n2025-01-02 09:15,abc\n"unterminated,1,2\n'},
    ),
    Case(
        "import-prices-not-numbers",
        (*IMPORT, "{tmp}/bad.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("bad.csv", "open"),
        files={"bad.csv": "ts,open,high,low,close\n2025-01-02 09:15,abc,1,1,1\n"},
    ),
    Case(  # any safe name may be imported (docs/data.md), so SENSEX is not a mistake here
        "import-symbol-unsafe",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "../NIFTY", "--interval", "1m"),
        2,
        ("../NIFTY",),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-symbol-differs-from-file",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "BANKNIFTY", "--interval", "1m"),
        2,
        ("ok.csv", "NIFTY", "BANKNIFTY"),
        files={"ok.csv": "symbol," + CANDLE_CSV.replace("\n2025", "\nNIFTY,2025")},
    ),
    Case(
        "import-interval-7m",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "NIFTY", "--interval", "7m"),
        2,
        ("7m", "1m"),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-timezone-unknown",
        (
            *IMPORT,
            "{tmp}/ok.csv",
            "--symbol",
            "NIFTY",
            "--interval",
            "1m",
            "--timezone",
            "Mars/Base",
        ),
        2,
        ("Mars/Base",),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case("import-symbol-missing", (*IMPORT, "{tmp}/ok.csv", "--interval", "1m"), 2, ("--symbol",)),
    Case("ls-unknown-option", ("data", "ls", "--all"), 2, ("No such option", "--all")),
    Case(
        "ls-data-dir-file",
        ("data", "ls"),
        2,
        ("TRADELOOP_DATA_DIR", "a-file", "not a directory"),
        env={"TRADELOOP_DATA_DIR": "{tmp}/a-file"},
        files={"a-file": "x"},
    ),
    Case("gaps-symbol-unknown", (*GAPS, "--symbol", "SENSEX"), 2, ("'SENSEX'", "data import")),
    Case(
        "gaps-symbol-unknown-weekend",  # no session in the range: still an unknown symbol
        (*GAPS, "--symbol", "SENSEX", "--from", "2025-01-04", "--to", "2025-01-05"),
        2,
        ("'SENSEX'", "data import"),
    ),
    Case(
        "gaps-from-month-13",
        (*GAPS, "--symbol", "NIFTY", "--from", "2025-13-01", "--to", "2025-12-31"),
        2,
        ("Invalid value for --from", "'2025-13-01' is not a date", "YYYY-MM-DD"),
    ),
    Case(
        "gaps-to-before-from",
        (*GAPS, "--symbol", "NIFTY", "--from", "2025-03-10", "--to", "2025-03-01"),
        2,
        ("--from/--to", "2025-03-01 is before", "2025-03-10"),
    ),
    Case(
        "gaps-limit-zero",
        (*GAPS, "--symbol", "NIFTY", "--limit", "0"),
        2,
        ("--limit", "greater than or equal to 1"),
    ),
    Case("gaps-symbol-missing", GAPS, 2, ("Missing option", "--symbol")),
    # -- options chain: nothing stored to price from, a bad expiry or symbol --------------------
    Case(
        "options-chain-nothing-stored",
        OPTIONS_CHAIN,
        2,
        ("no NIFTY 1m candles are stored", "tradeloop data synth --symbol NIFTY"),
    ),
    Case("options-chain-expiry-text", (*OPTIONS_CHAIN, "--expiry", "soon"), 2, ("--expiry",)),
    Case(
        "options-chain-symbol-typo",
        (*OPTIONS_CHAIN, "--symbol", "NIFTTY"),
        2,
        ("'NIFTTY'", "Did you mean NIFTY?"),
    ),
    Case("options-chain-strikes-negative", (*OPTIONS_CHAIN, "--strikes", "-1"), 2, ("--strikes",)),
    # -- instruments: a scrip master refused whole, a contract not listed ----------------------
    Case("instruments-load-missing", (*LOAD, "{tmp}/nope.csv"), 2, ("nope.csv", "does not exist")),
    Case(
        "instruments-load-not-a-master",
        (*LOAD, "{tmp}/candles.csv"),
        2,
        ("candles.csv", "not Dhan's scrip master", "api-scrip-master-detailed.csv"),
        files={"candles.csv": CANDLE_CSV},
    ),
    Case(
        "instruments-load-bad-lot",
        (*LOAD, "{tmp}/master.csv"),
        2,
        ("master.csv", "line 2, column LOT_SIZE", "'sixty-five'", "nothing was stored"),
        files={"master.csv": MASTER_HEADER + MASTER_ROW.replace(",65.0,", ",sixty-five,")},
    ),
    Case(
        "instruments-load-as-of-text",
        (*LOAD, "{tmp}/master.csv", "--as-of", "today"),
        2,
        ("--as-of", "'today' is not a date"),
        files={"master.csv": MASTER_HEADER + MASTER_ROW},
    ),
    Case(
        "instruments-find-underlying-typo",
        (*FIND, "--underlying", "NIFTTY"),
        2,
        ("'NIFTTY'", "Did you mean NIFTY?"),
    ),
    Case(
        "instruments-find-expiry-not-listed",
        (*FIND, "--underlying", "NIFTY", "--kind", "CE", "--expiry", "2026-12-30"),
        2,
        ("no NIFTY CE expires on 2026-12-30", "2026-12-29"),
    ),
    Case(
        "instruments-find-strike-not-listed",
        (
            *FIND,
            "--underlying",
            "NIFTY",
            "--kind",
            "PE",
            "--expiry",
            "2026-12-29",
            "--strike",
            "24010",
        ),
        2,
        ("no NIFTY 24010 PE", "24000, 24050"),
    ),
    Case(
        "instruments-find-kind-typo",
        (*FIND, "--underlying", "NIFTY", "--kind", "CALL"),
        2,
        ("--kind", "'CALL'", "CE"),
    ),
    Case(
        "instruments-find-expiry-text",
        (*FIND, "--underlying", "NIFTY", "--expiry", "29-12-2026"),
        2,
        ("--expiry", "'29-12-2026' is not a date", "YYYY-MM-DD"),
    ),
    # -- strategy: these read no settings, so only their options can be wrong -------------------
    Case(
        "schema-unknown-option", ("strategy", "schema", "--json"), 2, ("No such option", "--json")
    ),
    Case(
        "indicators-unknown-option",
        ("strategy", "indicators", "--name", "rsi"),
        2,
        ("No such option", "--name"),
    ),
    # -- research best: read from strategy memory ----------------------------------------------
    Case("best-limit-text", (*BEST, "--limit", "ten"), 2, ("--limit", "valid integer")),
    Case("best-unknown-option", (*BEST, "--passsed"), 2, ("No such option", "--passsed")),
    Case("best-bad-config", BEST, 2, ("bad.toml", "not valid TOML"), "[research\n"),
    Case("best-limit-zero", (*BEST, "--limit", "0"), 2, ("--limit", "greater than or equal to 1")),
    Case("best-unknown-symbol", (*BEST, "--symbol", "SENSEX"), 2, ("--symbol 'SENSEX'", "NIFTY")),
    # -- research runs and a run's report -------------------------------------------------------
    Case("runs-unknown-option", ("research", "runs", "--limit", "3"), 2, ("No such option",)),
    Case("runs-bad-config", ("research", "runs"), 2, ("bad.toml", "not valid TOML"), "[x\n"),
    Case(
        "report-unknown-run",
        ("research", "report", "nope-run"),
        2,
        ("nope-run", "tradeloop research run"),
    ),
    Case("report-run-missing", ("research", "report"), 2, ("Missing argument", "RUN_ID")),
    # -- agent: recorded runs, the scripted planner --------------------------------------------
    Case(
        "agent-ls-limit-zero",
        ("agent", "ls", "--limit", "0"),
        2,
        ("--limit", "greater than or equal to 1"),
    ),
    Case(
        "agent-ls-bad-env",
        ("agent", "ls"),
        2,
        ("TRADELOOP_DATA_DIR", "empty"),
        env={"TRADELOOP_DATA_DIR": ""},
    ),
    Case(
        "agent-show-unknown-id",
        ("agent", "show", "run-nope"),
        2,
        ("run-nope", "tradeloop agent ls"),
    ),
    Case("agent-show-id-missing", ("agent", "show"), 2, ("Missing argument", "run_id")),
    Case(
        "agent-replay-unknown-id",
        ("agent", "replay", "run-nope"),
        2,
        ("run-nope", "tradeloop agent ls"),
    ),
    Case("agent-run-no-script", (*AGENT_RUN, "find an edge"), 2, ("--script",)),
    Case(
        "agent-run-script-missing",
        (*AGENT_RUN, "find an edge", "--script", "{tmp}/nope.json"),
        2,
        ("--script", "nope.json", "does not exist"),
    ),
    Case(
        "agent-run-script-not-json",
        (*AGENT_RUN, "find an edge", "--script", "{tmp}/calls.json"),
        2,
        ("--script", "calls.json", "not valid JSON", "line 1"),
        files={"calls.json": "[{tool: finish}]"},
    ),
    Case(
        "agent-run-script-not-array",
        (*AGENT_RUN, "find an edge", "--script", "{tmp}/calls.json"),
        2,
        ("calls.json", "JSON array"),
        files={"calls.json": '{"tool": "finish"}'},
    ),
    Case(
        "agent-run-script-not-utf8",
        (*AGENT_RUN, "find an edge", "--script", "{tmp}/calls.json"),
        2,
        ("--script", "calls.json", "UTF-8"),
        files={"calls.json": b'[{"tool": "finish", "args": {"answer": "\xff"}}]'},
    ),
    Case(
        "agent-run-script-too-deep",
        (*AGENT_RUN, "find an edge", "--script", "{tmp}/calls.json"),
        2,
        ("--script", "calls.json", "nested too deeply"),
        files={"calls.json": DEEP},
    ),
    Case(
        "agent-run-script-directory",
        (*AGENT_RUN, "find an edge", "--script", "{tmp}"),
        2,
        ("--script", "is a directory"),
    ),
    Case(
        "agent-run-max-steps-zero",
        (*AGENT_RUN, "find an edge", "--max-steps", "0"),
        2,
        ("--max-steps", "greater than or equal to 1"),
    ),
    Case(
        "agent-run-planner-unknown",
        (*AGENT_RUN, "find an edge", "--planner", "gpt"),
        2,
        ("--planner", "'gpt'", "scripted"),
    ),
    # -- kill switch, live check ---------------------------------------------------------------
    Case("kill-on-reason-missing", ("kill-switch", "on"), 2, ("Missing option", "--reason")),
    Case(
        "kill-on-reason-blank",
        ("kill-switch", "on", "--reason", "  "),
        2,
        ("--reason",),
        absent=("mode:",),  # refused before the ledger is opened
    ),
    Case("kill-off-reason-blank", ("kill-switch", "off", "--reason", ""), 2, ("--reason",)),
    Case(
        "kill-off-postgres-refused",
        ("kill-switch", "off", "--reason", "fixed"),
        1,
        ("DatabaseUnavailableError", "127.0.0.1:1", "start PostgreSQL"),
        env={"TRADELOOP_DATABASE_URL": "postgresql+psycopg2://u:s3cretpw@127.0.0.1:1/x"},
        absent=("s3cretpw",),
    ),
    Case(
        "kill-status-database-url-typo",
        ("kill-switch", "status"),
        2,
        ("TRADELOOP_DATABASE_URL", "mysql"),
        env={"TRADELOOP_DATABASE_URL": "mysql://u@localhost/x"},
    ),
    Case(
        "kill-status-unknown-option",
        ("kill-switch", "status", "--day", "2025-01-01"),
        2,
        ("No such option", "--day"),
    ),
    Case(
        "live-check-refused",
        ("live", "check"),
        1,
        ("live trading refused", "TRADELOOP_DHAN_CLIENT_ID", "TRADELOOP_LIVE_CONFIRM"),
        env={"TRADELOOP_TRADING_MODE": "live"},
    ),
    Case(
        "live-check-mode-typo",
        ("live", "check"),
        2,
        ("TRADELOOP_TRADING_MODE", "lvie"),
        env={"TRADELOOP_TRADING_MODE": "lvie"},
    ),
    # -- settling orders and positions by id ---------------------------------------------------
    Case(
        "resolve-unknown-intent",
        ("orders", "resolve", "intent-nope", "--not-placed", "--reason", "checked Dhan"),
        2,
        ("intent-nope",),
    ),
    Case(
        "resolve-not-placed-missing",
        ("orders", "resolve", "intent-nope", "--reason", "checked Dhan"),
        2,
        ("--not-placed",),
    ),
    Case(
        "resolve-reason-missing",
        ("orders", "resolve", "intent-nope", "--not-placed"),
        2,
        ("Missing option", "--reason"),
    ),
    Case(
        "retry-exit-unknown-position",
        ("positions", "retry-exit", "position-nope", "--reason", "fixed the margin"),
        2,
        ("position-nope",),
    ),
    Case(  # refused before the ledger (or a refused live mode) is looked at
        "retry-exit-reason-blank",
        ("positions", "retry-exit", "position-nope", "--reason", " "),
        2,
        ("--reason",),
        env={"TRADELOOP_TRADING_MODE": "live"},
        absent=("mode:",),
    ),
    Case(
        "resolve-reason-blank",
        ("orders", "resolve", "intent-nope", "--not-placed", "--reason", ""),
        2,
        ("--reason",),
        absent=("mode:",),
    ),
    Case(
        "retry-exit-live-refused",
        ("positions", "retry-exit", "position-nope", "--reason", "fixed the margin"),
        1,
        ("live trading refused", "TRADELOOP_DHAN_CLIENT_ID"),
        env={"TRADELOOP_TRADING_MODE": "live"},
    ),
    # -- the market feed: replay and watch -----------------------------------------------------
    Case(
        "feed-replay-no-candles",
        (*FEED_REPLAY, "--date", "2025-03-03"),
        2,
        ("no stored 1m candles of NIFTY on 2025-03-03", "tradeloop data synth", "data import"),
    ),
    Case(
        "feed-replay-not-a-trading-day",
        (*FEED_REPLAY, "--date", "2025-03-01"),
        2,
        ("2025-03-01 (Saturday) is not an NSE trading day", "2025-03-03"),
    ),
    Case(
        "feed-replay-bad-date", (*FEED_REPLAY, "--date", "03/03/2025"), 2, ("--date", "YYYY-MM-DD")
    ),
    Case("feed-replay-date-missing", FEED_REPLAY, 2, ("Missing option", "--date")),
    Case(
        "feed-replay-unknown-symbol",
        (*FEED_REPLAY, "--date", "2025-03-03", "--symbol", "NIFTI"),
        2,
        ("NIFTI", "Did you mean NIFTY?"),
    ),
    Case(
        "feed-replay-negative-speed",
        (*FEED_REPLAY, "--date", "2025-03-03", "--speed", "-1"),
        2,
        ("--speed",),
    ),
    Case("feed-watch-no-source", FEED_WATCH, 2, ("--replay", "--live")),
    Case(
        "feed-watch-both-sources",
        (*FEED_WATCH, "--live", "--replay", "ws://127.0.0.1:1"),
        2,
        ("exactly one of --replay",),
    ),
    Case(
        "feed-watch-live-without-credentials",
        (*FEED_WATCH, "--live"),
        2,
        (
            "live Dhan market feed needs credentials",
            "TRADELOOP_DHAN_CLIENT_ID",
            "TRADELOOP_DHAN_ACCESS_TOKEN",
        ),
        env={"TRADELOOP_DHAN_CLIENT_ID": None, "TRADELOOP_DHAN_ACCESS_TOKEN": None},
    ),
    Case(
        "feed-watch-not-a-websocket-url",
        (*FEED_WATCH, "--replay", "http://127.0.0.1:8765"),
        2,
        ("http://127.0.0.1:8765", "not a WebSocket URL", "tradeloop feed replay"),
    ),
    Case(
        "feed-watch-unknown-symbol",
        (*FEED_WATCH, "--replay", "ws://127.0.0.1:1", "--symbol", "BANKNIFT"),
        2,
        ("BANKNIFT", "Did you mean BANKNIFTY?"),
    ),
    # -- data fetch (history from Dhan): refused before any credentials or connection ---------
    Case(
        "fetch-interval-without-dhan-candles",
        (
            "data",
            "fetch",
            "--symbol",
            "NIFTY",
            "--interval",
            "30m",
            "--from",
            "2025-01-01",
            "--to",
            "2025-03-31",
        ),
        2,
        ("--interval", "'30m'", "1m, 5m, 15m, 1h, 1d"),
    ),
    Case(
        "fetch-from-after-to",
        ("data", "fetch", "--symbol", "NIFTY", "--from", "2025-03-31", "--to", "2025-01-01"),
        2,
        ("--from 2025-03-31 is after --to 2025-01-01", "swap"),
    ),
    Case(
        "fetch-unknown-symbol",
        ("data", "fetch", "--symbol", "NIFTI", "--from", "2025-01-01", "--to", "2025-01-31"),
        2,
        ("NIFTI", "Did you mean NIFTY?"),
    ),
    Case(
        "fetch-not-a-date",
        ("data", "fetch", "--symbol", "NIFTY", "--from", "2025-13-01", "--to", "2025-01-31"),
        2,
        ("--from", "2025-13-01", "YYYY-MM-DD"),
    ),
    Case(  # paper mode needs no token; Dhan's data API does
        "fetch-without-credentials",
        ("data", "fetch", "--symbol", "NIFTY", "--from", "2025-01-01", "--to", "2025-01-31"),
        2,
        (
            "fetching history from Dhan needs credentials",
            "TRADELOOP_DHAN_CLIENT_ID",
            "TRADELOOP_DHAN_ACCESS_TOKEN",
        ),
        env={"TRADELOOP_DHAN_CLIENT_ID": None, "TRADELOOP_DHAN_ACCESS_TOKEN": None},
    ),
    # -- data import: the plausibility rules and their options (issue 15 item 6) ---------------
    Case(
        "import-max-move-negative",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "NIFTY", "--interval", "1m", "--max-move", "-1"),
        2,
        ("--max-move -1", "above 0"),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-max-move-zero",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "NIFTY", "--interval", "1m", "--max-move", "0"),
        2,
        ("--max-move 0", "above 0"),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-max-move-nan",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "NIFTY", "--interval", "1m", "--max-move", "nan"),
        2,
        ("--max-move nan", "above 0"),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-max-move-not-a-number",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "NIFTY", "--interval", "1m", "--max-move", "abc"),
        2,
        ("--max-move",),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-allow-future-with-a-value",
        (*IMPORT, "{tmp}/ok.csv", "--symbol", "NIFTY", "--interval", "1m", "--allow-future", "x"),
        2,
        ("x",),
        files={"ok.csv": CANDLE_CSV},
    ),
    Case(
        "import-bar-in-2099",
        (*IMPORT, "{tmp}/future.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("future.csv", "nothing was imported", "row 0 (2099-01-02 09:15 IST)", "--allow-future"),
        files={"future.csv": CANDLE_CSV.replace("2025-01-02", "2099-01-02")},
    ),
    Case(
        "import-price-jump",
        (*IMPORT, "{tmp}/jump.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("jump.csv", "row 1 (2025-01-02 09:16 IST)", "close=150.0", "--max-move 0.5"),
        files={"jump.csv": CANDLE_CSV + "2025-01-02 09:16:00,100.5,150,100.5,150,10\n"},
    ),
    Case(
        "import-volume-overflows-int64",
        (*IMPORT, "{tmp}/big.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("big.csv", "row 0 (2025-01-02 09:15 IST)", "64-bit", "volume=9.223372036854776e+18"),
        files={"big.csv": CANDLE_CSV.replace(",10\n", f",{2**63}\n")},
    ),
    Case(
        "import-price-1e308",
        (*IMPORT, "{tmp}/huge.csv", "--symbol", "NIFTY", "--interval", "1m", "--max-move", "1e9"),
        2,
        ("huge.csv", "row 0", "prices above 1,000,000,000", "close=1e+308"),
        files={"huge.csv": CANDLE_CSV.replace("100,101,99,100.5", "1e308,1e308,1e308,1e308")},
    ),
    Case(
        "import-epoch-out-of-range",
        (*IMPORT, "{tmp}/epoch.csv", "--symbol", "NIFTY", "--interval", "1m"),
        2,
        ("epoch.csv", "not between 1970 and 2200", "row 0"),
        files={"epoch.csv": "ts,open,high,low,close,volume\n1e300,100,101,99,100.5,10\n"},
    ),
    # -- data fetch: the same plausibility options, refused before credentials or a request --
    Case(
        "fetch-max-move-negative",
        (*FETCH_JANUARY, "--max-move", "-1"),
        2,
        ("--max-move -1", "above 0"),
        env={"TRADELOOP_DHAN_CLIENT_ID": None, "TRADELOOP_DHAN_ACCESS_TOKEN": None},
        absent=("TRADELOOP_DHAN_ACCESS_TOKEN",),  # the option is named, not the credentials
    ),
    Case(
        "fetch-max-move-zero",
        (*FETCH_JANUARY, "--max-move", "0"),
        2,
        ("--max-move 0", "above 0"),
    ),
    Case(
        "fetch-max-move-nan",
        (*FETCH_JANUARY, "--max-move", "nan"),
        2,
        ("--max-move nan", "above 0"),
    ),
    Case(
        "fetch-max-move-infinite",
        (*FETCH_JANUARY, "--max-move", "inf"),
        2,
        ("--max-move inf", "above 0"),
    ),
    Case(
        "fetch-max-move-not-a-number",
        (*FETCH_JANUARY, "--max-move", "abc"),
        2,
        ("--max-move", "valid number"),
    ),
    Case(
        "fetch-allow-future-with-a-value",
        (*FETCH_JANUARY, "--allow-future", "x"),
        2,
        ("x",),
    ),
    # -- options chain/expiries --source: an unknown source, Dhan without credentials ----------
    Case(
        "options-chain-source-unknown",
        (*OPTIONS_CHAIN, "--source", "nse"),
        2,
        ("--source", "'nse'", "model or dhan"),
    ),
    Case(
        "options-chain-dhan-without-credentials",
        (*OPTIONS_CHAIN, "--source", "dhan"),
        2,
        ("option chain from Dhan", "TRADELOOP_DHAN_CLIENT_ID", "TRADELOOP_DHAN_ACCESS_TOKEN"),
        env=NO_DHAN_CREDENTIALS,
    ),
    Case(
        "options-expiries-source-unknown",
        (*OPTIONS_EXPIRIES, "--source", "x"),
        2,
        ("--source", "'x'", "model or dhan"),
    ),
    Case(
        "options-expiries-symbol-typo",
        (*OPTIONS_EXPIRIES, "--symbol", "BANKNIFY"),
        2,
        ("'BANKNIFY'", "Did you mean BANKNIFTY?"),
    ),
    Case(
        "options-expiries-dhan-without-credentials",
        (*OPTIONS_EXPIRIES, "--source", "dhan"),
        2,
        ("option chain from Dhan", "TRADELOOP_DHAN_CLIENT_ID", "TRADELOOP_DHAN_ACCESS_TOKEN"),
        env=NO_DHAN_CREDENTIALS,
    ),
    # -- data iv import: the unit must be said, never guessed ----------------------------------
    Case(
        "data-iv-import-unit-missing",
        ("data", "iv", "import", "{tmp}/vix.csv", "--symbol", "NIFTY"),
        2,
        ("looks like percent", "pass --percent"),
        files={"vix.csv": "day,iv\n2025-01-02,14.2\n"},
    ),
    # -- deployments: a bad database, an unknown id, promote without the live switches --------
    Case(
        "deployments-ls-database-url-typo",
        ("deployments", "ls"),
        2,
        ("TRADELOOP_DATABASE_URL", "mysql"),
        env={"TRADELOOP_DATABASE_URL": "mysql://u@localhost/x"},
    ),
    Case(
        "deployments-retire-unknown",
        ("deployments", "retire", "dep-x-1", "--reason", "old"),
        2,
        ("no deployment 'dep-x-1'", "Active deployments: none"),
    ),
    Case(
        "deployments-promote-refused",
        ("deployments", "promote", "dep-x-1", "--live"),
        1,
        ("live trading refused", "TRADELOOP_LIVE_CONFIRM"),
    ),
    # -- serve: a deployments file that is not there, named with the way on -------------------
    Case(
        "serve-deployments-file-missing",
        ("serve", "--file", "{tmp}/nope.yaml"),
        2,
        ("nope.yaml", "does not exist", "--file"),
    ),
    # -- api: beyond loopback without a token, refused before anything listens -----------------
    Case(
        "api-public-host-without-token",
        ("api", "--host", "0.0.0.0", "--port", "0"),
        2,
        ("--host 0.0.0.0", "TRADELOOP_API_TOKEN", "127.0.0.1"),
        env={"TRADELOOP_API_TOKEN": None},
    ),
    # -- trading days: manage and parity, refused before any flow or session starts ------------
    Case("manage-bad-date", ("manage", "--date", "2025-13-01"), 2, ("--date", "YYYY-MM-DD")),
    Case(
        "manage-unknown-source",
        ("manage", "--date", "2025-03-04", "--source", "socket"),
        2,
        ("--source", "'socket'", "feed, store or live"),
    ),
    Case(
        "manage-replay-without-a-date",
        ("manage", "--source", "store"),
        2,
        ("--date YYYY-MM-DD is needed", "--source store"),
    ),
    Case(
        "manage-live-with-the-agent",
        ("manage", "--source", "live", "--agent", "ollama"),
        2,
        ("--agent takes part in replayed days only",),
    ),
    Case(
        "manage-unknown-agent",
        ("manage", "--date", "2025-03-04", "--agent", "gpt"),
        2,
        ("--agent", "'gpt'", "ollama or scripted"),
    ),
    Case(
        "manage-scripted-agent-without-script",
        ("manage", "--date", "2025-03-04", "--agent", "scripted"),
        2,
        ("--agent scripted needs --agent-script FILE",),
    ),
    Case(
        "manage-agent-script-without-agent",
        ("manage", "--date", "2025-03-04", "--agent-script", "{tmp}/calls.json"),
        2,
        ("--agent-script is for --agent scripted",),
    ),
    Case(
        "manage-agent-script-missing",
        ("manage", "--date", "2025-03-04", "--agent", "scripted", "--agent-script", "{tmp}/x"),
        2,
        ("--agent-script", "does not exist"),
    ),
    Case(
        "parity-spec-missing",
        ("parity", "{tmp}/nope.json", "--date", "2025-03-04"),
        2,
        ("nope.json",),
    ),
    Case(
        "parity-not-a-trading-day",
        ("parity", str(ORB_SPEC), "--date", "2025-03-08"),
        2,
        ("2025-03-08", "not an NSE trading day"),
    ),
    # -- report: an unknown backtest id, options that belong to the other form -----------------
    Case(
        "report-unknown-id",
        ("report", "abc123-20250101T000000000000Z"),
        2,
        ("no saved backtest 'abc123-20250101T000000000000Z'", "none is saved yet"),
    ),
    Case("report-id-missing", ("report",), 2, ("Missing argument", "BACKTEST_ID|ls")),
    Case("report-ls-with-png", ("report", "ls", "--png"), 2, ("--open and --png",)),
    Case("report-id-with-json", ("report", "x", "--json"), 2, ("--json is for",)),
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
        if isinstance(text, bytes):
            (tmp_path / relative).write_bytes(text)
        else:
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


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command a user can run: each leaf, and each group that runs without a subcommand
    (`positions`, `orders`). Typer vendors its own click, so groups are known by `.commands`."""
    subcommands: dict[str, Any] | None = getattr(command, "commands", None)
    if subcommands is None:
        return [path]
    paths = [path] if path and getattr(command, "invoke_without_command", False) else []
    for name, subcommand in sorted(subcommands.items()):
        paths += _command_paths(subcommand, (*path, name))
    return paths


def test_every_command_has_a_bad_input_case() -> None:
    commands = _command_paths(typer.main.get_command(app))
    assert ("data", "synth") in commands and ("positions",) in commands  # the walk found them
    # A case tests the longest command its args begin with (`orders resolve ...` is not `orders`).
    tested = {
        max((path for path in commands if case.args[: len(path)] == path), key=len, default=())
        for case in CASES
    }
    untested = [" ".join(path) for path in commands if path not in tested]
    assert not untested, f"add a bad-input case to CASES for: {', '.join(untested)}"


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

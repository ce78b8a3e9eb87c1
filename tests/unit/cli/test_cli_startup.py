"""`tradeloop --version` and `--help` start without the heavy libraries (issue 12, fast start).

The command modules import numba, polars, DuckDB, SQLAlchemy and Prefect inside the commands
that use them; typer needs only the command signatures. A fresh interpreter imports the CLI and
reports which of them got loaded: a behaviour test, not a timing one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tradeloop.cli import data
from tradeloop.domain.market.candles import INTERVALS

HEAVY = ("prefect", "numba", "duckdb", "polars", "sqlalchemy")


def _loaded_after(statement: str) -> set[str]:
    probe = (
        f"import sys\n{statement}\n"
        f"import json; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded_by_cli() -> set[str]:
    return _loaded_after("import tradeloop.cli")


@pytest.mark.parametrize("module", HEAVY)
def test_importing_the_cli_does_not_import_heavy_libraries(
    module: str, loaded_by_cli: set[str]
) -> None:
    assert module not in loaded_by_cli


@pytest.mark.parametrize(
    "command_module", ["data", "backtest", "research", "strategy", "agent", "trading"]
)
def test_command_modules_leave_heavy_imports_to_their_commands(command_module: str) -> None:
    # The package's other modules stubbed out, so only this command module's own imports count.
    statement = (
        "import types\n"
        "for name in ('agent', 'backtest', 'config', 'data', 'research', 'strategy', 'trading'):\n"
        "    stub = types.ModuleType(f'tradeloop.cli.{name}')\n"
        "    stub.register = lambda app: None\n"
        "    sys.modules[f'tradeloop.cli.{name}'] = stub\n"
        "import tradeloop.cli\n"
        f"del sys.modules['tradeloop.cli.{command_module}']\n"
        f"import tradeloop.cli.{command_module}"
    )
    assert _loaded_after(statement) == set()


def test_the_interval_help_names_every_interval() -> None:
    assert ", ".join(INTERVALS) == data.INTERVALS_HELP

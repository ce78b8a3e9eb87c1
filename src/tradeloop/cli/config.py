"""`tradeloop config show`: the effective settings and where each value came from."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, SecretStr
from rich.markup import escape
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.settings import (
    ENV_PREFIX,
    Settings,
    config_file_path,
    config_file_source,
    dotenv_entries,
)

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


def _leaves(model: BaseModel, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    rows: list[tuple[tuple[str, ...], Any]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            rows.extend(_leaves(value, (*prefix, name)))
        else:
            rows.append(((*prefix, name), value))
    return rows


def _file_keys(path: Path) -> set[tuple[str, ...]]:
    if not path.exists():
        return set()
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    keys: set[tuple[str, ...]] = set()

    def walk(node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, (*prefix, key))
            else:
                keys.add((*prefix, key))

    walk(document, ())
    return keys


def source_of(
    path: tuple[str, ...],
    dotenv: set[str],
    file_keys: set[tuple[str, ...]],
    config_path: Path | None = None,
) -> str:
    """Where a setting came from, in the precedence order `Settings` applies."""
    environment = {key.upper(): value for key, value in os.environ.items()}
    dotenv_values = dotenv_entries() if dotenv else {}
    for label, variables in (("env", environment), (".env", dotenv_values)):
        for env_name in _variables_setting(path, variables):
            return f"{label} {env_name}"
    if path in file_keys:
        return f"{config_path or config_file_path()} [{'.'.join(path[:-1]) or 'top'}]"
    return "default"


def _variables_setting(path: tuple[str, ...], variables: dict[str, str]) -> list[str]:
    """The variables that set this leaf: its own, or its section's JSON if it holds the key."""
    found = []
    own = ENV_PREFIX + "__".join(path).upper()
    if own in variables:
        found.append(own)
    for depth in range(len(path) - 1, 0, -1):
        section = ENV_PREFIX + "__".join(path[:depth]).upper()
        if section in variables and _json_holds(variables[section], path[depth:]):
            found.append(section)
    return found


def _json_holds(text: str, rest: tuple[str, ...]) -> bool:
    try:
        node: Any = json.loads(text)
    except ValueError:
        return False
    for key in rest:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _render(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "********** (set)"
    if value is None:
        return "-"
    return str(value)


@config_app.command("show")
def show() -> None:
    """Print every setting, its effective value (secrets masked) and its source."""
    current: Settings = settings()
    config_path = config_file_path()
    dotenv, file_keys = set(dotenv_entries()), _file_keys(config_path)
    named_by = config_file_source()
    if named_by is not None:
        caption = f"config file: {config_path} (named by {named_by})"
    elif config_path.exists():
        caption = f"config file: {config_path} (the default)"
    else:
        caption = f"config file: none ({config_path} is absent; defaults apply)"
    table = Table(
        title=f"tradeloop settings (mode: {current.trading_mode})", caption=escape(caption)
    )
    # At 80 columns the setting's name is kept whole; a long value or source wraps instead.
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for path, value in _leaves(current):
        table.add_row(
            ".".join(path),
            escape(_render(value)),
            # escape: "[risk]" in a source is text, not rich markup.
            escape(source_of(path, dotenv, file_keys, config_path)),
        )
    console.print(table)

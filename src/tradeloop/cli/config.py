"""`tradeloop config show`: the effective settings and where each value came from."""

from __future__ import annotations

import os
import tomllib
from typing import Any

import typer
from pydantic import BaseModel, SecretStr
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.settings import ENV_PREFIX, Settings, config_file_path

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


def _dotenv_keys() -> set[str]:
    path = ".env"
    if not os.path.exists(path):
        return set()
    keys = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and "=" in stripped:
                keys.add(stripped.split("=", 1)[0].strip().removeprefix("export ").upper())
    return keys


def _file_keys() -> set[tuple[str, ...]]:
    path = config_file_path()
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


def source_of(path: tuple[str, ...], dotenv: set[str], file_keys: set[tuple[str, ...]]) -> str:
    """Where a setting came from, in the precedence order `Settings` applies."""
    env_name = ENV_PREFIX + "__".join(path).upper()
    if env_name in {key.upper() for key in os.environ}:
        return f"env {env_name}"
    if env_name in dotenv:
        return f".env {env_name}"
    if path in file_keys:
        return f"{config_file_path()} [{'.'.join(path[:-1]) or 'top'}]"
    return "default"


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
    dotenv, file_keys = _dotenv_keys(), _file_keys()
    table = Table(title=f"tradeloop settings (mode: {current.trading_mode})")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    for path, value in _leaves(current):
        table.add_row(".".join(path), _render(value), source_of(path, dotenv, file_keys))
    console.print(table)

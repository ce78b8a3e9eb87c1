"""domain/ is pure trading logic: no orchestration, I/O client, database, LLM, broker SDK or
settings (the composition root, `tradeloop.app`, turns settings into domain objects).

An AST walk of every module under src/tradeloop/domain (imports inside functions and
`TYPE_CHECKING` blocks count too: a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tradeloop.domain

DOMAIN_ROOT = Path(tradeloop.domain.__file__).parent
FORBIDDEN = (
    "prefect",
    "ollama",
    "dhanhq",
    "httpx",
    "websockets",
    "requests",
    "sqlmodel",
    "sqlalchemy",
    "duckdb",
    "tradeloop.storage",
    "tradeloop.adapters",
    "tradeloop.tasks",
    "tradeloop.flows",
    "tradeloop.agent",
    "tradeloop.tools",
    "tradeloop.cli",
    "tradeloop.app",
    "tradeloop.settings",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(DOMAIN_ROOT.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module `source` imports, relative imports resolved against `module`."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from tradeloop import storage` imports the module tradeloop.storage.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def violations(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    )


def domain_modules() -> list[Path]:
    return sorted(DOMAIN_ROOT.rglob("*.py"))


def test_the_domain_has_modules_to_check() -> None:
    assert len(domain_modules()) > 5


@pytest.mark.parametrize("path", domain_modules(), ids=lambda path: module_name(path))
def test_domain_module_imports_nothing_forbidden(path: Path) -> None:
    imports = imported_modules(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )
    assert violations(imports) == [], f"{module_name(path)} must not import these"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import duckdb", ["duckdb"]),
        ("import prefect.flows as f", ["prefect.flows"]),
        ("from sqlalchemy.orm import Session", ["sqlalchemy.orm", "sqlalchemy.orm.Session"]),
        ("from tradeloop import storage", ["tradeloop.storage"]),
        (
            "from ...storage.candles import X",
            ["tradeloop.storage.candles", "tradeloop.storage.candles.X"],
        ),
        ("def lazy():\n    import httpx", ["httpx"]),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ollama", ["ollama"]),
        ("import requests_toolbelt\nfrom tradeloop.domain import costs", []),
    ],
)
def test_the_checker_catches_each_form_of_import(source: str, expected: list[str]) -> None:
    imports = imported_modules(source, "tradeloop.domain.market.candles", is_package=False)
    assert violations(imports) == expected

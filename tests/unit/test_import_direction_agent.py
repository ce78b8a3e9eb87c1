"""The agent runtime is generic: it imports no domain, storage, tools, vendor SDK or Prefect."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tradeloop.agent

AGENT_DIR = Path(tradeloop.agent.__file__).parent
FORBIDDEN = (
    "tradeloop.domain",
    "tradeloop.storage",
    "tradeloop.tools",
    "tradeloop.adapters",
    "tradeloop.tasks",
    "tradeloop.flows",
    "tradeloop.cli",
    "dhanhq",
    "ollama",
    "prefect",
)


def imported_modules(source: str, module: str) -> set[str]:
    """Every module a source file imports, with relative imports made absolute."""
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def forbidden_imports(source: str, module: str) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source, module)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    )


def agent_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted(AGENT_DIR.rglob("*.py")):
        relative = path.relative_to(AGENT_DIR.parent).with_suffix("")
        parts = ["tradeloop", *relative.parts]
        if parts[-1] == "__init__":
            parts = [*parts[:-1], "__init__"]
        modules.append((".".join(parts), path))
    return modules


def test_there_are_agent_modules_to_check() -> None:
    names = [name for name, _ in agent_modules()]
    assert "tradeloop.agent.runner" in names and len(names) >= 10


@pytest.mark.parametrize(("module", "path"), agent_modules(), ids=lambda value: str(value))
def test_agent_module_imports_nothing_forbidden(module: str, path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8"), module) == []


@pytest.mark.parametrize(
    "source",
    [
        "import ollama",
        "from prefect import flow",
        "import dhanhq.marketfeed",
        "from tradeloop.domain.risk import sizing",
        "from tradeloop import storage",
        "from .. import tools",
        "def later():\n    import prefect.tasks",
    ],
)
def test_the_checker_catches_forbidden_imports(source: str) -> None:
    assert forbidden_imports(source, "tradeloop.agent.runner") != []


def test_the_checker_allows_the_agent_its_own_imports() -> None:
    source = "from tradeloop.errors import ModelError\nfrom . import tool\nimport pydantic"
    assert forbidden_imports(source, "tradeloop.agent.runner") == []

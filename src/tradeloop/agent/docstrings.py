"""Read a Google-style docstring into a tool description and per-argument descriptions.

Only what a tool needs is parsed: the free text before the first section, and the entries of the
`Args:` section (`name: text` or `name (type): text`, continuation lines indented deeper).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Keyword Args|Keyword Arguments|Returns|Return|Yields|Raises|"
    r"Examples?|Notes?|Attributes|See Also|Warnings?|Todo|References)\s*:\s*$"
)
_ARGS_SECTIONS = {"Args", "Arguments", "Parameters", "Keyword Args", "Keyword Arguments"}
_ENTRY = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(?:\([^)]*\))?\s*:\s*(?P<text>.*)$")


@dataclass(frozen=True)
class ParsedDocstring:
    """The parts of a docstring a tool uses."""

    description: str
    arguments: dict[str, str] = field(default_factory=dict)


def parse_google_docstring(docstring: str | None) -> ParsedDocstring:
    """Split `docstring` into its description and its `Args:` entries."""
    if not docstring:
        return ParsedDocstring(description="")
    lines = inspect.cleandoc(docstring).splitlines()
    description_lines: list[str] = []
    arguments: dict[str, str] = {}
    section: str | None = None
    section_lines: list[str] = []

    def close_section() -> None:
        if section in _ARGS_SECTIONS:
            arguments.update(_parse_entries(section_lines))

    for line in lines:
        header = _SECTION.match(line)
        if header is not None:
            close_section()
            section, section_lines = header.group(1), []
        elif section is None:
            description_lines.append(line)
        else:
            section_lines.append(line)
    close_section()
    return ParsedDocstring(description="\n".join(description_lines).strip(), arguments=arguments)


def _parse_entries(lines: list[str]) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if entry_indent is None:
            entry_indent = indent
        match = _ENTRY.match(line.strip()) if indent <= entry_indent else None
        if match is not None:
            current = match.group("name")
            entries[current] = [match.group("text").strip()]
        elif current is not None:
            entries[current].append(line.strip())
    return {name: " ".join(part for part in parts if part) for name, parts in entries.items()}

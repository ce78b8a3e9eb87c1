"""The prompts a chat model sees: the system prompt (a package file) and one message per step."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template

from tradeloop.agent.memory import ShortTermMemory
from tradeloop.agent.records import AgentContext
from tradeloop.agent.redaction import redact
from tradeloop.agent.registry import ToolRegistry

SYSTEM_PROMPT_FILE = "prompts/system.md"


@cache
def load_system_prompt_template() -> str:
    """The system prompt template shipped with the package (`$tools` marks the tool list)."""
    return resources.files("tradeloop.agent").joinpath(SYSTEM_PROMPT_FILE).read_text("utf-8")


def render_system_prompt(registry: ToolRegistry, template: str | None = None) -> str:
    """The system prompt with the registry's tools filled in."""
    text = template if template is not None else load_system_prompt_template()
    return Template(text).safe_substitute(tools=registry.describe())


def render_step_prompt(context: AgentContext, memory: ShortTermMemory) -> str:
    """The user message for one step: goal, context, progress and the recent history."""
    parts = [f"Goal: {context.goal}"]
    if context.context:
        parts.append(
            "Context: " + json.dumps(redact(context.context), sort_keys=True, ensure_ascii=False)
        )
    remaining = context.max_steps - context.step_index
    parts.append(
        f"This is step {context.step_index + 1} of at most {context.max_steps} "
        f"({remaining} left, this one included)."
    )
    parts.append("History (oldest first):\n" + memory.render())
    parts.append('Reply with the next call as one JSON object: {"tool": ..., "args": {...}}')
    return "\n\n".join(parts)

"""The messages a chat model sees, laid out so a server's prompt cache can reuse the prefix.

Step k of a run is sent as:

1. system: the system prompt (a package file) with the tool descriptions;
2. user: the goal and the run's context;
3. for each remembered step: assistant (the call it made) and user (a compact summary of what
   came of it: `ShortTermMemory.outcome`);
4. user: the step counter ("Step k of at most M"), a hint to finish when the history already
   answers the goal, and the reply format. This is the only message that changes from one step
   to the next, so the messages of step k extend those of step k-1 (until the memory window
   drops old steps).

A retry within a step (the reply could not be used) appends the rejected reply (cut) and the
error, so the error is always last.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from string import Template
from typing import Literal, TypedDict

from tradeloop.agent.memory import MAX_ERROR_CHARS, ShortTermMemory, describe_call, truncate
from tradeloop.agent.records import AgentContext, StepRecord
from tradeloop.agent.redaction import redact
from tradeloop.agent.registry import ToolRegistry

SYSTEM_PROMPT_FILE = "prompts/system.md"
MAX_ECHOED_REPLY_CHARS = 500
"""A rejected reply is shown back to the model cut to this many characters (never whole)."""
REPLY_FORMAT = 'Reply with the next call as one JSON object: {"tool": ..., "args": {...}}'
ToolNames = Iterable[str] | Mapping[str, Iterable[str]]
"""Tool names, or each name mapped to its keywords (`ToolRegistry.keywords()`)."""
_NOT_ASKED = frozenset({"finish", "refuse", "echo"})
_WORD = re.compile(r"[a-z]+")


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@cache
def load_system_prompt_template() -> str:
    """The system prompt template shipped with the package (`$tools` marks the tool list)."""
    return resources.files("tradeloop.agent").joinpath(SYSTEM_PROMPT_FILE).read_text("utf-8")


def render_system_prompt(registry: ToolRegistry, template: str | None = None) -> str:
    """The system prompt with the registry's tools filled in."""
    text = template if template is not None else load_system_prompt_template()
    return Template(text).safe_substitute(tools=registry.describe())


def render_goal(context: AgentContext) -> str:
    """The run's first user message: the goal and its context (the same at every step)."""
    parts = [f"Goal: {context.goal}"]
    if context.context:
        parts.append(
            "Context: " + json.dumps(redact(context.context), sort_keys=True, ensure_ascii=False)
        )
    return "\n\n".join(parts)


def history_messages(memory: ShortTermMemory) -> list[ChatMessage]:
    """One assistant message (the call) and one user message (its outcome) per step."""
    messages: list[ChatMessage] = []
    if memory.hidden_steps:
        note = f"({memory.hidden_steps} earlier step(s) not shown)"
        messages.append({"role": "user", "content": note})
    for record in memory.records:
        messages.append({"role": "assistant", "content": describe_call(record)})
        outcome = f"Step {record.index + 1} result: {memory.outcome(record)}"
        messages.append({"role": "user", "content": outcome})
    return messages


def render_step_counter(
    context: AgentContext,
    memory: ShortTermMemory,
    tool_names: ToolNames = (),
    unavailable: Mapping[str, str] | None = None,
) -> str:
    """The last message of a step: progress, hints from the goal's words (`goal_hints`), a
    nudge to finish when due, the reply format, and the last error when a call was refused."""
    remaining = context.max_steps - context.step_index
    names = tool_names if isinstance(tool_names, Mapping) else tuple(tool_names)
    parts = [
        f"This is step {context.step_index + 1} of at most {context.max_steps} "
        f"({remaining} left, this one included)."
    ]
    parts.extend(goal_hints(context.goal, memory, names, unavailable or {}))
    hint = finish_hint(context, memory, names)
    if hint:
        parts.append(hint)
    parts.append(REPLY_FORMAT)
    last = memory.last
    if last is not None and not last.executed and last.error:
        # A retry of a call that did not run: its error comes last, where it is read first.
        error = truncate(last.error, MAX_ERROR_CHARS)
        parts.append(f"Your last call (step {last.index + 1}) was not run: {error}")
    return "\n".join(parts)


def step_messages(
    system_prompt: str,
    context: AgentContext,
    memory: ShortTermMemory,
    tool_names: ToolNames = (),
    unavailable: Mapping[str, str] | None = None,
) -> list[ChatMessage]:
    """The messages of one step, in the cache-friendly order of the module docstring."""
    counter = render_step_counter(context, memory, tool_names, unavailable)
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": render_goal(context)},
        *history_messages(memory),
        {"role": "user", "content": counter},
    ]


def retry_messages(reply: str, feedback: str) -> list[ChatMessage]:
    """Appended after a reply that could not be used: the reply (cut) and then the error."""
    return [
        {"role": "assistant", "content": truncate(reply, MAX_ECHOED_REPLY_CHARS)},
        {"role": "user", "content": feedback},
    ]


def finish_hint(
    context: AgentContext, memory: ShortTermMemory, tool_names: ToolNames = ()
) -> str | None:
    """A nudge to call `finish`: on the last step, or when the history already answers the goal.

    "Answers the goal" is decided by words, deterministically: each word of the goal that names
    tools (`goal_tools`: "backtest" -> `backtest_strategy`, "best" -> `best_strategies`) asks for
    one of them; when each such word has a tool that succeeded in the remembered steps and the
    last step succeeded, the goal's calls are made.
    """
    found = _found(memory)
    if context.max_steps - context.step_index <= 1:
        return found + "Last step: only finish or refuse can be called now."
    last = memory.last
    if last is None or not _succeeded(last):
        return None
    asked = goal_tools(context.goal, tool_names)
    if not asked:
        return None
    succeeded = {
        record.call.tool for record in memory.records if record.call and _succeeded(record)
    }
    if not all(any(name in succeeded for name in group) for group in asked):
        return None
    made = ", ".join(sorted(name for group in asked for name in group if name in succeeded))
    # The facts come first: a small model copies the start of the message it reads last.
    return found + f"That is what the goal asks for ({made}): call finish, unless it needs more."


DIGEST_CHARS = 300
"""The most a finish hint quotes of the results (`result_digest`)."""


def _found(memory: ShortTermMemory) -> str:
    digests = [
        f"{record.call.tool}: {result_digest(record)}"
        for record in memory.records
        if record.call is not None and _succeeded(record)
    ]
    if not digests:
        return ""
    text = "; ".join(digests[-2:])
    if len(text) > DIGEST_CHARS:
        # Cut at a fact's end, without a "[truncated N chars]" marker: a model copies those.
        text = text[: text.rfind(", ", 0, DIGEST_CHARS) + 1 or DIGEST_CHARS].rstrip(",") + " …"
    return "Found so far: " + text + "\n"


def result_digest(record: StepRecord) -> str:
    """A successful result's scalar facts as `key value` pairs, in order: what a finish
    summary reports (`score 0.328, trades 83, ...`; a list counts its items and shows the
    first). A small model copies the last message it reads; this way what it copies is true."""
    data = record.result.data if record.result is not None else None
    return ", ".join(_facts(data)) or "(no data)"


def _facts(value: object, key: str = "") -> list[str]:
    label = f"{key} " if key else ""
    if isinstance(value, dict):
        return [fact for name, item in value.items() for fact in _facts(item, str(name))]
    if isinstance(value, list):
        head = _facts(value[0], key) if value else []
        return [f"{label}{len(value)} item(s)", *head]
    if isinstance(value, str):
        return [f"{label}{value if len(value) <= 80 else value[:80] + '…'}"]
    return [] if value is None else [f"{label}{value}"]


def goal_hints(
    goal: str, memory: ShortTermMemory, tool_names: ToolNames, unavailable: Mapping[str, str]
) -> list[str]:
    """What the goal's own words point to, for a model too small to find it in the tool list.

    * each phrase of `unavailable` (the registry's: what no tool does) that the goal uses:
      "Call refuse: the goal says "delete", and no tool deletes ..." (one line per reason; the
      reason last, where a model copying it into `refuse` finds it whole);
    * the tools the goal names by a word of their name (`goal_tools`) that have not yet
      succeeded in the remembered steps.

    Word matching only, deterministic and shown to the model as a hint: the model still decides.
    """
    words = " ".join(_normal(word) for word in _WORD.findall(goal.lower()))
    said: dict[str, list[str]] = {}
    for phrase, reason in unavailable.items():
        wanted = " ".join(_normal(word) for word in _WORD.findall(phrase.lower()))
        if wanted and re.search(rf"\b{re.escape(wanted)}\b", words):
            said.setdefault(reason, []).append(f'"{phrase}"')
    hints = [
        f"Call refuse: the goal says {', '.join(phrases)}, and {reason}."
        for reason, phrases in said.items()
    ]
    succeeded = {
        record.call.tool for record in memory.records if record.call and _succeeded(record)
    }
    order = list(tool_names)
    pending = {
        name for group in goal_tools(goal, tool_names) if not group & succeeded for name in group
    }
    if pending:
        # In the registry's order, not the order of the goal's words: "the details of the best
        # strategy" needs best_strategies first, and the registry lists it first.
        hints.append("Tools the goal names: " + ", ".join(n for n in order if n in pending) + ".")
    return hints


def goal_tools(goal: str, tool_names: ToolNames) -> list[frozenset[str]]:
    """For each goal word that is a word of some tools' names (or one of their keywords, when
    `tool_names` maps each name to its `Tool.keywords`), those tools.

    A word counts when at most two tools share it (`strategy` names most of them, so it names
    none) and it has three letters or more; plurals match their singular ("indicators" ->
    `list_indicators`) and a goal word may extend a tool's ("backtesting" -> `backtest_strategy`).
    """
    extra: Mapping[str, Iterable[str]] = tool_names if isinstance(tool_names, Mapping) else {}
    names = [name for name in tool_names if name not in _NOT_ASKED]
    words_of = {
        name: {_normal(word) for word in (*name.split("_"), *extra.get(name, ()))} for name in names
    }
    shared = Counter(word for words in words_of.values() for word in words)
    by_word: dict[str, set[str]] = {}
    for name, words in words_of.items():
        for word in words:
            if len(word) >= 3 and shared[word] <= 2:
                by_word.setdefault(word, set()).add(name)
    groups: list[frozenset[str]] = []
    for word in dict.fromkeys(_normal(each) for each in _WORD.findall(goal.lower())):
        for tool_word, tools in by_word.items():
            if word == tool_word or word.startswith(tool_word):
                group = frozenset(tools)
                if group not in groups:
                    groups.append(group)
    return groups


def _normal(word: str) -> str:
    """A word without its plural ending: strategies -> strategy, indicators -> indicator."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _succeeded(record: StepRecord) -> bool:
    return record.result is not None and record.result.status == "ok" and record.executed

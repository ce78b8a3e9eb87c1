"""What the model is told when a call cannot be used, so it knows what to change.

- `explain_invalid_call`: the registry's error, plus hints: the nearest valid argument name or
  value (`difflib` close matches at each error's location), and, when the arguments belong to
  another tool, which one ("these are arguments of backtest_strategy, not of propose_strategy").
- `RepeatGuard`: a call the run already made (same tool, same arguments) is not run again. The
  first repeat is fed back with the earlier result ("you already have this result (step N): use
  it or finish"); proposing it `loop_limit` times in all ends the run `loop_detected`.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from tradeloop.agent.records import StepRecord, ToolCall
from tradeloop.agent.registry import ResolvedCall, ToolRegistry
from tradeloop.errors import ModelError

_QUOTED = re.compile(r"'([^']*)'")
_MAX_HINTS = 4
REPEATED = "RepeatedCall"
"""The `error_type` of a step that repeated an earlier call and was fed back, not run."""


def resolve_or_explain(registry: ToolRegistry, call: ToolCall) -> ResolvedCall:
    """`call` checked against the registry; a `ModelError` says what to change (see the module)."""
    try:
        return registry.resolve(call)
    except ModelError as exc:
        raise ModelError(explain_invalid_call(registry, call, str(exc))) from exc


def explain_invalid_call(registry: ToolRegistry, call: ToolCall, error: str) -> str:
    """`error` (the registry's message) with hints naming what to change."""
    hints = [*_owner_hints(registry, call)]
    if call.tool in registry:
        hints.extend(_argument_hints(registry.get(call.tool).Args, call))
    if not hints:
        return error
    return f"{error} Hint: {' '.join(hints[:_MAX_HINTS])}"


def _owner_hints(registry: ToolRegistry, call: ToolCall) -> list[str]:
    """Which other tool these arguments belong to, when one takes them (and the named one does
    not): small models often pair one tool's name with another tool's arguments."""
    if not call.args:
        return []
    others = [each for each in registry if each.name != call.tool]
    valid = [each.name for each in others if _accepts(each.Args, call.args)]
    if valid:
        owner = valid[0]
        return [
            f"these are arguments of {owner}, not of {call.tool}: call {owner} with them, "
            f"or give {call.tool} its own arguments{_own_arguments(registry, call.tool)}."
        ]
    given = set(call.args)
    own = set(registry.get(call.tool).Args.model_fields) if call.tool in registry else set()
    if given <= own:
        return []
    # No tool takes them as they are: name the one whose argument names they match best.
    best, overlap = None, len(given & own)
    for each in others:
        shared = len(given & set(each.Args.model_fields))
        if shared > overlap:
            best, overlap = each.name, shared
    if best is None:
        return []
    return [
        f"these look like arguments of {best}, not of {call.tool}"
        f"{_own_arguments(registry, call.tool)}."
    ]


def _own_arguments(registry: ToolRegistry, name: str) -> str:
    if name not in registry:
        return ""
    fields = list(registry.get(name).Args.model_fields)
    return f" ({', '.join(fields)})" if fields else " ({})"


def _accepts(args_model: type[BaseModel], args: dict[str, Any]) -> bool:
    try:
        args_model.model_validate(args)
    except ValidationError:
        return False
    return True


def _argument_hints(args_model: type[BaseModel], call: ToolCall) -> Iterable[str]:
    """A "did you mean" for each unknown key and each value outside a fixed set."""
    try:
        args_model.model_validate(call.args)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        return
    missing = [str(error["loc"][0]) for error in errors if error["type"] == "missing"]
    for error in errors:
        location = ".".join(["args", *(str(part) for part in error["loc"])])
        if error["type"] == "extra_forbidden":
            name = str(error["loc"][-1])
            # A misspelt required argument is the likeliest meaning of an unknown key.
            candidates = missing or _sibling_fields(args_model, error["loc"])
            close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
            if close:
                yield f"{location}: did you mean '{close[0]}'?"
        elif error["type"] in ("literal_error", "enum"):
            allowed = _QUOTED.findall(str(error.get("ctx", {}).get("expected", "")))
            given = error.get("input")
            if allowed and isinstance(given, str):
                close = difflib.get_close_matches(given, allowed, n=1, cutoff=0.4)
                nearest = close[0] if close else allowed[0]
                yield f"{location}: use '{nearest}' (valid: {', '.join(allowed)})."


def _sibling_fields(args_model: type[BaseModel], location: Sequence[Any]) -> list[str]:
    """Field names of the model at `location`'s parent (top-level arguments only for nested
    models we cannot walk by name)."""
    if len(location) == 1:
        return list(args_model.model_fields)
    return []


# ------------------------------------------------------------------------------ repeats


@dataclass
class RepeatGuard:
    """Finds calls the run already made; see the module docstring for what happens to them."""

    registry: ToolRegistry
    limit: int
    repeats: Counter[str] = field(default_factory=Counter)

    def earlier(self, call: ToolCall, steps: Sequence[StepRecord]) -> StepRecord | None:
        """The step whose result this call would repeat, or None when it is new.

        A tool whose result may change (`deterministic=False`) repeats only the call just
        before it; a result marked retryable (a transient failure) may be asked for again.
        """
        key = call.key()
        deterministic = call.tool not in self.registry or self.registry.get(call.tool).deterministic
        # A repeat that was fed back is not a result: point at the step that gave one.
        made = [step for step in steps if step.call is not None and step.error_type != REPEATED]
        candidates = made if deterministic else made[-1:]
        for step in reversed(candidates):
            if step.call is None or step.call.key() != key:
                continue
            error = step.result.error if step.result is not None else None
            if error is not None and error.retryable:
                return None
            return step
        return None

    def check(
        self,
        call: ToolCall,
        steps: Sequence[StepRecord],
        describe: Callable[[StepRecord], str],
    ) -> dict[str, Any] | None:
        """The fields of a step that does not run `call` (fed back with `describe` of the
        earlier step's outcome, or the loop stop), or None when the call is new."""
        earlier = self.earlier(call, steps)
        if earlier is None:
            return None
        key = call.key()
        self.repeats[key] += 1
        proposals = self.repeats[key] + 1
        if proposals >= self.limit:
            return {
                "error": (
                    f"loop detected: '{call.tool}' with the same arguments was proposed "
                    f"{proposals} times (first at step {earlier.index + 1}); the repeat was not run"
                ),
                "error_type": "LoopDetected",
                "stop": "loop_detected",
            }
        message = repeat_message(earlier, describe(earlier))
        return {"error": message, "error_type": REPEATED}


def repeat_message(earlier: StepRecord, outcome: str) -> str:
    """What the model is told when it repeats the call of step `earlier` (not run again)."""
    if earlier.result is None:  # rejected before it ran: the same call is rejected again
        return (
            f"this call was already rejected (step {earlier.index + 1}): change it as the error "
            f"says, or finish. It was: {outcome}. The same call again ends the run."
        )
    return (
        f"you already have this result (step {earlier.index + 1}): use it or finish. "
        f"It was: {outcome}. The same call again ends the run."
    )

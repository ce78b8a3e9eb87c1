"""Agent runtime speed: loop overhead per step, and the cost of turning a reply into a call.

Run with `python benchmarks/bench_agent.py`. Every figure is the best of several repeats, and
each is printed next to a peer measured in the same run:

- loop overhead: a no-op tool driven by a scripted planner (target: under 1 ms per step),
  against calling the no-op function directly;
- reply parsing: `parse_reply` + `ToolCall.from_raw` + `ToolRegistry.resolve` against plain
  `json.loads` + a pydantic `TypeAdapter` over the union of the call models (the least a
  validating runtime must do), and, for replies wrapped in prose, a greedy regex + the same.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tradeloop.agent import (
    AgentContext,
    AgentRunner,
    Executor,
    ScriptedPlanner,
    ShortTermMemory,
    ToolCall,
    ToolRegistry,
    parse_reply,
    tool,
)
from tradeloop.errors import ModelError

TARGET_MS_PER_STEP = 1.0
STEPS = 2_000
REPEATS = 5
REPLIES = 5_000


def scratch_dir() -> Path:
    """The repository's `.tmp/`: a benchmark writes nothing outside the repository."""
    folder = Path(__file__).resolve().parent.parent / ".tmp"
    folder.mkdir(exist_ok=True)
    return folder


@tool(timeout_seconds=None)
def noop(step: int) -> None:
    """Do nothing.

    Args:
        step: The step number (keeps calls distinct so no loop is detected).
    """


@tool
def noop_with_timeout(step: int) -> None:
    """Do nothing, in a worker thread with a timeout.

    Args:
        step: The step number.
    """


@tool
def moving_average(symbol: str, period: int, source: str = "close") -> None:
    """Moving average.

    Args:
        symbol: The instrument.
        period: Bars to average.
        source: Which price.
    """


@tool(terminal=True)
def finish(summary: str) -> None:
    """Finish.

    Args:
        summary: What was done.
    """


def best_seconds(action: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def scripted(tool_name: str) -> ScriptedPlanner:
    def next_call(context: AgentContext, memory: ShortTermMemory) -> ToolCall:
        return ToolCall(tool=tool_name, args={"step": context.step_index})

    return ScriptedPlanner(next_call)


def loop_overhead(tool_name: str, run_dir: Path | None) -> float:
    registry = ToolRegistry([noop, noop_with_timeout, finish])
    runner = AgentRunner(
        scripted(tool_name),
        registry,
        executor=Executor(sleep=lambda _: None),
        max_steps=STEPS,
        run_dir=run_dir,
    )
    seconds = best_seconds(lambda: runner.run("benchmark"))
    return seconds / STEPS * 1000


def bench_loop() -> None:
    print(f"agent loop overhead per step ({STEPS} steps, no-op tool, scripted planner)")
    direct_ms = best_seconds(lambda: [noop.function(step=i) for i in range(STEPS)]) / STEPS * 1000
    rows = [("in memory, tool run inline", loop_overhead("noop", None))]
    rows.append(("in memory, tool in a timeout thread", loop_overhead("noop_with_timeout", None)))
    with tempfile.TemporaryDirectory(dir=scratch_dir()) as directory:
        rows.append(("with the JSONL audit file", loop_overhead("noop", Path(directory))))
    for label, per_step in rows:
        print(
            f"  {label:<38} {per_step:8.4f} ms/step   {per_step / TARGET_MS_PER_STEP:5.2f}x of "
            f"the {TARGET_MS_PER_STEP:g} ms target   {per_step / direct_ms:8.0f}x a direct call"
        )
    print(f"  {'peer: direct call of the function':<38} {direct_ms:8.4f} ms/call")


class _Call(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MovingAverageCall(_Call):
    tool: Literal["moving_average"]
    args: moving_average.Args  # type: ignore[name-defined]


class FinishCall(_Call):
    tool: Literal["finish"]
    args: finish.Args  # type: ignore[name-defined]


PEER = TypeAdapter(Annotated[MovingAverageCall | FinishCall, Field(discriminator="tool")])
GREEDY_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
CALL = json.dumps({"tool": "moving_average", "args": {"symbol": "NIFTY", "period": 20}})
REPLY_SHAPES = {
    "plain JSON": CALL,
    "indented JSON": "\n  " + json.dumps(json.loads(CALL), indent=2) + "\n",
    "<think> then JSON": "<think>" + "The user wants a trend check. " * 20 + "</think>\n" + CALL,
}
# Refused, not parsed: a call wrapped in prose is a ModelError fed back to the model (the call
# that would run might not be the one it meant); timed against the peer extracting it anyway.
PROSE_REPLY = f"Sure. I will compute the average first:\n```json\n{CALL}\n```\nThen decide."


def bench_parsing() -> None:
    registry = ToolRegistry([moving_average, finish])

    def ours(text: str) -> object:
        return registry.resolve(ToolCall.from_raw(parse_reply(text)))

    def peer(text: str) -> object:
        return PEER.validate_python(json.loads(text))

    def peer_with_regex(text: str) -> object:
        match = GREEDY_OBJECT.search(text)
        return PEER.validate_python(json.loads(match.group(0) if match else text))

    def refused(text: str) -> object:
        try:
            return parse_reply(text)
        except ModelError as error:
            return error

    print(f"\nreply -> validated call, per reply ({REPLIES} replies)")
    for label, text in REPLY_SHAPES.items():
        chosen = peer if label != "<think> then JSON" else peer_with_regex
        peer_name = "json.loads+TypeAdapter" if chosen is peer else "regex+json.loads+TypeAdapter"
        ours_us = per_call(ours, text, REPLIES)
        peer_us = per_call(chosen, text, REPLIES)
        print(
            f"  {label:<20} ours {ours_us * 1e6:7.2f} us   peer ({peer_name}) "
            f"{peer_us * 1e6:7.2f} us   ratio {ours_us / peer_us:5.2f}x"
        )
    assert isinstance(refused(PROSE_REPLY), ModelError)
    refused_us = per_call(refused, PROSE_REPLY, REPLIES)
    extracted_us = per_call(peer_with_regex, PROSE_REPLY, REPLIES)
    print(
        f"  {'JSON in prose':<20} ours refuses it (ModelError fed back) in {refused_us * 1e6:.2f} "
        f"us; the peer extracts and runs it in {extracted_us * 1e6:.2f} us"
    )


def per_call(function: Callable[[str], object], text: str, count: int) -> float:
    return best_seconds(lambda: [function(text) for _ in range(count)]) / count


def main() -> None:
    bench_loop()
    bench_parsing()


if __name__ == "__main__":
    main()

"""The agent's Prefect task: one step of a run (plan, check, execute, record) per task run.

The body only performs the step the runner hands it. No retries here: tool retries are the
executor's job (bounded, and never for a tool that acts), an unavailable planner is retried by
the runner, and re-running a whole step would ask the model again. A step that hits a bug fails
its task run; the runner records the crash in the run file and the flow run fails with it.
Nothing is cached: a step's inputs are the live run state.
"""

from __future__ import annotations

from collections.abc import Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

from tradeloop.agent import StepRecord


@task(name="agent-step", task_run_name="agent-step-{step}", cache_policy=NO_CACHE, retries=0)
def agent_step(step: int, perform: Callable[[], StepRecord]) -> StepRecord:
    """Step number `step` (1-based) of an agent run."""
    return perform()


def step_in_task(index: int, perform: Callable[[], StepRecord]) -> StepRecord:
    """An `AgentRunner` `on_step` hook: each step runs as the `agent-step` task."""
    return agent_step(index + 1, perform)

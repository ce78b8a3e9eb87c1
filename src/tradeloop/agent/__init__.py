"""A generic, domain-free agent runtime: the model proposes tool calls, the runtime decides.

It imports nothing of `tradeloop.domain`, `tools`, `storage`, vendor SDKs or Prefect; tools are
given to it through a `ToolRegistry`, the model through a `Planner`. See docs/agent.md.
"""

from tradeloop.agent.chat import ChatCompletion, ChatMessage, ChatModel, ChatPlanner
from tradeloop.agent.executor import Execution, Executor, Validator
from tradeloop.agent.jsonextract import parse_reply, strip_think
from tradeloop.agent.memory import ShortTermMemory
from tradeloop.agent.planner import (
    Planner,
    PlannerReply,
    PlannerStepError,
    PlannerUnavailableError,
    ScriptedPlanner,
)
from tradeloop.agent.records import (
    AgentContext,
    AgentRun,
    StepRecord,
    ToolCall,
    ValidatorDecision,
)
from tradeloop.agent.registry import ResolvedCall, ToolRegistry
from tradeloop.agent.replay import ReplayReport, StepComparison, replay
from tradeloop.agent.runlog import RecordedRun, RunLogWriter, list_runs, read_run
from tradeloop.agent.runner import AgentRunner, StepHook
from tradeloop.agent.tool import FunctionTool, Tool, ToolErrorDetail, ToolResult, tool

__all__ = [
    "AgentContext",
    "AgentRun",
    "AgentRunner",
    "ChatCompletion",
    "ChatMessage",
    "ChatModel",
    "ChatPlanner",
    "Execution",
    "Executor",
    "FunctionTool",
    "Planner",
    "PlannerReply",
    "PlannerStepError",
    "PlannerUnavailableError",
    "RecordedRun",
    "ReplayReport",
    "ResolvedCall",
    "RunLogWriter",
    "ScriptedPlanner",
    "ShortTermMemory",
    "StepComparison",
    "StepHook",
    "StepRecord",
    "Tool",
    "ToolCall",
    "ToolErrorDetail",
    "ToolRegistry",
    "ToolResult",
    "Validator",
    "ValidatorDecision",
    "list_runs",
    "parse_reply",
    "read_run",
    "replay",
    "strip_think",
    "tool",
]

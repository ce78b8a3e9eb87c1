"""The tool contract: what the model may call, what a call returns, and how it may be retried.

A tool is either a `Tool` subclass (class attributes `name`, `description`, `Args` and a `call`
method) or a typed function decorated with `@tool`, whose Google-style docstring becomes the
description the model reads and whose parameters become the `Args` model.

A parameter whose value is a JSON document the tool validates itself (with its own error
messages) may still declare the document's schema, so that the registry's call schema
constrains decoding to a structurally valid one: type it `dict[str, Any]` with
`PlainValidator(..., json_schema_input_type=TheModel)` (see `tradeloop.tools.reference`).
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, JsonValue, create_model, model_validator

from tradeloop.agent.docstrings import parse_google_docstring

_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DEFAULT_RETRY_LIMIT = 2
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_STRING_CHARS = 1000
"""The longest string argument a model may write: a finish summary of a few sentences fits, a
runaway one does not. `@tool` arguments validate it; the registry's call schema declares it
(`maxLength`) on every string without a bound of its own."""


class ToolErrorDetail(BaseModel):
    """Why a call failed, in words the model can act on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    message: str
    retryable: bool = False


class ToolResult(BaseModel):
    """The outcome of one tool call. `done` marks a terminal action: the run ends after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["ok", "error", "done"]
    data: JsonValue = None
    error: ToolErrorDetail | None = None

    @model_validator(mode="after")
    def _error_only_on_error_status(self) -> ToolResult:
        if (self.status == "error") != (self.error is not None):
            raise ValueError("a ToolResult has an `error` exactly when its status is 'error'")
        return self

    @classmethod
    def ok(cls, data: JsonValue = None) -> ToolResult:
        return cls(status="ok", data=data)

    @classmethod
    def done(cls, data: JsonValue = None) -> ToolResult:
        return cls(status="done", data=data)

    @classmethod
    def failure(
        cls, error_type: str, message: str, *, retryable: bool = False, data: JsonValue = None
    ) -> ToolResult:
        detail = ToolErrorDetail(type=error_type, message=message, retryable=retryable)
        return cls(status="error", data=data, error=detail)


ArgsT = TypeVar("ArgsT", bound=BaseModel)


class Tool(ABC, Generic[ArgsT]):
    """A capability the model may ask for. The runtime validates, runs and records each call.

    Contract attributes:
        name: what the model writes in `"tool"`; lower_snake_case.
        description: written for the model: what the tool does and when to use it.
        Args: the pydantic model of the arguments; its JSON schema is what the model sees.
        idempotent: False for calls that act on the world (create an order): never retried.
        retry_limit: how many times a retryable error is retried before it is fed back.
        timeout_seconds: the executor stops waiting after this long (None: no limit).
        deterministic: False when the same arguments may give another result (a clock, a
            quote); replay does not compare such results.
        terminal: True when every result of the tool ends the run (`finish`, `refuse`): on
            the last step a chat planner offers only these.
        max_calls: how many times a chat planner offers the tool in one run (None: no
            limit); a reference a model reads section after section gets a budget, so the run
            moves on (`ChatPlanner`). A decoding aid, not a permission.
        keywords: goal words that name the tool besides the words of its name ("format" for
            `strategy_schema`), for the step hints (`prompting.goal_tools`).
    """

    name: str
    description: str
    Args: type[ArgsT]
    idempotent: bool = True
    retry_limit: int = DEFAULT_RETRY_LIMIT
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS
    deterministic: bool = True
    terminal: bool = False
    max_calls: int | None = None
    keywords: tuple[str, ...] = ()

    @abstractmethod
    def call(self, args: ArgsT) -> ToolResult:
        """Run the tool on validated arguments."""

    @property
    def effective_retry_limit(self) -> int:
        """Retries the executor may make: none for a tool that is not idempotent."""
        return self.retry_limit if self.idempotent else 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')!r}>"


def check_tool_contract(candidate: Tool[Any]) -> None:
    """Refuse a tool whose contract is incomplete or contradictory (a programming error)."""
    name = getattr(candidate, "name", None)
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise ValueError(
            f"tool name {name!r} is invalid: use lower_snake_case letters, digits and '_' "
            "(at most 64 characters, starting with a letter)"
        )
    if not getattr(candidate, "description", "").strip():
        raise ValueError(f"tool '{name}' has no description: the model needs one to use it")
    args_model = getattr(candidate, "Args", None)
    if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
        raise ValueError(f"tool '{name}': Args must be a pydantic BaseModel subclass")
    if candidate.retry_limit < 0:
        raise ValueError(f"tool '{name}': retry_limit must be >= 0")
    if not candidate.idempotent and candidate.retry_limit > 0:
        raise ValueError(
            f"tool '{name}' is not idempotent, so it must not be retried: set retry_limit=0"
        )
    if candidate.timeout_seconds is not None and candidate.timeout_seconds <= 0:
        raise ValueError(f"tool '{name}': timeout_seconds must be positive or None")
    if candidate.max_calls is not None and candidate.max_calls < 1:
        raise ValueError(f"tool '{name}': max_calls must be at least 1 or None")


class FunctionTool(Tool[BaseModel]):
    """A tool built by `@tool` from a typed function; calling it directly calls the function."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str,
        description: str,
        args_model: type[BaseModel],
        terminal: bool,
        idempotent: bool,
        retry_limit: int,
        timeout_seconds: float | None,
        deterministic: bool,
        max_calls: int | None = None,
        keywords: tuple[str, ...] = (),
    ) -> None:
        self.function = function
        self.max_calls = max_calls
        self.keywords = keywords
        self.name = name
        self.description = description
        self.Args = args_model
        self.terminal = terminal
        self.idempotent = idempotent
        self.retry_limit = retry_limit
        self.timeout_seconds = timeout_seconds
        self.deterministic = deterministic
        check_tool_contract(self)

    def call(self, args: BaseModel) -> ToolResult:
        # Attributes, not model_dump(): nested models reach the function as models, not dicts.
        value = self.function(**{field: getattr(args, field) for field in type(args).model_fields})
        if isinstance(value, ToolResult):
            return value
        return ToolResult.done(value) if self.terminal else ToolResult.ok(value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


@overload
def tool(function: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    terminal: bool = False,
    idempotent: bool = True,
    retry_limit: int | None = None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
    deterministic: bool = True,
    max_calls: int | None = None,
    keywords: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    terminal: bool = False,
    idempotent: bool = True,
    retry_limit: int | None = None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
    deterministic: bool = True,
    max_calls: int | None = None,
    keywords: tuple[str, ...] = (),
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Build a `Tool` from a typed function with a Google-style docstring.

    The docstring's text before its first section is the description; each parameter must be
    described in its `Args:` section. A plain return value becomes `ToolResult.ok(value)`
    (`done` when `terminal=True`); a returned `ToolResult` is used as is. `retry_limit`
    defaults to 2 for idempotent tools and 0 otherwise.
    """

    # Hints are strings under `from __future__ import annotations`; a model defined in the same
    # function as the tool is only visible in the caller's locals, so keep them for resolution.
    caller_namespace = dict(sys._getframe(1).f_locals)

    def build(target: Callable[..., Any]) -> FunctionTool:
        tool_name = name or target.__name__
        parsed = parse_google_docstring(target.__doc__)
        if not parsed.description:
            raise ValueError(f"tool '{tool_name}' needs a docstring: it is what the model reads")
        limit = (
            retry_limit if retry_limit is not None else (DEFAULT_RETRY_LIMIT if idempotent else 0)
        )
        return FunctionTool(
            target,
            name=tool_name,
            description=parsed.description,
            args_model=_args_model(target, tool_name, parsed.arguments, caller_namespace),
            terminal=terminal,
            idempotent=idempotent,
            retry_limit=limit,
            timeout_seconds=timeout_seconds,
            deterministic=deterministic,
            max_calls=max_calls,
            keywords=keywords,
        )

    return build(function) if function is not None else build


def _args_model(
    function: Callable[..., Any],
    tool_name: str,
    descriptions: dict[str, str],
    namespace: dict[str, Any],
) -> type[BaseModel]:
    hints = typing.get_type_hints(function, localns=namespace, include_extras=True)
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise ValueError(
                f"tool '{tool_name}': parameter '{parameter.name}' must be a plain or "
                "keyword-only parameter (the model passes arguments by name)"
            )
        if parameter.name not in hints:
            raise ValueError(f"tool '{tool_name}': parameter '{parameter.name}' needs a type hint")
        if parameter.name not in descriptions:
            raise ValueError(
                f"tool '{tool_name}': parameter '{parameter.name}' is not described in the "
                "docstring's Args: section; the model needs the description to fill it"
            )
        default = ... if parameter.default is parameter.empty else parameter.default
        # Constraints stay possible through the hint: `Annotated[int, Field(ge=1)]`.
        description = descriptions[parameter.name]
        fields[parameter.name] = (hints[parameter.name], Field(default, description=description))
    model_name = "".join(part.capitalize() for part in tool_name.split("_")) + "Args"
    config = ConfigDict(frozen=True, extra="forbid", str_max_length=MAX_STRING_CHARS)
    model: type[BaseModel] = create_model(model_name, __config__=config, **fields)
    return model

"""The tool contract: `@tool`, `Tool` subclasses and `ToolResult`."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from tradeloop.agent import Tool, ToolResult, tool
from tradeloop.agent.docstrings import parse_google_docstring
from tradeloop.agent.tool import check_tool_contract


def test_decorator_reads_description_and_argument_descriptions_from_the_docstring() -> None:
    @tool
    def moving_average(period: int, source: str = "close") -> float:
        """Average of the last closes.

        Use it before deciding on a trend.

        Args:
            period (int): How many bars to
                average over.
            source: Which price to use.

        Returns:
            The average.
        """
        return float(period)

    assert moving_average.name == "moving_average"
    assert moving_average.description == (
        "Average of the last closes.\n\nUse it before deciding on a trend."
    )
    schema = moving_average.Args.model_json_schema()
    assert schema["properties"]["period"]["description"] == "How many bars to average over."
    assert schema["properties"]["source"]["description"] == "Which price to use."
    assert schema["properties"]["source"]["default"] == "close"
    assert schema["required"] == ["period"]
    assert schema["additionalProperties"] is False
    assert moving_average(3) == 3.0  # the function stays directly callable


def test_plain_return_becomes_ok_and_terminal_tools_return_done() -> None:
    @tool
    def double(value: int) -> int:
        """Double a value.

        Args:
            value: The value.
        """
        return value * 2

    @tool(terminal=True)
    def stop(reason: str) -> str:
        """Stop.

        Args:
            reason: Why.
        """
        return reason

    assert double.call(double.Args(value=2)) == ToolResult.ok(4)
    assert stop.call(stop.Args(reason="x")) == ToolResult.done("x")


def test_constraints_in_annotated_hints_reach_the_schema() -> None:
    @tool
    def size(quantity: Annotated[int, Field(ge=1)]) -> int:
        """Size.

        Args:
            quantity: Units, at least one.
        """
        return quantity

    with pytest.raises(ValidationError):
        size.Args(quantity=0)
    assert size.Args.model_json_schema()["properties"]["quantity"]["minimum"] == 1


def test_tool_without_docstring_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a docstring"):

        @tool
        def silent(value: int) -> int:
            return value


def test_undocumented_argument_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="parameter 'other' is not described"):

        @tool
        def half(value: int, other: int) -> int:
            """Half documented.

            Args:
                value: Documented.
            """
            return value


def test_untyped_and_variadic_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a type hint"):

        @tool
        def untyped(value) -> int:  # type: ignore[no-untyped-def]
            """Untyped.

            Args:
                value: No hint.
            """
            return 1

    with pytest.raises(ValueError, match="plain or keyword-only"):

        @tool
        def variadic(*values: int) -> int:
            """Variadic.

            Args:
                values: Many.
            """
            return 1


def test_tool_that_is_not_idempotent_cannot_be_retried() -> None:
    with pytest.raises(ValueError, match="must not be retried"):

        @tool(idempotent=False, retry_limit=1)
        def create_order(quantity: int) -> int:
            """Create an order.

            Args:
                quantity: Units.
            """
            return quantity

    @tool(idempotent=False)
    def cancel_order(order_id: str) -> str:
        """Cancel an order.

        Args:
            order_id: The order.
        """
        return order_id

    assert cancel_order.retry_limit == 0
    assert cancel_order.effective_retry_limit == 0


def test_tool_name_must_be_snake_case() -> None:
    with pytest.raises(ValueError, match="tool name 'Bad-Name' is invalid"):

        @tool(name="Bad-Name")
        def anything(value: int) -> int:
            """Anything.

            Args:
                value: A value.
            """
            return value


class QuoteArgs(BaseModel):
    symbol: str


class Quote(Tool[QuoteArgs]):
    name = "quote"
    description = "The last price of a symbol."
    Args = QuoteArgs
    deterministic = False

    def call(self, args: QuoteArgs) -> ToolResult:
        return ToolResult.ok({"symbol": args.symbol, "price": 100.0})


def test_subclassed_tool_satisfies_the_contract() -> None:
    quote = Quote()
    check_tool_contract(quote)
    assert quote.call(QuoteArgs(symbol="NIFTY")).data == {"symbol": "NIFTY", "price": 100.0}
    assert quote.retry_limit == 2 and quote.timeout_seconds == 30.0


def test_tool_result_error_is_present_exactly_on_error_status() -> None:
    failed = ToolResult.failure("Timeout", "too slow", retryable=True)
    assert failed.status == "error" and failed.error is not None and failed.error.retryable
    with pytest.raises(ValidationError):
        ToolResult(status="error")
    with pytest.raises(ValidationError):
        ToolResult(status="ok", error=failed.error)


def test_tool_result_data_must_be_json() -> None:
    with pytest.raises(ValidationError):
        ToolResult.ok(object())  # type: ignore[arg-type]


def test_docstring_without_sections_is_all_description() -> None:
    parsed = parse_google_docstring("  One line.\n\n  Second paragraph.  ")
    assert parsed.description == "One line.\n\nSecond paragraph."
    assert parsed.arguments == {}

"""Invariant 10: every non-final order and position state has a way out, written as a table.

The table in docs/trading.md ("States and the way out of each") must list exactly the non-final
states of the code; each must have a transition to another state in the code's tables, and from
each a final state must be reachable; each command the table tells a person to run must exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradeloop.cli import app
from tradeloop.domain.execution.journal import ORDER_TRANSITIONS
from tradeloop.domain.execution.orders import OrderStatus
from tradeloop.domain.positions.model import TRANSITIONS, PositionState

DOC = Path(__file__).resolve().parents[3] / "docs" / "trading.md"
Row = tuple[str, str, str, str]


def table_rows() -> list[Row]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## States and the way out of each", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in ("order", "position"):
            kind, state, moves_on, if_stuck = cells
            rows.append((kind, state.strip("`"), moves_on, if_stuck))
    return rows


def non_final_orders() -> set[str]:
    return {status.value for status in OrderStatus if not status.is_terminal}


def non_final_positions() -> set[str]:
    return {state.value for state in PositionState if not state.is_final}


def test_the_table_lists_exactly_the_non_final_states_of_the_code() -> None:
    rows = table_rows()
    listed = [(kind, state) for kind, state, *_ in rows]

    assert len(listed) == len(set(listed)), "a state is listed twice"
    assert {state for kind, state in listed if kind == "order"} == non_final_orders()
    assert {state for kind, state in listed if kind == "position"} == non_final_positions()
    assert all(moves_on and if_stuck for _, _, moves_on, if_stuck in rows)


def reaches_a_final_state(start: str, graph: dict[str, set[str]], final: set[str]) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for following in graph[todo.pop()] - seen:
            if following in final:
                return True
            seen.add(following)
            todo.append(following)
    return False


@pytest.mark.parametrize("status", sorted(non_final_orders()))
def test_every_non_final_order_status_has_a_way_to_a_final_one(status: str) -> None:
    graph = {s.value: {t.value for t in targets} for s, targets in ORDER_TRANSITIONS.items()}
    final = {s.value for s in OrderStatus if s.is_terminal}

    assert graph[status] - {status}, f"{status} has no transition out"
    assert reaches_a_final_state(status, graph, final)
    assert all(not ORDER_TRANSITIONS[OrderStatus(s)] for s in final), "a final status moves"


@pytest.mark.parametrize("state", sorted(non_final_positions()))
def test_every_non_final_position_state_has_a_way_to_a_final_one(state: str) -> None:
    graph = {s.value: {t.value for t in targets} for s, targets in TRANSITIONS.items()}
    final = {s.value for s in PositionState if s.is_final}

    assert graph[state] - {state}, f"{state} has no transition out"
    assert reaches_a_final_state(state, graph, final)
    assert all(not TRANSITIONS[PositionState(s)] for s in final), "a final state moves"


def test_every_command_the_table_names_exists() -> None:
    commands = {
        tuple(re.sub(r"\b[A-Z]+\b|--\S+|\.\.\.", " ", found).split()[1:])
        for *_, if_stuck in table_rows()
        for found in re.findall(r"`(tradeloop [^`]+)`", if_stuck)
    }
    assert ("orders", "resolve") in commands and ("positions", "retry-exit") in commands

    for command in commands:
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)

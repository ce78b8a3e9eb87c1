"""Golden-file switch: `pytest tests/golden --update-golden` (or TRADELOOP_UPDATE_GOLDEN=1)
rewrites the pinned expectations in tests/golden/expected/ instead of comparing with them.

Only do it on purpose, after a deliberate change of the rules, and review the diff.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/expected/*.json from the current results",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    from_option = bool(request.config.getoption("--update-golden", default=False))
    return from_option or os.environ.get("TRADELOOP_UPDATE_GOLDEN") == "1"

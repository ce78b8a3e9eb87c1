"""Fixtures of the position tests (helpers live in session_kit.py)."""

from __future__ import annotations

import pytest
from session_kit import Session, build_session


@pytest.fixture
def session() -> Session:
    return build_session()

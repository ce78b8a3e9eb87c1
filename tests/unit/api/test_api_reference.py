"""docs/api-reference.md is the OpenAPI document of the app as it is, rendered: regenerating it
changes nothing, and every route of the app has its section."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tradeloop.api.app import create_app
from tradeloop.api.reference import REFRESH, reference, type_of
from tradeloop.settings import Settings

COMMITTED = Path(__file__).parents[3] / "docs" / "api-reference.md"


def test_the_committed_reference_is_what_the_code_generates() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == reference(), (
        f"docs/api-reference.md is out of date with the API: run `{REFRESH}` and commit it"
    )


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """The app's routes, looking into included routers (FastAPI keeps them as one route each;
    ours have no prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        else:
            yield from _api_routes(getattr(getattr(route, "original_router", None), "routes", ()))


def test_every_route_of_the_app_has_a_section_in_its_order() -> None:
    text = reference()
    routes = [
        (method, route.path)
        for route in _api_routes(create_app(Settings.model_construct()).routes)
        for method in sorted(route.methods)
    ]
    assert len(routes) >= 18
    headings = re.findall(r"^### `([A-Z]+) (\S+)`$", text, flags=re.MULTILINE)
    assert sorted(headings) == sorted(routes)
    assert headings == routes  # in the order the app has them


def test_every_link_in_the_reference_leads_to_an_anchor() -> None:
    text = reference()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for method, path in re.findall(r"^### `([A-Z]+) (\S+)`$", text, flags=re.MULTILINE):
        kept = "".join(c for c in f"{method} {path}".lower() if c.isalnum() or c in " -_")
        anchors.add(kept.replace(" ", "-"))
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and links <= anchors, links - anchors


def test_a_protected_route_says_it_needs_the_token_and_lists_401_and_403() -> None:
    text = reference()
    section = text.split("### `POST /kill-switch`", 1)[1].split("\n### ", 1)[0]
    assert "Auth: token needed" in section
    assert "| `401` |" in section and "| `403` |" in section
    health = text.split("### `GET /health`", 1)[1].split("\n### ", 1)[0]
    assert "Auth: none" in health


def test_parameter_types_defaults_and_bounds_are_written_out() -> None:
    text = reference()
    assert "| `limit` | int | `10` | ≥ 1, ≤ 500 | How many strategies. |" in text
    assert "| `day` | date or null | `null` |" in text
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/TradeOut"}}) == (
        "list[[TradeOut](#model-tradeout)]"
    )

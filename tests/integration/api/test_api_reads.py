"""Every GET route over real HTTP on data the real stores wrote: times in IST, money in rupees,
unknown ids 404 naming the id, bad query parameters 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from support.api_data import Seeded


@pytest.fixture
def client(seeded: Seeded, start_api: Callable[[], httpx.Client]) -> httpx.Client:
    return start_api()


def test_health_reports_each_part_and_no_feed(client: httpx.Client) -> None:
    body = client.get("/health").json()

    assert body["ok"] is True
    assert body["series"] == 0 and body["candles"]["ok"] is True
    assert body["ledger"] == {"ok": True, "detail": "reachable"}
    assert body["trading_mode"] == "paper" and body["requested_mode"] == "paper"
    assert body["kill_switch"]["engaged"] is False
    assert body["feed"] is None and "no market feed runs" in body["feed_note"]
    assert {s["variable"] for s in body["live_switches"]} >= {"TRADELOOP_DHAN_ACCESS_TOKEN"}


def test_health_says_prefect_is_not_configured_without_its_url(
    seeded: Seeded, start_api: Callable[[], httpx.Client]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Prefect reads its environment once, at import: the setting is unset in its context.
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        prefect = start_api().get("/health").json()["prefect"]

    assert prefect["ok"] is None and "PREFECT_API_URL" in prefect["detail"]


def test_positions_of_a_day_in_ist(client: httpx.Client, seeded: Seeded) -> None:
    rows = client.get("/positions", params={"day": str(seeded.trading_day)}).json()

    by_id = {row["position_id"]: row for row in rows}
    assert set(by_id) == {seeded.position_id, seeded.closed_position_id}
    assert by_id[seeded.position_id]["state"] == "OPEN"
    assert by_id[seeded.position_id]["side"] == "long"


def test_positions_of_another_day_still_list_the_open_one(
    client: httpx.Client, seeded: Seeded
) -> None:
    rows = client.get("/positions", params={"day": "2026-02-02"}).json()

    assert [row["position_id"] for row in rows] == [seeded.position_id]


def test_orders_and_refusals_of_a_day(client: httpx.Client, seeded: Seeded) -> None:
    body = client.get("/orders", params={"day": str(seeded.trading_day)}).json()

    assert [o["quantity"] for o in body["orders"]] == [130]
    assert body["orders"][0]["created_at"] == "2026-01-06T09:30:00+05:30"
    assert body["refused"][0]["reasons"] == ["too big"]


def test_trades_in_a_range_with_totals_in_rupees(client: httpx.Client, seeded: Seeded) -> None:
    day = str(seeded.trading_day)
    body = client.get("/trades", params={"from": day, "to": day}).json()

    assert [t["position_id"] for t in body["trades"]] == [seeded.closed_position_id]
    assert body["trades"][0]["exit_time"] == "2026-01-06T10:00:00+05:30"
    assert body["net_pnl"] == 6_457.0 and body["costs"] == 43.0
    later = client.get("/trades", params={"from": "2026-01-07"}).json()
    assert later["trades"] == [] and later["net_pnl"] == 0.0


def test_daily_pnl(client: httpx.Client, seeded: Seeded) -> None:
    assert client.get("/pnl/daily").json() == [
        {
            "trading_day": str(seeded.trading_day),
            "trades": 1,
            "gross_pnl": 6_500.0,
            "costs": 43.0,
            "net_pnl": 6_457.0,
        }
    ]


def test_top_strategies_from_memory(client: httpx.Client, seeded: Seeded) -> None:
    rows = client.get("/strategies/top", params={"symbol": "nifty", "limit": 5}).json()

    assert [r["spec_id"] for r in rows] == [seeded.spec_id]
    assert rows[0]["passed"] is True and rows[0]["gate"]["dsr"] == 0.99
    assert rows[0]["evaluated_at"] == "2025-03-04T05:30:00+05:30"
    other = client.get("/strategies/top", params={"symbol": "BANKNIFTY"}).json()
    assert other == []


def test_one_strategy_with_evidence_history_and_deployments(
    client: httpx.Client, seeded: Seeded
) -> None:
    body = client.get(f"/strategies/{seeded.spec_id}").json()

    assert body["spec"]["name"] == body["evidence"]["name"]
    assert body["evidence"]["score"] == 0.9 and len(body["history"]) == 1
    assert [d["id"] for d in body["deployments"]] == [seeded.deployment_id]


def test_deployments(client: httpx.Client, seeded: Seeded) -> None:
    rows = client.get("/deployments").json()

    assert [(d["id"], d["mode"], d["status"]) for d in rows] == [
        (seeded.deployment_id, "paper", "active")
    ]
    assert rows[0]["deployed_at"] == "2026-01-06T09:30:00+05:30"


def test_agent_runs_and_one_run(client: httpx.Client, seeded: Seeded) -> None:
    runs = client.get("/agent/runs").json()
    assert [(r["run_id"], r["outcome"], r["steps"]) for r in runs] == [(seeded.run_id, "done", 1)]

    run = client.get(f"/agent/runs/{seeded.run_id}").json()
    assert run["step_records"][0]["call"]["tool"] == "list_data"
    assert run["footer"]["outcome"] == "done"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/strategies/no-such-spec", "no-such-spec"),
        ("/agent/runs/no-such-run", "no-such-run"),
        ("/agent/runs/not a run id", "not a run id"),
    ],
)
def test_unknown_ids_are_404_naming_the_id(client: httpx.Client, path: str, named: str) -> None:
    answer = client.get(path)

    assert answer.status_code == 404
    assert named in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/trades", {"from": "2026-13-01"}, "from"),
        ("/trades", {"from": "2026-01-07", "to": "2026-01-06"}, "from"),
        ("/positions", {"day": "yesterday"}, "day"),
        ("/orders", {"day": "2026-02-30"}, "day"),
        ("/strategies/top", {"limit": "0"}, "limit"),
        ("/strategies/top", {"symbol": "NIFY"}, "symbol"),
        ("/strategies/top", {"timeframe": "7m"}, "timeframe"),
        ("/agent/runs", {"limit": "many"}, "limit"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(
    client: httpx.Client, path: str, params: dict[str, str], field: str
) -> None:
    answer = client.get(path, params=params)

    assert answer.status_code == 422
    assert [error["loc"] for error in answer.json()["detail"]] == [["query", field]]


def test_ledger_is_not_shown_while_a_requested_live_is_refused(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, start_api: Callable[[], httpx.Client]
) -> None:
    monkeypatch.setenv("TRADELOOP_TRADING_MODE", "live")  # and no other live switch
    client = start_api()

    refused = [client.get(path) for path in ("/positions", "/orders", "/trades", "/pnl/daily")]
    health = client.get("/health").json()

    assert [a.status_code for a in refused] == [409] * 4
    assert all("TRADELOOP_LIVE_CONFIRM" in a.json()["detail"] for a in refused)
    assert (health["requested_mode"], health["trading_mode"]) == ("live", "paper")

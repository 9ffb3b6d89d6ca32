"""A small HTTP client for the integration tests, and the comparison of REST figures with the oracle."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from tests import oracle
from tests.scenarios import assert_matches
from tests.stack import LocalStack


class Api:
    def __init__(self, stack: LocalStack, replica: int = 1) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.api_url_of(replica), timeout=30)

    def ingest(self, events: Any, *, token: str | None = None, atomic: bool = False,
               content_type: str = "application/json", raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else orjson.dumps(events)
        return self.http.post("/api/v1/events", content=body, params={"atomic": "true"} if atomic else None,
                              headers={"Authorization": f"Bearer {token or self.stack.ingest_token}",
                                       "Content-Type": content_type})

    def get(self, shop: str, path: str, token: str | None = None, **params: Any) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/shops/{shop}/{path}", params=params,
                                 headers={"Authorization": f"Bearer {token or self.stack.viewer_token}"})
        assert response.status_code == 200, response.text
        return response.json()

    def put_settings(self, shop: str, settings: dict[str, Any]) -> dict[str, Any]:
        response = self.http.put(f"/api/v1/shops/{shop}/settings", json=settings,
                                 headers={"Authorization": f"Bearer {self.stack.admin_token}"})
        assert response.status_code == 200, response.text
        return response.json()

    def wait_processed(self, shop: str, timeout: float = 60.0) -> dict[str, Any]:
        """Until /lag says every accepted event of the shop is reflected in the figures."""
        deadline = time.monotonic() + timeout
        while True:
            lag = self.get(shop, "lag")
            if lag["pending_events"] == 0 and lag["accepted_events"] > 0:
                return lag
            if time.monotonic() > deadline:
                raise TimeoutError(f"shop {shop}: still {lag} after {timeout}s; {self.exported_counts(shop)}")
            time.sleep(0.1)

    def exported_counts(self, shop: str) -> str:
        """What each partition's export says it processed (buyer topics "p<N>", agent-events "ap<N>"), and
        the worker log's warnings and errors: where a count stopped, for the message of a failed wait."""
        from streams.readside.keys import agent_meta_key, meta_key

        partitions = int(self.stack.env.get("KEFU_PARTITIONS", "4"))
        keys = {f"p{p}": meta_key(shop, p) for p in range(partitions)}
        keys |= {f"ap{p}": agent_meta_key(shop, p) for p in range(partitions)}
        try:
            client = self.stack.redis_client()
            try:
                values = client.mget(list(keys.values()))
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001 - a diagnostic only
            return f"exported counts unreadable ({exc})"
        counts = {name: (orjson.loads(raw).get("processed"), orjson.loads(raw).get("watermark")) if raw else None
                  for name, raw in zip(keys, values, strict=True)}
        workers = range(1, int(self.stack.env.get("KEFU_WORKERS", "1")) + 1)
        logs = [line for i in workers for line in self.stack.log(f"worker-{i}").splitlines()
                if "WARNING" in line or "ERROR" in line]
        return f"exported (processed, watermark) per partition: {counts}; worker warnings: {logs[-20:]}"


def assert_same_figures(api: Api, shop: str, events: list[dict[str, Any]], settings: dict[str, Any] | None) -> None:
    """Every figure the API serves for the shop equals the independent oracle's."""
    expected = oracle.compute(events, settings)
    days = sorted(set(expected["agents"]) | set(expected["team"]))
    for day in days:
        rows = {row["agent_id"]: row for row in api.get(shop, "agents", day=day)["agents"]}
        for agent in set(rows) | set(expected["agents"].get(day, {})):
            got = {k: v for k, v in rows.get(agent, {}).items() if k not in ("agent_id", "group")}
            want = expected["agents"].get(day, {}).get(agent, {})
            assert_matches(got, want, f"{shop} agents {day} {agent}")
            assert_matches(want, got, f"{shop} agents {day} {agent} (reverse)")
        summary = api.get(shop, "summary", day=day)
        assert_matches(summary["team"], expected["team"].get(day, {}), f"{shop} team {day}")
        assert_matches(expected["team"].get(day, {}), summary["team"], f"{shop} team {day} (reverse)")
        for group in set(summary["groups"]) | set(expected["groups"].get(day, {})):
            want = expected["groups"].get(day, {}).get(group, {})
            got = summary["groups"].get(group, {})
            assert_matches(got, want, f"{shop} group {group} {day}")
            assert_matches(want, got, f"{shop} group {group} {day} (reverse)")
    live = api.get(shop, "live")
    got_live = {row["agent_id"]: {k: v for k, v in row.items() if k not in ("agent_id", "group")}
                for row in live["agents"]}
    assert set(got_live) == set(expected["live"]["agents"]), (got_live, expected["live"]["agents"])
    assert_matches(got_live, expected["live"]["agents"], f"{shop} live")
    assert_matches(live["team"], expected["live"]["team"], f"{shop} live team")

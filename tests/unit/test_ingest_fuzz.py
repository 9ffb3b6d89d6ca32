"""Fuzzing the ingest API: whatever the body, never a 500 or a stack trace; every rejection names the
event's index, the field and the rule. In-process, with Kafka deliberately unreachable (valid events
then get 503, never 202 and never 500)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from streams.config import Config
from tests.fuzzing import count_case, examples

FIELDS = ["event_id", "shop_id", "type", "ts", "buyer_id", "agent_id", "sender", "text", "from_agent", "to_agent",
          "score", "order_id", "amount", "items", "status", "settings_version"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
near_valid_values = {
    "type": st.sampled_from(["chat.message", "chat.transfer", "chat.rating", "order.created", "order.paid",
                             "order.closed", "order.refunded", "agent.status", "nope"]),
    "ts": st.integers(0, 2 * 10**12) | json_values,
    "sender": st.sampled_from(["buyer", "agent", "robot", "x"]) | json_values,
    "amount": st.floats(-10, 1e6, allow_nan=False) | st.integers(-5, 10**6) | json_values,
}
events = st.fixed_dictionaries({}, optional={f: near_valid_values.get(f, st.text(max_size=10) | json_values)
                                             for f in FIELDS}) | json_values
counter = iter(range(10**9))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    config = Config(ingest_token="fuzz", kafka_port=1, redis_port=1, max_body_bytes=64_000)
    with TestClient(create_app(config), raise_server_exceptions=False) as test_client:
        yield test_client


def check(response, body_items: int | None) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in (202, 400, 413, 415, 422, 503), response.text
    data = response.json()
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        assert {"error", "message"} <= set(data)
    for rejection in data.get("rejected", []):
        assert set(rejection) == {"index", "field", "error"}
        assert body_items is None or 0 <= rejection["index"] < body_items
        assert rejection["field"] and rejection["error"]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(events, max_size=6), atomic=st.booleans())
def test_json_batches(client: TestClient, batch: list, atomic: bool) -> None:
    count_case("ingest: JSON batches")
    response = client.post("/api/v1/events", content=orjson.dumps(batch, option=orjson.OPT_NON_STR_KEYS),
                           params={"atomic": str(atomic).lower()},
                           headers={"Authorization": "Bearer fuzz", "Content-Type": "application/json",
                                    "X-Fuzz": str(next(counter))})
    check(response, len(batch))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "application/x-ndjson",
                                                                     "text/plain", ""]))
def test_arbitrary_bytes(client: TestClient, body: bytes, content_type: str) -> None:
    count_case("ingest: arbitrary bytes")
    response = client.post("/api/v1/events", content=body,
                           headers={"Authorization": "Bearer fuzz", "Content-Type": content_type})
    check(response, None)

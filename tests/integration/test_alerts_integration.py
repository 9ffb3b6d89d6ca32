"""Alert hooks on the real stack (KEFU_CLOCK=event: "now" is the shop's watermark, advanced by later
events): rules API, evaluation in the worker, the dispatcher's deliveries to real HTTP receivers on
loopback (flaky, slow, dead), restarts, and screens' alert frames."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from websockets.sync.client import connect

from streams.alerts.formats import GENERIC_FIELDS
from streams.alerts.receiver import Receiver
from streams.readside.keys import state_key
from tests.client import Api

pytestmark = pytest.mark.integration

T0 = int(time.time() * 1000) - 2 * 3600_000  # two hours ago: event time, well inside the accepted range


@pytest.fixture
def api(stack) -> Api:
    return Api(stack)


def new_shop() -> str:
    return f"alert-{uuid.uuid4().hex[:8]}"


def message(shop: str, event_id: str, ts: int, buyer: str, agent: str | None = "A", sender: str = "buyer") -> dict:
    return {"event_id": event_id, "shop_id": shop, "type": "chat.message", "ts": ts, "buyer_id": buyer,
            "agent_id": agent, "sender": sender}


def ingest(api: Api, *events: dict) -> None:
    response = api.ingest(list(events))
    assert response.status_code == 202 and not response.json()["rejected"], response.text


def put_rules(api: Api, shop: str, rules: list[dict[str, Any]], token: str | None = None) -> Any:
    return api.http.put(f"/api/v1/shops/{shop}/alert-rules", content=orjson.dumps({"rules": rules}),
                        headers={"Authorization": f"Bearer {token or api.stack.admin_token}",
                                 "Content-Type": "application/json"})


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


def alerts(api: Api, shop: str) -> list[dict[str, Any]]:
    return api.get(shop, "alerts", limit=500)["alerts"]


def alert_state(api: Api, shop: str) -> dict[str, Any]:
    """The shop's alert state as the runner left it (streams/readside/keys.py: firing entries with their
    clear_since)."""
    client = api.stack.redis_client()
    try:
        raw = client.get(state_key(shop))
    finally:
        client.close()
    return orjson.loads(raw) if raw else {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- rules API ------------------------------------------------------------------------------------------


def test_rules_api_defaults_validation_roles_and_redaction(api: Api) -> None:
    shop = new_shop()
    defaults = api.get(shop, "alert-rules")
    assert defaults["version"] == 0 and defaults["default"] is True
    assert [(r["kind"], r["threshold"], r["scope"]) for r in defaults["rules"]] == [
        ("buyer_waiting", 60, "agent"), ("sla_rate", 0.9, "team")]

    bad = put_rules(api, shop, [{"id": "x", "kind": "buyer_waiting", "threshold": 60,
                                 "webhooks": [{"url": "ftp://example.com/x"}]}])
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid" and bad.json()["field"] == "rules[0].webhooks[0].url"
    assert put_rules(api, shop, [{"id": "x", "kind": "nope", "threshold": 1}]).json()["field"] == "rules[0].kind"
    malformed = api.http.put(f"/api/v1/shops/{shop}/alert-rules", content=b"{",
                             headers={"Authorization": f"Bearer {api.stack.admin_token}"})
    assert malformed.status_code == 400
    assert put_rules(api, shop, [], token=api.stack.viewer_token).status_code == 403
    assert put_rules(api, shop, [], token="nope").status_code == 401

    rules = [{"id": "wait-60", "kind": "buyer_waiting", "threshold": 60, "window_s": 300, "scope": "agent",
              "severity": "critical",
              "webhooks": [{"url": "http://127.0.0.1:9/hook?token=t", "format": "generic", "secret": "s"}]}]
    stored = put_rules(api, shop, rules)
    assert stored.status_code == 200, stored.text
    assert stored.json()["version"] == 1 and stored.json()["rules"][0]["webhooks"][0]["secret"] == "s"
    as_viewer = api.get(shop, "alert-rules")
    assert as_viewer["rules"][0]["webhooks"] == [{"url": "http://127.0.0.1:9/…", "format": "generic",
                                                  "has_secret": True}]
    as_admin = api.get(shop, "alert-rules", token=api.stack.admin_token)
    assert as_admin["rules"][0]["webhooks"][0]["url"] == "http://127.0.0.1:9/hook?token=t"
    # A GET answer can be PUT back as is (shop_id / version / default are ignored).
    again = api.http.put(f"/api/v1/shops/{shop}/alert-rules", content=orjson.dumps(as_admin),
                         headers={"Authorization": f"Bearer {api.stack.admin_token}"})
    assert again.status_code == 200 and again.json()["version"] == 2
    assert api.get(shop, "alerts") == {"shop_id": shop, "alerts": [], "firing": []}
    assert api.get(shop, "alert-deliveries") == {"shop_id": shop, "deliveries": []}
    assert api.http.get(f"/api/v1/shops/{shop}/alerts", params={"limit": 0},
                        headers={"Authorization": f"Bearer {api.stack.viewer_token}"}).status_code == 422


# ---- buyer_waiting end to end ---------------------------------------------------------------------------


def test_buyer_waiting_fires_before_the_reply_and_resolves_after_it_one_delivery_each(api: Api) -> None:
    shop = new_shop()
    with Receiver(secret="s3cr3t", fail_first=2) as flaky, Receiver() as chat:
        rules = [{"id": "wait-60", "kind": "buyer_waiting", "threshold": 60, "scope": "agent", "clear_s": 30,
                  "webhooks": [{"url": flaky.url, "format": "generic", "secret": "s3cr3t"},
                               {"url": chat.url, "format": "dingtalk"}]}]
        assert put_rules(api, shop, rules).status_code == 200
        ingest(api, message(shop, "m1", T0, "b1"))
        api.wait_processed(shop)
        ingest(api, message(shop, "m2", T0 + 59_000, "b2", agent="B"))  # A's buyer has waited 59 s
        api.wait_processed(shop)
        time.sleep(1.0)
        assert alerts(api, shop) == []
        ingest(api, message(shop, "m3", T0 + 61_000, "b3", agent="B"))  # 61 s: over the threshold
        api.wait_processed(shop)
        fired = wait_until(lambda: alerts(api, shop), what="firing alert")
        assert [(a["state"], a["agent_id"], a["value"]) for a in fired] == [("firing", "A", 61.0)]
        alert_id = fired[0]["alert_id"]
        assert alert_id == f"{shop}:wait-60:A:{T0 + 61_000}"
        assert api.get(shop, "alerts")["firing"][0]["alert_id"] == alert_id
        # Delivered despite two failures (retried with backoff), signed, the api.md body exactly.
        wait_until(lambda: flaky.accepted() and chat.accepted(), what="firing delivered to both receivers")
        (delivery,) = flaky.accepted()
        assert delivery.key == f"{alert_id}:firing" and delivery.signature_ok is True
        assert delivery.json == {"alert_id": alert_id, "rule_id": "wait-60", "kind": "buyer_waiting",
                                 "shop_id": shop, "agent_id": "A", "state": "firing", "value": 61.0,
                                 "threshold": 60, "severity": "warning", "ts": T0 + 61_000}
        assert tuple(delivery.json) == GENERIC_FIELDS
        assert flaky.calls == 3 and all(d.key == delivery.key for d in flaky.deliveries)
        assert orjson.loads(chat.accepted()[0].body)["msgtype"] == "markdown"

        # The reply (70 s); resolved only once it has been clear for clear_s (30 s) of shop time.
        ingest(api, message(shop, "m4", T0 + 70_000, "b1", sender="agent"))
        api.wait_processed(shop)
        # The clear time is the "now" of the first evaluation that sees the reply: wait for that evaluation
        # before m5 moves "now" on (the runner may merge the two exports' evaluations into one at T0 + 90 s).
        clear_since = wait_until(
            lambda: alert_state(api, shop).get("firing", {}).get("wait-60", {}).get("A", {}).get("clear_since"),
            what="the reply seen by the alert runner")
        assert clear_since == T0 + 70_000
        ingest(api, message(shop, "m5", T0 + 90_000, "b4", agent="B"))
        api.wait_processed(shop)
        time.sleep(1.0)
        assert [a["state"] for a in alerts(api, shop)] == ["firing"]
        ingest(api, message(shop, "m6", T0 + 100_000, "b5", agent="B"))
        api.wait_processed(shop)
        resolved = wait_until(lambda: [a for a in alerts(api, shop) if a["state"] == "resolved"], what="resolved")
        assert [(a["alert_id"], a["agent_id"], a["value"], a["ts"]) for a in resolved] == [
            (alert_id, "A", 0, T0 + 100_000)]
        wait_until(lambda: len(flaky.accepted()) == 2 and len(chat.accepted()) == 2, what="resolved delivered")
        time.sleep(1.5)  # nothing more comes: exactly one logical delivery per state change and receiver
        assert [d.key for d in flaky.accepted()] == [f"{alert_id}:firing", f"{alert_id}:resolved"]
        assert [d.key for d in chat.accepted()] == [f"{alert_id}:firing", f"{alert_id}:resolved"]
        assert all(d.signature_ok for d in flaky.deliveries)
        assert flaky.accepted()[1].json["state"] == "resolved"

    attempts = api.get(shop, "alert-deliveries")["deliveries"]
    flaky_attempts = [(d["state"], d["attempt"], d["result"]) for d in reversed(attempts)
                      if d["url"].endswith(f":{flaky.port}/…")]
    assert flaky_attempts == [("firing", 1, "retrying"), ("firing", 2, "retrying"), ("firing", 3, "delivered"),
                              ("resolved", 1, "delivered")]
    assert all("hook" not in d["url"] for d in attempts)  # URLs shown without path/query


def test_rules_put_is_in_force_for_the_next_evaluation(api: Api) -> None:
    shop = new_shop()
    ingest(api, message(shop, "m1", T0, "b1"), message(shop, "m2", T0 + 1_000, "b2"))
    api.wait_processed(shop)
    time.sleep(0.5)
    assert alerts(api, shop) == []  # defaults: nobody has waited 60 s
    with Receiver() as receiver:
        rules = [{"id": "queue", "kind": "waiting_buyers", "threshold": 1, "scope": "team",
                  "webhooks": [{"url": receiver.url}]}]
        assert put_rules(api, shop, rules).status_code == 200
        # No new event: the rules change alone makes the worker evaluate the shop again.
        fired = wait_until(lambda: alerts(api, shop), what="alert after the PUT")
        assert [(a["rule_id"], a["agent_id"], a["value"]) for a in fired] == [("queue", None, 2)]
        wait_until(lambda: receiver.accepted(), timeout=10, what="delivery")
        assert receiver.accepted()[0].json["agent_id"] is None
        # Removing the rule resolves its alert at once.
        assert put_rules(api, shop, []).status_code == 200
        wait_until(lambda: len(receiver.accepted()) == 2, what="resolved on rule removal")
        assert receiver.accepted()[1].json["state"] == "resolved"


# ---- isolation and durability ---------------------------------------------------------------------------


def test_dead_and_slow_receivers_delay_neither_others_nor_the_figures(api: Api) -> None:
    shop = new_shop()
    dead_url = f"http://127.0.0.1:{free_port()}/hook"
    with Receiver(delay_s=12.0) as slow, Receiver() as healthy:
        hooks = [{"url": dead_url}, {"url": slow.url}, {"url": healthy.url}]
        assert put_rules(api, shop, [{"id": "queue", "kind": "waiting_buyers", "threshold": 0,
                                      "webhooks": hooks}]).status_code == 200
        ingest(api, message(shop, "m1", T0, "b1"))
        api.wait_processed(shop)
        wait_until(lambda: alerts(api, shop), what="alert")
        started = time.monotonic()
        wait_until(lambda: healthy.accepted(), timeout=15, what="delivery to the healthy receiver")
        assert time.monotonic() - started < 5
        wait_until(lambda: slow.calls, timeout=5, what="the slow receiver called")
        # More alerts while the slow one hangs and the dead one refuses: the healthy one gets each at once.
        for i in range(2, 5):
            ingest(api, message(shop, f"m{i}", T0 + i * 1000, f"b{i}", agent=f"A{i}"))
            api.wait_processed(shop)
            wait_until(lambda n=i: len(alerts(api, shop)) == n, what=f"alert {i}")
            wait_until(lambda n=i: len(healthy.accepted()) == n, timeout=5, what=f"delivery {i}")
        # The figures pipeline is not held up either.
        other = new_shop()
        events = [message(other, f"e{i}", T0 + i, f"buyer{i % 50}") for i in range(2000)]
        started = time.monotonic()
        ingest(api, *events)
        api.wait_processed(other, timeout=20)
        assert time.monotonic() - started < 10
        attempts = api.get(shop, "alert-deliveries")["deliveries"]
        dead = [d for d in attempts if d["url"] == dead_url.rsplit("/", 1)[0] + "/…"]
        assert dead and all(d["result"] == "retrying" and d["http_status"] is None for d in dead)


def test_dispatcher_restart_loses_no_delivery(api: Api, stack) -> None:
    shop = new_shop()
    with Receiver(fail_first=1) as receiver:
        assert put_rules(api, shop, [{"id": "queue", "kind": "waiting_buyers", "threshold": 0,
                                      "webhooks": [{"url": receiver.url}]}]).status_code == 200
        stack.kill_dispatcher()
        try:
            ingest(api, message(shop, "m1", T0, "b1"))
            api.wait_processed(shop)
            wait_until(lambda: alerts(api, shop), what="alert recorded while the dispatcher is down")
            time.sleep(1.0)
            assert receiver.calls == 0
        finally:
            stack.start_dispatcher()
        # The alert waited in Kafka; the first attempt fails, then kill again while the retry is pending.
        wait_until(lambda: receiver.calls >= 1, timeout=60, what="first attempt after the restart")
        stack.kill_dispatcher()
        try:
            time.sleep(2.0)
            assert receiver.accepted() == []
        finally:
            stack.start_dispatcher()
        wait_until(lambda: receiver.accepted(), timeout=60, what="retry resumed from Redis after the restart")
        time.sleep(2.0)
        assert len(receiver.accepted()) == 1


def test_screens_get_an_alert_frame(api: Api, stack) -> None:
    shop = new_shop()
    ingest(api, message(shop, "m0", T0, "b0", agent="Z"), message(shop, "m0r", T0 + 1, "b0", agent="Z",
                                                                   sender="agent"))
    api.wait_processed(shop)
    assert put_rules(api, shop, [{"id": "queue", "kind": "waiting_buyers", "threshold": 0}]).status_code == 200
    url = stack.api_url.replace("http://", "ws://") + f"/api/v1/shops/{shop}/stream?token={stack.viewer_token}"
    with connect(url, open_timeout=10) as ws:
        assert orjson.loads(ws.recv(timeout=10))["type"] == "snapshot"
        ingest(api, message(shop, "m1", T0 + 5_000, "b1"))
        deadline = time.monotonic() + 60
        while True:
            frame = orjson.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if frame["type"] == "alert":
                break
        assert (frame["state"], frame["rule_id"], frame["agent_id"], frame["value"]) == ("firing", "queue", "A", 1)

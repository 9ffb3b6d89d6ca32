"""The live-operations alerts (issue 15) on the real stack (KEFU_CLOCK=event: "now" is the shop's
watermark): queue_waiting, queue_wait and agent_away fire while the buyer still queues and resolve
when the queue wait ends or the agent is back; staffing fires per group with the value GET /live
shows; each state change is delivered once, signed, with exactly the api.md fields."""

from __future__ import annotations

import time

import pytest

from streams.alerts.formats import GENERIC_FIELDS
from streams.alerts.receiver import Receiver
from tests.client import Api
from tests.integration.test_alerts_integration import (
    T0,
    alerts,
    ingest,
    message,
    new_shop,
    put_rules,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def api(stack) -> Api:
    return Api(stack)


def event(shop: str, event_id: str, ts: int, kind: str, **fields: object) -> dict:
    return {"event_id": event_id, "shop_id": shop, "type": kind, "ts": ts, **fields}


def test_queue_and_away_alerts_fire_while_the_buyer_queues_and_resolve_after(api: Api) -> None:
    shop = new_shop()
    with Receiver(secret="s3cr3t") as receiver:
        hook = [{"url": receiver.url, "format": "generic", "secret": "s3cr3t"}]
        rules = [{"id": "queuing", "kind": "queue_waiting", "threshold": 0, "clear_s": 0, "webhooks": hook},
                 {"id": "queued-60", "kind": "queue_wait", "threshold": 60, "clear_s": 0, "webhooks": hook},
                 {"id": "away-120", "kind": "agent_away", "threshold": 120, "clear_s": 0, "webhooks": hook}]
        assert put_rules(api, shop, rules).status_code == 200
        ingest(api, event(shop, "s1", T0, "agent.status", agent_id="A", status="away"),
               event(shop, "s2", T0, "agent.status", agent_id="B", status="online"),
               event(shop, "q1", T0 + 1_000, "chat.queued", buyer_id="b1"))
        api.wait_processed(shop)
        fired = wait_until(lambda: alerts(api, shop), what="queue_waiting firing")
        assert [(a["rule_id"], a["state"], a["value"]) for a in fired] == [("queuing", "firing", 1)]

        # 59 s of queuing: queue_wait holds back; the watermark moves with another buyer's message.
        ingest(api, message(shop, "m1", T0 + 60_000, "b2", agent="B"))
        api.wait_processed(shop)
        time.sleep(1.0)
        assert [a["rule_id"] for a in alerts(api, shop)] == ["queuing"]
        # 61 s: b1 still queues (no transfer yet) → queue_wait fires with the longest queue wait.
        ingest(api, message(shop, "m2", T0 + 62_000, "b3", agent="B"))
        api.wait_processed(shop)
        wait_until(lambda: any(a["rule_id"] == "queued-60" for a in alerts(api, shop)), what="queue_wait firing")
        (queue_wait,) = [a for a in alerts(api, shop) if a["rule_id"] == "queued-60"]
        assert (queue_wait["agent_id"], queue_wait["value"]) == (None, 61.0)
        assert queue_wait["alert_id"] == f"{shop}:queued-60:team:{T0 + 62_000}"

        # A away for 125 s while b1 queues (and b2, b3 wait for B of A's group): agent_away fires.
        ingest(api, message(shop, "m3", T0 + 125_000, "b4", agent="B"))
        api.wait_processed(shop)
        wait_until(lambda: any(a["rule_id"] == "away-120" for a in alerts(api, shop)), what="agent_away firing")
        (away,) = [a for a in alerts(api, shop) if a["rule_id"] == "away-120"]
        assert (away["agent_id"], away["value"], away["state"]) == ("A", 125.0, "firing")

        # b1 is handed from the queue to B: both queue alerts resolve; A stays away while b2–b4 wait.
        ingest(api, event(shop, "t1", T0 + 130_000, "chat.transfer", buyer_id="b1", from_agent=None, to_agent="B"))
        api.wait_processed(shop)
        wait_until(lambda: len([a for a in alerts(api, shop) if a["state"] == "resolved"]) == 2,
                   what="queue alerts resolved")
        assert {a["rule_id"] for a in alerts(api, shop) if a["state"] == "resolved"} == {"queuing", "queued-60"}
        # A comes back: agent_away resolves.
        ingest(api, event(shop, "s3", T0 + 140_000, "agent.status", agent_id="A", status="online"))
        api.wait_processed(shop)
        wait_until(lambda: len([a for a in alerts(api, shop) if a["state"] == "resolved"]) == 3,
                   what="agent_away resolved")

        ids = {a["rule_id"]: a["alert_id"] for a in alerts(api, shop)}
        expected = sorted(f"{ids[r]}:{state}" for r in ("queuing", "queued-60", "away-120")
                          for state in ("firing", "resolved"))
        wait_until(lambda: len(receiver.accepted()) == 6, what="six deliveries")
        time.sleep(1.5)  # nothing more comes: one delivery per state change
        assert sorted(d.key for d in receiver.accepted()) == expected
        assert all(d.signature_ok for d in receiver.deliveries)
        assert all(tuple(d.json) == GENERIC_FIELDS for d in receiver.accepted())


def test_staffing_fires_per_group_with_the_live_now_cast(api: Api) -> None:
    shop = new_shop()
    # Buyers arrive for A and B, who are both away: nobody online in the group, more agents needed.
    ingest(api, event(shop, "s1", T0, "agent.status", agent_id="A", status="away"),
           event(shop, "s2", T0, "agent.status", agent_id="B", status="away"),
           *[message(shop, f"m{i}", T0 + i * 1000, f"b{i}", agent="AB"[i % 2]) for i in range(6)])
    api.wait_processed(shop)
    live = api.get(shop, "live")
    needed = live["groups"]["presale"]["agents_needed"]
    assert needed > 0
    with Receiver() as receiver:
        # The rule comes after the events: evaluated at the same watermark as the /live answer above.
        rules = [{"id": "staff", "kind": "staffing", "threshold": 0, "webhooks": [{"url": receiver.url}]}]
        assert put_rules(api, shop, rules).status_code == 200
        fired = wait_until(lambda: alerts(api, shop), what="staffing firing")
        assert [(a["rule_id"], a["state"], a["agent_id"], a["group"]) for a in fired] == [
            ("staff", "firing", None, "presale")]
        assert fired[0]["value"] == needed
        assert fired[0]["alert_id"] == f"{shop}:staff:presale:{live['now']}"
        (now_firing,) = api.get(shop, "alerts")["firing"]
        assert (now_firing["alert_id"], now_firing["agent_id"], now_firing["group"]) == (
            fired[0]["alert_id"], None, "presale")
        wait_until(lambda: receiver.accepted(), what="staffing delivered")
        assert receiver.accepted()[0].json["alert_id"] == fired[0]["alert_id"]

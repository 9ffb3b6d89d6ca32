"""Alert latency: threshold crossing → webhook POST received (wall clock mode), p50/p99.

    .venv/bin/python -m bench.alerts_latency [--alerts 50]
        [--url http://127.0.0.1:8000 --admin-token … --ingest-token …]

Without --url it starts its own stack (deploy/local/stack.sh via tests/stack.py: free ports, KEFU_CLOCK=wall,
KEFU_ALLOW_PRIVATE_WEBHOOKS=1) and stops it afterwards. A receiver (streams/alerts/receiver.py) listens on a
free loopback port. Two measurements, each over --alerts alerts with distinct agents (distinct subjects):

- time-driven: `buyer_waiting` (threshold 2 s). A buyer message stamped with the wall clock is sent; the
  crossing is at ts + 2 s (the buyer is still waiting, nothing else happens), latency = POST received −
  crossing. This is what a supervisor waits for: evaluation tick + commit + Kafka + dispatcher + HTTP.
- event-driven: `waiting_buyers` (threshold 0). Latency = POST received − the ingest request sent; adds
  ingest → Kafka → worker → snapshot export (≤ export_interval_s) to the path above.

Results: stdout and bench/results/alerts_latency.json.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from streams.alerts.receiver import Receiver

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(latencies_ms: list[float]) -> dict[str, Any]:
    return {"n": len(latencies_ms), "p50_ms": round(percentile(latencies_ms, 50), 1),
            "p90_ms": round(percentile(latencies_ms, 90), 1), "p99_ms": round(percentile(latencies_ms, 99), 1),
            "max_ms": round(max(latencies_ms), 1), "min_ms": round(min(latencies_ms), 1)}


class Client:
    def __init__(self, url: str, admin: str, ingest: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30, trust_env=False)
        self.admin, self.ingest_token = admin, ingest

    def put_rules(self, shop: str, rules: list[dict[str, Any]]) -> None:
        response = self.http.put(f"/api/v1/shops/{shop}/alert-rules", json={"rules": rules},
                                 headers={"Authorization": f"Bearer {self.admin}"})
        response.raise_for_status()

    def ingest(self, events: list[dict[str, Any]]) -> None:
        response = self.http.post("/api/v1/events", json=events,
                                  headers={"Authorization": f"Bearer {self.ingest_token}"})
        if response.status_code != 202 or response.json()["rejected"]:
            raise RuntimeError(response.text)


def message(shop: str, agent: str, ts: int) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "shop_id": shop, "type": "chat.message", "ts": ts,
            "buyer_id": f"buyer-{agent}", "agent_id": agent, "sender": "buyer"}


def wait_for(receiver: Receiver, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.accepted()) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def run(client: Client, alerts: int, spacing_s: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # Time-driven: the buyer waits past the threshold with nothing else happening.
    threshold_s = 2
    with Receiver() as receiver:
        shop = f"bench-alerts-{uuid.uuid4().hex[:6]}"
        client.put_rules(shop, [{"id": "wait", "kind": "buyer_waiting", "threshold": threshold_s, "clear_s": 0,
                                 "webhooks": [{"url": receiver.url}]}])
        crossing: dict[str, float] = {}
        for i in range(alerts):
            agent = f"A{i:03d}"
            ts = int(time.time() * 1000)
            client.ingest([message(shop, agent, ts)])
            crossing[agent] = (ts + threshold_s * 1000 + 1) / 1000
            time.sleep(spacing_s)
        wait_for(receiver, alerts, threshold_s + 30)
        fired = {d.json["agent_id"]: d for d in receiver.accepted() if d.json["state"] == "firing"}
        got = {a: d.received_at for a, d in fired.items()}
        results["buyer_waiting_time_driven"] = {
            **summary([(got[a] - crossing[a]) * 1000 for a in crossing if a in got]),
            "missing": len(set(crossing) - set(got)), "threshold_s": threshold_s,
            # the two halves: crossing → evaluation (the alert's ts), evaluation → POST received
            "evaluated_after": summary([fired[a].json["ts"] - crossing[a] * 1000 for a in fired]),
            "delivered_after_evaluation": summary([(d.received_at * 1000 - d.json["ts"]) for d in fired.values()])}
    # Event-driven: the event that crosses the threshold, from the ingest request on.
    with Receiver() as receiver:
        shop = f"bench-alerts-{uuid.uuid4().hex[:6]}"
        client.put_rules(shop, [{"id": "queue", "kind": "waiting_buyers", "threshold": 0, "clear_s": 0,
                                 "webhooks": [{"url": receiver.url}]}])
        sent: dict[str, float] = {}
        for i in range(alerts):
            agent = f"B{i:03d}"
            sent[agent] = time.time()
            client.ingest([message(shop, agent, int(sent[agent] * 1000))])
            time.sleep(spacing_s)
        wait_for(receiver, alerts, 30)
        got = {d.json["agent_id"]: d.received_at for d in receiver.accepted() if d.json["state"] == "firing"}
        results["waiting_buyers_event_driven"] = {
            **summary([(got[a] - sent[a]) * 1000 for a in sent if a in got]), "missing": len(set(sent) - set(got))}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Alert latency: threshold crossing → webhook received")
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--spacing", type=float, default=0.2, help="seconds between two alerts' events")
    parser.add_argument("--url", help="a running stack (KEFU_CLOCK=wall, KEFU_ALLOW_PRIVATE_WEBHOOKS=1)")
    parser.add_argument("--admin-token", default="")
    parser.add_argument("--ingest-token", default="")
    args = parser.parse_args()
    stack = None
    if args.url:
        client = Client(args.url, args.admin_token, args.ingest_token)
    else:
        from tests.stack import LocalStack

        stack = LocalStack(clock="wall", partitions=4)
        print("starting a wall-clock stack (deploy/local/stack.sh up) ...", flush=True)
        stack.start()
        client = Client(stack.api_url, stack.admin_token, stack.ingest_token)
    try:
        results = run(client, args.alerts, args.spacing)
    finally:
        if stack is not None:
            stack.stop()
    report = {"benchmark": "alerts_latency", "clock": "wall", "alerts": args.alerts, "spacing_s": args.spacing,
              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alerts_latency.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Scale-out on one machine: 3 Faust workers and 2 API replicas on a stack of their own.

A simulated shop day goes in through API replica 1 while a WebSocket client watches the shop on
replica 2; the client gets `update` frames built from the workers' exports, and once /lag says
everything is processed, every figure replica 2 serves equals the independent oracle (the
single-worker run is proven equal to the oracle elsewhere, so this is "identical to one worker").
Each worker's Prometheus endpoint (streams/worker/prometheus.py) shows its share of the work and no lag.

The stack is module-scoped and separate from the session `stack` fixture; it is stopped at module end.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.client import Api, assert_same_figures
from tests.stack import LocalStack, free_port_block

pytestmark = pytest.mark.integration

WORKERS = 3
REPLICAS = 2
EVENTS = 4000
SETTINGS = {"filter_phrases": ["在吗", "你好"], "filter_buyers": ["test-buyer-1"]}


@pytest.fixture(scope="module")
def multi() -> Iterator[LocalStack]:
    s = LocalStack(workers=WORKERS, api_replicas=REPLICAS)
    if s.reused:
        pytest.skip("KEFU_TEST_STACK_URL reuses one running stack; this module needs a 3-worker, 2-replica stack")
    taken = {int(s.env[k]) for k in ("KEFU_KAFKA_PORT", "KEFU_KAFKA_CONTROLLER_PORT", "KEFU_REDIS_PORT")}
    taken |= {int(s.env["KEFU_API_PORT"]) + i for i in range(REPLICAS)}
    s.env["KEFU_WORKER_METRICS_PORT"] = str(free_port_block(WORKERS, taken=taken))
    s.start()
    try:
        wait_group_stable(s)
        yield s
    finally:
        s.stop()


def wait_group_stable(s: LocalStack, timeout: float = 60.0) -> None:
    """Until every worker owns partitions and together they own each one once (`make up` returns when the
    API replicas are ready, while the workers may still be joining the consumer group).

    Steady-state scale-out, as docs/operations.md prescribes for a peak (pre-scale, then take traffic):
    workers joining *while* events stream in trigger rebalances mid-processing — see the report of
    issue 8 on what that showed."""
    base = int(s.env["KEFU_WORKER_METRICS_PORT"])
    partitions = int(s.env["KEFU_PARTITIONS"])

    def stable() -> bool:
        try:
            owned = [samples(scrape(base + i), "kefu_worker_assigned_partitions") for i in range(WORKERS)]
        except (httpx.HTTPError, AssertionError):
            return False
        counts = [int(o[0][1]) if o else 0 for o in owned]
        return all(counts) and sum(counts) == 3 * partitions

    s.wait_for(stable, timeout=timeout, interval=0.5, what=f"{WORKERS} workers sharing every partition")
    time.sleep(1.0)  # the group settles (no member still joining)
    if not stable():
        s.wait_for(stable, timeout=timeout, interval=0.5, what="a stable consumer group")


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A simulated shop day (yesterday) for a fresh shop; `sent` is set once it went through ingest."""
    shop = f"multi-{uuid.uuid4().hex[:8]}"
    out = tmp_path_factory.mktemp("multi") / "day.ndjson"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    subprocess.run([sys.executable, "-m", "streams.tools.simulator", "--mode", "day", "--day", yesterday,
                    "--shop", shop,
                    "--sink", "file", "--out", str(out), "--events", str(EVENTS), "--seed", "11", "--quiet"],
                   check=True, timeout=120)
    events = [orjson.loads(line) for line in Path(out).read_bytes().splitlines() if line.strip()]
    assert len(events) == EVENTS
    return {"shop": shop, "day": yesterday, "events": events, "sent": False}


def ingest_day(multi: LocalStack, day: dict[str, Any], pause_s: float = 0.0) -> None:
    """Settings through replica 2, then every event through replica 1 (once)."""
    if day["sent"]:
        return
    Api(multi, 2).put_settings(day["shop"], SETTINGS)
    api1 = Api(multi, 1)
    events = day["events"]
    for start in range(0, len(events), 200):
        response = api1.ingest(events[start:start + 200])
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == len(events[start:start + 200])
        if pause_s:
            time.sleep(pause_s)  # keep ingest going for a few seconds so updates arrive meanwhile
    day["sent"] = True


async def test_websocket_on_replica2_gets_updates_while_replica1_ingests(multi: LocalStack, day: dict) -> None:
    shop = day["shop"]
    url = multi.api_url_of(2).replace("http://", "ws://") + f"/api/v1/shops/{shop}/stream?token={multi.viewer_token}"
    async with connect(url, open_timeout=10, max_size=None) as ws:
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "snapshot", first
        ingest = asyncio.create_task(asyncio.to_thread(ingest_day, multi, day, 0.05))
        updates: list[dict] = []
        during_ingest = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ingest.done():
            try:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
            except TimeoutError:
                continue
            if frame["type"] == "update":
                updates.append(frame)
                if frame.get("day") == day["day"] and frame.get("agents") and not ingest.done():
                    during_ingest = True  # the day's figures, while replica 1 is still taking the ingest
                    break
        await ingest
    assert updates, "no update frame on replica 2 while replica 1 took the ingest"
    assert during_ingest, f"no update with the day's figures during the ingest; last: {updates[-1]}"


def test_figures_from_replica2_equal_the_oracle(multi: LocalStack, day: dict) -> None:
    ingest_day(multi, day)
    api2 = Api(multi, 2)
    lag = api2.wait_processed(day["shop"], timeout=90)
    assert lag["processed_events"] == lag["accepted_events"] == EVENTS
    assert_same_figures(api2, day["shop"], day["events"], SETTINGS)


def scrape(port: int) -> str:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def samples(text: str, name: str) -> list[tuple[str, float]]:
    return [(m.group(1) or "", float(m.group(2)))
            for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE)]


def test_every_worker_took_part_and_reports_no_lag(multi: LocalStack, day: dict) -> None:
    ingest_day(multi, day)
    Api(multi, 2).wait_processed(day["shop"], timeout=90)
    base = int(multi.env["KEFU_WORKER_METRICS_PORT"])
    partitions = int(multi.env["KEFU_PARTITIONS"])

    def settled() -> list[str] | None:
        texts = [scrape(base + i) for i in range(WORKERS)]
        lags = [v for t in texts for _, v in samples(t, "kefu_worker_consumer_lag")]
        return texts if lags and sum(lags) == 0 else None

    texts = multi.wait_for(settled, timeout=30, interval=0.5, what="consumer lag 0 on every worker (commits)")
    assigned = 0
    counted = 0.0
    for i, text in enumerate(texts, start=1):
        assert f'worker="worker-{i}"' in text
        assert sum(v for _, v in samples(text, "kefu_worker_records_total")) > 0, f"worker-{i} consumed nothing"
        events = {re.search(r'result="(\w+)"', labels).group(1): v
                  for labels, v in samples(text, "kefu_worker_events_total")}
        counted += events["applied"] + events["duplicate"]
        assert events["dead_letter"] == 0
        assigned += int(samples(text, "kefu_worker_assigned_partitions")[0][1])
        assert samples(text, "kefu_worker_snapshot_export_seconds_count")[0][1] > 0
    assert assigned == 3 * partitions  # chat-events, order-events and agent-events, each partition once
    buyers_held = sum(v for t in texts for labels, v in samples(t, "kefu_worker_table_keys") if "buyers" in labels)
    # each buyer record is held by the worker of its partition (and may linger where it was before a rebalance)
    assert buyers_held >= len({(e["shop_id"], e["buyer_id"]) for e in day["events"] if e.get("buyer_id")})
    # every chat/order event applied (or recognised as a duplicate id) exactly once across the workers;
    # agent.status events go to the agents table (agent updates), replays are not counted here
    statuses = sum(1 for e in day["events"] if e["type"] == "agent.status")
    assert counted == EVENTS - statuses
    # the API replicas still serve their own metrics
    api_metrics = httpx.get(f"{multi.api_url_of(1)}/metrics", timeout=10).text
    assert samples(api_metrics, "kefu_ingest_events_total")

"""The worker's Prometheus endpoint (streams/worker/prometheus.py) without Kafka: counters, text format, server.

The same endpoint on real workers is checked by tests/integration/test_multiprocess.py."""

from __future__ import annotations

import re
from types import SimpleNamespace

import httpx

from streams.worker.prometheus import WorkerMetrics, start_server


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the one sample `name{labels}` in a Prometheus text (labels in any order)."""
    found = [float(value) for raw, value in re.findall(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.MULTILINE)
             if dict(re.findall(r'(\w+)="([^"]*)"', raw)) == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def batch(n: int, topic: str = "chat-events") -> list[SimpleNamespace]:
    return [SimpleNamespace(topic=topic) for _ in range(n)]


def test_counters_and_text_format() -> None:
    m = WorkerMetrics("worker-7")
    m.on_buyer_batch(batch(3) + batch(2, "order-events"),
                     SimpleNamespace(applied=40, duplicates=2, replayed=1, dead_letters=[object()], changed={"a": b""}))
    m.on_agent_batch(batch(1, "agent-events"), SimpleNamespace(dead_letters=[], changed={"x": b"", "y": b""}))
    m.on_export(0.003, 2)
    m.on_export(0.2, 0)  # nothing written: not an export
    m.on_export(0.04, 1)
    m.on_export_error()
    m.tables = {"buyers": SimpleNamespace(data={b"a": b"", b"b": b""}), "agents": {}}
    text = m.render({("chat-events", 1): (90, 100), ("order-events", 1): (None, 7)})
    assert sample(text, "kefu_worker_records_total", worker="worker-7", topic="chat-events") == 3
    assert sample(text, "kefu_worker_records_total", worker="worker-7", topic="agent-events") == 1
    for result, n in (("applied", 40), ("duplicate", 2), ("replayed", 1), ("dead_letter", 1)):
        assert sample(text, "kefu_worker_events_total", worker="worker-7", result=result) == n
    assert sample(text, "kefu_worker_buyer_updates_total", worker="worker-7") == 1
    assert sample(text, "kefu_worker_agent_updates_total", worker="worker-7") == 2
    assert sample(text, "kefu_worker_snapshot_exports_total", worker="worker-7") == 3
    assert sample(text, "kefu_worker_snapshot_export_errors_total", worker="worker-7") == 1
    assert sample(text, "kefu_worker_snapshot_export_seconds_bucket", worker="worker-7", le="0.005") == 1
    assert sample(text, "kefu_worker_snapshot_export_seconds_bucket", worker="worker-7", le="0.05") == 2
    assert sample(text, "kefu_worker_snapshot_export_seconds_bucket", worker="worker-7", le="+Inf") == 2
    assert sample(text, "kefu_worker_snapshot_export_seconds_count", worker="worker-7") == 2
    assert sample(text, "kefu_worker_assigned_partitions", worker="worker-7") == 2
    assert sample(text, "kefu_worker_table_keys", worker="worker-7", table="buyers") == 2
    assert sample(text, "kefu_worker_table_keys", worker="worker-7", table="agents") == 0
    assert sample(text, "kefu_worker_consumer_lag", worker="worker-7", topic="chat-events", partition="1") == 10
    chat_1 = {"worker": "worker-7", "topic": "chat-events", "partition": "1"}
    order_1 = {**chat_1, "topic": "order-events"}
    assert sample(text, "kefu_worker_consumer_committed_offset", **chat_1) == 90
    assert sample(text, "kefu_worker_consumer_end_offset", **order_1) == 7
    assert len(re.findall(r"^kefu_worker_consumer_committed_offset\{", text, re.MULTILINE)) == 1  # none for order
    # nothing committed yet: the lag is the whole partition
    assert sample(text, "kefu_worker_consumer_lag", **order_1) == 7
    # every sample line is `name{labels} number`, every name declared once with # TYPE
    types = re.findall(r"^# TYPE (\w+) (counter|gauge|histogram)$", text, re.MULTILINE)
    assert len(types) == len({name for name, _ in types})
    assert dict(types) == {
        **{f"kefu_worker_{n}_total": "counter" for n in ("records", "events", "buyer_updates", "agent_updates",
                                                         "snapshot_exports", "snapshot_export_errors")},
        "kefu_worker_snapshot_export_seconds": "histogram",
        **{f"kefu_worker_{n}": "gauge" for n in ("start_time_seconds", "table_keys", "assigned_partitions",
                                                 "consumer_committed_offset", "consumer_end_offset", "consumer_lag")},
    }
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r"kefu_worker_\w+\{[^}]*\} -?[0-9.e+]+", line), line
    assert "kefu_worker_consumer_lag" not in m.render(None)  # lag unknown (not assigned yet): no lag lines


async def test_server_answers_metrics_and_healthz() -> None:
    m = WorkerMetrics("worker-1")
    m.on_buyer_batch(batch(5), SimpleNamespace(applied=5, dead_letters=[], changed={}))

    async def lag() -> dict:
        return {("chat-events", 0): (3, 5)}

    async def broken_lag() -> dict:
        raise RuntimeError("consumer not started")

    server = await start_server(m, "127.0.0.1", 0, lag)
    broken = await start_server(m, "127.0.0.1", 0, broken_lag)
    try:
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert sample(response.text, "kefu_worker_events_total", worker="worker-1", result="applied") == 5
            chat_0 = {"worker": "worker-1", "topic": "chat-events", "partition": "0"}
            assert sample(response.text, "kefu_worker_consumer_lag", **chat_0) == 2
            assert (await client.get("/healthz")).text == "ok\n"
            assert (await client.get("/nope")).status_code == 404
            assert (await client.post("/metrics")).status_code == 405
            head = await client.head("/metrics")
            assert head.status_code == 200 and head.content == b""
        port = broken.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200 and "kefu_worker_consumer_lag" not in response.text
    finally:
        for s in (server, broken):
            s.close()
            await s.wait_closed()

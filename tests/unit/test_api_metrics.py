"""The API replica's Prometheus text (api/metrics.py, served by GET /metrics) without Kafka or Redis.

The same endpoint on real replicas is checked by tests/integration/test_multiprocess.py."""

from __future__ import annotations

import re
from types import SimpleNamespace

from api.metrics import render_metrics
from api.routes.health import metrics
from api.state import ApiCounters


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value of every sample line (labels as written)."""
    return {name: float(value) for name, value in re.findall(r"^([a-z0-9_]+(?:\{[^}]*\})?) (\S+)$", text, re.MULTILINE)}


def test_names_types_and_values() -> None:
    counters = ApiCounters(ingest_requests=3, ingest_events_accepted=40, ingest_events_rejected=2,
                           ws_frames_sent=7, ws_clients_dropped=1, frame_build_failures=2, hub_loop_restarts=1,
                           push_latency_ms=[9.0, 1.5, 2.25])
    text = render_metrics(counters, ws_clients=4)
    assert samples(text) == {
        "kefu_ingest_requests_total": 3,
        'kefu_ingest_events_total{result="accepted"}': 40,
        'kefu_ingest_events_total{result="rejected"}': 2,
        "kefu_ws_clients": 4,
        "kefu_ws_frames_sent_total": 7,
        "kefu_ws_clients_dropped_total": 1,
        "kefu_frame_build_failures_total": 2,
        "kefu_hub_loop_restarts_total": 1,
        "kefu_push_latency_p99_ms": 2.25,  # the (⌊0.99 n⌋)-th of the sorted latencies
    }
    assert dict(re.findall(r"^# TYPE (\w+) (\w+)$", text, re.MULTILINE)) == {
        "kefu_ingest_requests_total": "counter", "kefu_ingest_events_total": "counter", "kefu_ws_clients": "gauge",
        "kefu_ws_frames_sent_total": "counter", "kefu_ws_clients_dropped_total": "counter",
        "kefu_frame_build_failures_total": "counter", "kefu_hub_loop_restarts_total": "counter",
        "kefu_push_latency_p99_ms": "gauge",
    }
    assert samples(render_metrics(ApiCounters(), ws_clients=0))["kefu_push_latency_p99_ms"] == 0  # no push yet


async def test_route_reads_the_state_and_hub() -> None:
    counters = ApiCounters(ingest_requests=5)
    with_hub = await metrics(SimpleNamespace(counters=counters, hub=SimpleNamespace(client_count=2)))
    assert samples(with_hub)["kefu_ingest_requests_total"] == 5 and samples(with_hub)["kefu_ws_clients"] == 2
    assert samples(await metrics(SimpleNamespace(counters=counters, hub=None)))["kefu_ws_clients"] == 0

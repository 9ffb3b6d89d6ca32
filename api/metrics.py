"""The API replica's Prometheus metrics (served at GET /metrics by api/routes/health.py).

Written by `prometheus_client` from a registry of its own per scrape (never the process-global one), so
several apps in one process (tests) do not collide. Names (no labels unless shown):

  kefu_ingest_requests_total           ingest requests
  kefu_ingest_events_total{result}     events in them: accepted, rejected
  kefu_ws_clients                      WebSocket clients connected now
  kefu_ws_frames_sent_total            update frames sent to clients
  kefu_ws_clients_dropped_total        clients dropped (stopped reading)
  kefu_push_latency_p99_ms             p99 of Redis change → frame built (ms), over the last 1000 frames
  kefu_frame_build_failures_total      shop frames that could not be built (the screens keep the last one)
  kefu_hub_loop_restarts_total         hub loops (pub/sub listener, frame builder) that failed and restarted
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from api.state import ApiCounters


def render_metrics(counters: ApiCounters, ws_clients: int) -> str:
    """The Prometheus text (format 0.0.4) of this replica's counters now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ApiCollector(counters, ws_clients))
    return generate_latest(registry).decode()


class _ApiCollector:
    """The families of one scrape (a prometheus_client custom collector)."""

    def __init__(self, counters: ApiCounters, ws_clients: int) -> None:
        self.counters, self.ws_clients = counters, ws_clients

    def collect(self) -> Iterator[Metric]:
        c = self.counters
        yield CounterMetricFamily("kefu_ingest_requests_total", "Ingest requests", value=c.ingest_requests)
        events = CounterMetricFamily("kefu_ingest_events_total", "Events in ingest requests by result",
                                     labels=["result"])
        events.add_metric(["accepted"], c.ingest_events_accepted)
        events.add_metric(["rejected"], c.ingest_events_rejected)
        yield events
        yield GaugeMetricFamily("kefu_ws_clients", "WebSocket clients connected now", value=self.ws_clients)
        yield CounterMetricFamily("kefu_ws_frames_sent_total", "Update frames sent to WebSocket clients",
                                  value=c.ws_frames_sent)
        yield CounterMetricFamily("kefu_ws_clients_dropped_total", "WebSocket clients dropped",
                                  value=c.ws_clients_dropped)
        yield CounterMetricFamily("kefu_frame_build_failures_total", "Shop frames that could not be built",
                                  value=c.frame_build_failures)
        yield CounterMetricFamily("kefu_hub_loop_restarts_total", "Hub loops that failed and were started again",
                                  value=c.hub_loop_restarts)
        latencies = sorted(c.push_latency_ms)
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
        yield GaugeMetricFamily("kefu_push_latency_p99_ms", "p99 of Redis change to frame built (ms), last 1000 frames",
                                value=p99)

"""Prometheus metrics of a Faust worker, served by a tiny asyncio HTTP server.

The worker runs no Faust web server (deliberately, see streams/worker/main.py), so this module adds one
that answers only `GET /metrics` (Prometheus text format 0.0.4, written by `prometheus_client` from a
registry of its own per scrape) and `GET /healthz`. It is off unless
`KEFU_WORKER_METRICS_PORT` is set; worker *i* then listens on that port + i − 1 (several workers on
one host each get their own port; containers keep `KEFU_WORKER_INDEX=1`, so every pod uses the same
port), on `KEFU_WORKER_METRICS_HOST` (127.0.0.1 by default; 0.0.0.0 in containers).

Metric names (all `kefu_worker_*`, each with a `worker` label = `KEFU_WORKER_NAME` or `worker-<index>`):

  records_total{topic}               Kafka records consumed (an ingest envelope holds many events)
  events_total{result}               chat/order events: applied, duplicate (event id seen), replayed
                                     (Kafka position already applied), dead_letter (any topic)
  buyer_updates_total                buyer records changed (each one re-derives that buyer's facts)
  agent_updates_total                agent status records changed
  snapshot_exports_total             (shop, partition) exports written to Redis
  snapshot_export_errors_total       export rounds that failed (Redis unreachable; retried)
  snapshot_export_seconds            histogram: time of an export round that wrote something
  assigned_partitions                source partitions (chat/order/agent-events) assigned now
  table_keys{table}                  records held in memory per table (buyers, agents): the state size
  consumer_committed_offset{topic, partition}, consumer_end_offset{…}, consumer_lag{…}
                                     per assigned source partition: committed offset, high-water
                                     mark, and their difference (records not yet committed)
  start_time_seconds                 process start (unix time)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

log = logging.getLogger("kefu.metrics")

EXPORT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LAG_TIMEOUT_S = 3.0

# (topic, partition) → (committed offset or None before the first commit, high-water mark)
LagMap = Mapping[tuple[str, int], tuple[int | None, int]]


@dataclass(slots=True)
class Histogram:
    buckets: tuple[float, ...] = EXPORT_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.total += value
        self.count += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def cumulative_buckets(self) -> list[tuple[str, float]]:
        """(le, observations ≤ le) per bound, then +Inf: the bucket samples of a Prometheus histogram."""
        return [(floatToGoString(bound), n) for bound, n in zip(self.buckets, self.counts, strict=True)] + [
            ("+Inf", self.count)]


@dataclass
class WorkerMetrics:
    """Counters the worker's agents and export timer update; `render` gives the Prometheus text."""

    worker: str
    records: Counter[str] = field(default_factory=Counter)
    events_applied: int = 0
    events_duplicate: int = 0
    events_replayed: int = 0
    dead_letters: int = 0
    buyer_updates: int = 0
    agent_updates: int = 0
    exports: int = 0
    export_errors: int = 0
    export_seconds: Histogram = field(default_factory=Histogram)
    start_time: float = field(default_factory=time.time)
    tables: dict[str, Any] = field(default_factory=dict)  # name → Faust table (len(table.data) = keys held)

    def on_buyer_batch(self, records: Iterable[Any], result: Any) -> None:
        """One partition's batch of chat/order records and its BatchResult (streams/core/processor.py)."""
        for record in records:
            self.records[record.topic] += 1
        self.events_applied += getattr(result, "applied", 0)
        self.events_duplicate += getattr(result, "duplicates", 0)
        self.events_replayed += getattr(result, "replayed", 0)
        self.dead_letters += len(result.dead_letters)
        self.buyer_updates += len(result.changed)

    def on_agent_batch(self, records: Iterable[Any], result: Any) -> None:
        for record in records:
            self.records[record.topic] += 1
        self.dead_letters += len(result.dead_letters)
        self.agent_updates += len(result.changed)

    def on_export(self, seconds: float, written: int) -> None:
        if written:
            self.exports += written
            self.export_seconds.observe(seconds)

    def on_export_error(self) -> None:
        self.export_errors += 1

    def render(self, lag: LagMap | None = None) -> str:
        """The Prometheus text (format 0.0.4) of the counters now and of `lag` (None: no lag lines)."""
        registry = CollectorRegistry(auto_describe=False)  # a registry of its own: no process-global state
        registry.register(_WorkerCollector(self, lag))
        return generate_latest(registry).decode()


class _WorkerCollector:
    """The families of one scrape, read from a WorkerMetrics and a lag map (prometheus_client custom collector)."""

    def __init__(self, metrics: WorkerMetrics, lag: LagMap | None) -> None:
        self.metrics, self.lag = metrics, lag

    def collect(self) -> Iterator[Metric]:
        m, w = self.metrics, [self.metrics.worker]
        records = CounterMetricFamily("kefu_worker_records_total", "Kafka records consumed",
                                      labels=["worker", "topic"])
        for topic, n in sorted(m.records.items()):
            records.add_metric([*w, topic], n)
        yield records
        events = CounterMetricFamily("kefu_worker_events_total", "Chat/order events by result",
                                     labels=["worker", "result"])
        for result, n in (("applied", m.events_applied), ("duplicate", m.events_duplicate),
                          ("replayed", m.events_replayed), ("dead_letter", m.dead_letters)):
            events.add_metric([*w, result], n)
        yield events
        for name, help_text, value in (
            ("kefu_worker_buyer_updates_total", "Buyer records changed", m.buyer_updates),
            ("kefu_worker_agent_updates_total", "Agent status records changed", m.agent_updates),
            ("kefu_worker_snapshot_exports_total", "(shop, partition) exports written to Redis", m.exports),
            ("kefu_worker_snapshot_export_errors_total", "Export rounds that failed", m.export_errors),
        ):
            counter = CounterMetricFamily(name, help_text, labels=["worker"])
            counter.add_metric(w, value)
            yield counter
        export_seconds = HistogramMetricFamily("kefu_worker_snapshot_export_seconds",
                                               "Time of an export round that wrote something", labels=["worker"])
        export_seconds.add_metric(w, m.export_seconds.cumulative_buckets(), m.export_seconds.total)
        yield export_seconds
        start_time = GaugeMetricFamily("kefu_worker_start_time_seconds", "Process start (unix time)",
                                       labels=["worker"])
        start_time.add_metric(w, m.start_time)
        yield start_time
        if m.tables:
            table_keys = GaugeMetricFamily("kefu_worker_table_keys", "Records held per table",
                                           labels=["worker", "table"])
            for name, table in sorted(m.tables.items()):
                table_keys.add_metric([*w, name], len(getattr(table, "data", table)))
            yield table_keys
        if self.lag is not None:
            assigned = GaugeMetricFamily("kefu_worker_assigned_partitions", "Source partitions assigned now",
                                         labels=["worker"])
            assigned.add_metric(w, len(self.lag))
            yield assigned
            partition_labels = ["worker", "topic", "partition"]
            committed = GaugeMetricFamily("kefu_worker_consumer_committed_offset",
                                          "Committed offset per assigned source partition", labels=partition_labels)
            end = GaugeMetricFamily("kefu_worker_consumer_end_offset",
                                    "High-water mark per assigned source partition", labels=partition_labels)
            lag = GaugeMetricFamily("kefu_worker_consumer_lag",
                                    "Records not yet committed per assigned source partition",
                                    labels=partition_labels)
            for (topic, partition), (committed_offset, end_offset) in sorted(self.lag.items()):
                tp = [*w, topic, str(partition)]
                if committed_offset is not None:
                    committed.add_metric(tp, committed_offset)
                end.add_metric(tp, end_offset)
                lag.add_metric(tp, max(0, end_offset - (committed_offset or 0)))
            yield from (committed, end, lag)


async def faust_consumer_lag(app: Any, topics: Iterable[str]) -> dict[tuple[str, int], tuple[int | None, int]]:
    """Committed offset and high-water mark of each source partition assigned to this worker.

    High-water marks come from the broker (`Consumer.highwaters`, one ListOffsets request); the
    committed offsets are those Faust last committed or found at assignment (`_committed_offset`,
    faust-streaming 0.15.3), i.e. the next offset to process.
    """
    wanted = set(topics)
    consumer = app.consumer
    tps = [tp for tp in consumer.assignment() if tp.topic in wanted]
    if not tps:
        return {}
    ends = await asyncio.wait_for(consumer.highwaters(*tps), LAG_TIMEOUT_S)
    committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
    return {(tp.topic, tp.partition): (committed.get(tp), int(ends.get(tp) or 0)) for tp in tps}


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, metrics: WorkerMetrics,
                  lag: Callable[[], Awaitable[LagMap]] | None) -> None:
    try:
        request = await asyncio.wait_for(reader.readline(), 5)
        while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
            pass  # headers: not needed
        parts = request.decode("latin-1").split()
        method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
        status, ctype, body = "404 Not Found", "text/plain; charset=utf-8", b"not found\n"
        if method not in ("GET", "HEAD"):
            status, body = "405 Method Not Allowed", b"method not allowed\n"
        elif path == "/metrics":
            lag_map: LagMap | None = None
            if lag is not None:
                try:
                    lag_map = await lag()
                except Exception as exc:  # not assigned yet, rebalancing, broker away: no lag lines
                    log.debug("consumer lag unavailable: %r", exc)
            status, ctype = "200 OK", CONTENT_TYPE_PLAIN_0_0_4
            body = metrics.render(lag_map).encode()
        elif path == "/healthz":
            status, body = "200 OK", b"ok\n"
        head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode("latin-1")
        writer.write(head if method == "HEAD" else head + body)
        await writer.drain()
    except (TimeoutError, ConnectionError, UnicodeDecodeError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def start_server(metrics: WorkerMetrics, host: str, port: int,
                       lag: Callable[[], Awaitable[LagMap]] | None = None) -> asyncio.Server:
    return await asyncio.start_server(lambda r, w: _handle(r, w, metrics, lag), host, port)


def install_metrics_server(app: Any, metrics: WorkerMetrics, config: Any, topics: Iterable[str],
                           tables: Iterable[Any] = ()) -> None:
    """Serve `metrics` from the worker when KEFU_WORKER_METRICS_PORT is set (see the module docstring)."""
    if not config.worker_metrics_port:
        return
    metrics.tables.update({table.name: table for table in tables})
    port = config.worker_metrics_port + config.worker_index - 1
    source_topics = tuple(topics)
    servers: list[asyncio.Server] = []  # keeps the server referenced for the process's life

    @app.task
    async def serve_worker_metrics() -> None:
        try:
            server = await start_server(metrics, config.worker_metrics_host, port,
                                        lambda: faust_consumer_lag(app, source_topics))
        except OSError as exc:  # metrics never stop the processing
            log.error("worker metrics: cannot listen on %s:%d (%s)", config.worker_metrics_host, port, exc)
            return
        servers.append(server)
        log.info("worker metrics on http://%s:%d/metrics", config.worker_metrics_host, port)

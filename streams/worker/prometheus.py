"""Prometheus metrics of a Faust worker, served by a tiny asyncio HTTP server (no extra dependency).

The worker runs no Faust web server (deliberately, see streams/worker/main.py), so this module adds one
that answers only `GET /metrics` (Prometheus text format 0.0.4) and `GET /healthz`. It is off unless
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
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kefu.metrics")

EXPORT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LAG_TIMEOUT_S = 3.0

# (topic, partition) → (committed offset or None before the first commit, high-water mark)
LagMap = Mapping[tuple[str, int], tuple[int | None, int]]


def _labels(**labels: Any) -> str:
    def esc(value: Any) -> str:
        return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


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

    def lines(self, name: str, **labels: Any) -> list[str]:
        out = [f"# TYPE {name} histogram"]
        for bound, n in zip(self.buckets, self.counts, strict=True):
            out.append(f"{name}_bucket{_labels(**labels, le=repr(bound))} {n}")
        out.append(f"{name}_bucket{_labels(**labels, le='+Inf')} {self.count}")
        out.append(f"{name}_sum{_labels(**labels)} {self.total:.6f}")
        out.append(f"{name}_count{_labels(**labels)} {self.count}")
        return out


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
        w = {"worker": self.worker}
        lines = ["# TYPE kefu_worker_records_total counter"]
        lines += [f"kefu_worker_records_total{_labels(**w, topic=t)} {n}" for t, n in sorted(self.records.items())]
        lines += [
            "# TYPE kefu_worker_events_total counter",
            f"kefu_worker_events_total{_labels(**w, result='applied')} {self.events_applied}",
            f"kefu_worker_events_total{_labels(**w, result='duplicate')} {self.events_duplicate}",
            f"kefu_worker_events_total{_labels(**w, result='replayed')} {self.events_replayed}",
            f"kefu_worker_events_total{_labels(**w, result='dead_letter')} {self.dead_letters}",
            "# TYPE kefu_worker_buyer_updates_total counter",
            f"kefu_worker_buyer_updates_total{_labels(**w)} {self.buyer_updates}",
            "# TYPE kefu_worker_agent_updates_total counter",
            f"kefu_worker_agent_updates_total{_labels(**w)} {self.agent_updates}",
            "# TYPE kefu_worker_snapshot_exports_total counter",
            f"kefu_worker_snapshot_exports_total{_labels(**w)} {self.exports}",
            "# TYPE kefu_worker_snapshot_export_errors_total counter",
            f"kefu_worker_snapshot_export_errors_total{_labels(**w)} {self.export_errors}",
            *self.export_seconds.lines("kefu_worker_snapshot_export_seconds", **w),
            "# TYPE kefu_worker_start_time_seconds gauge",
            f"kefu_worker_start_time_seconds{_labels(**w)} {self.start_time:.3f}",
        ]
        if self.tables:
            lines.append("# TYPE kefu_worker_table_keys gauge")
            for name, table in sorted(self.tables.items()):
                lines.append(f"kefu_worker_table_keys{_labels(**w, table=name)} {len(getattr(table, 'data', table))}")
        if lag is not None:
            lines += ["# TYPE kefu_worker_assigned_partitions gauge",
                      f"kefu_worker_assigned_partitions{_labels(**w)} {len(lag)}"]
            committed_lines = ["# TYPE kefu_worker_consumer_committed_offset gauge"]
            end_lines = ["# TYPE kefu_worker_consumer_end_offset gauge"]
            lag_lines = ["# TYPE kefu_worker_consumer_lag gauge"]
            for (topic, partition), (committed, end) in sorted(lag.items()):
                tp = _labels(**w, topic=topic, partition=partition)
                if committed is not None:
                    committed_lines.append(f"kefu_worker_consumer_committed_offset{tp} {committed}")
                end_lines.append(f"kefu_worker_consumer_end_offset{tp} {end}")
                lag_lines.append(f"kefu_worker_consumer_lag{tp} {max(0, end - (committed or 0))}")
            lines += committed_lines + end_lines + lag_lines
        return "\n".join(lines) + "\n"


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
            status, ctype = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
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

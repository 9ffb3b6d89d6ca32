"""/healthz (process up), /readyz (Kafka and Redis reachable), /metrics (Prometheus text).

`/readyz` also reports whether the workers process every partition of the source topics
(streams/ownership.py); with `?processing=true` it is 503 until they do, and with `&workers=n` also
until n workers are processing. That is what `make up` and the tests' stack wait for. The plain
`/readyz` (load balancer and Kubernetes readiness) stays about this replica only: while workers
rebalance, ingest must go on accepting events (Kafka keeps them).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from redis.exceptions import RedisError

from api.errors import error_responses
from api.responses import JsonResponse
from api.state import AppState, get_state
from streams.ownership import read_ownership, unowned
from streams.topics import AGENT_EVENTS, CHAT_EVENTS, ORDER_EVENTS

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(
    processing: bool = Query(False, description="also require the workers to process every source partition"),
    workers: int = Query(0, ge=0, le=10_000, description="with processing: at least this many workers processing"),
    state: AppState = Depends(get_state),
) -> JsonResponse:
    try:
        redis_ok = bool(await state.redis.ping())
    except (RedisError, OSError):
        redis_ok = False
    kafka_ok = await state.publisher.ping()
    unprocessed: dict[str, list[int]] | None = None  # None: unknown (Redis unreachable)
    ready_workers = 0
    if redis_ok:
        try:
            ownership = await read_ownership(state.redis, state.config.app_id)
            unprocessed = unowned(ownership.partitions, (CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS),
                                  state.config.partitions)
            ready_workers = ownership.ready_workers
        except (RedisError, OSError):
            redis_ok = False
    workers_ok = unprocessed == {}
    ready = redis_ok and kafka_ok and (not processing or (workers_ok and ready_workers >= workers))
    body = {"status": "ready" if ready else "not_ready", "kafka": kafka_ok, "redis": redis_ok,
            "processing": workers_ok, "processing_workers": ready_workers, "unprocessed_partitions": unprocessed}
    if not ready:
        message = "Kafka or Redis unreachable" if not (redis_ok and kafka_ok) else \
            f"{ready_workers} worker(s) processing (asked: {workers}), partitions nobody processes: {unprocessed}"
        body = {"error": "not_ready", "message": message, **body}
    return JsonResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: AppState = Depends(get_state)) -> str:
    c = state.counters
    latencies = sorted(c.push_latency_ms)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    lines = [
        "# TYPE kefu_ingest_requests_total counter",
        f"kefu_ingest_requests_total {c.ingest_requests}",
        "# TYPE kefu_ingest_events_total counter",
        f'kefu_ingest_events_total{{result="accepted"}} {c.ingest_events_accepted}',
        f'kefu_ingest_events_total{{result="rejected"}} {c.ingest_events_rejected}',
        "# TYPE kefu_ws_clients gauge",
        f"kefu_ws_clients {state.hub.client_count if state.hub else 0}",
        "# TYPE kefu_ws_frames_sent_total counter",
        f"kefu_ws_frames_sent_total {c.ws_frames_sent}",
        "# TYPE kefu_ws_clients_dropped_total counter",
        f"kefu_ws_clients_dropped_total {c.ws_clients_dropped}",
        "# TYPE kefu_push_latency_p99_ms gauge",
        f"kefu_push_latency_p99_ms {p99:.3f}",
    ]
    return "\n".join(lines) + "\n"

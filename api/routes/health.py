"""/healthz (process up), /readyz (Kafka and Redis reachable), /metrics (Prometheus text, api/metrics.py).

`/readyz` also reports whether the workers process every partition of the source topics
(streams/readside/ownership.py); with `?processing=true` it is 503 until they do, and with `&workers=n` also
until n workers are processing. That is what `make up` and the tests' stack wait for. The plain
`/readyz` (load balancer and Kubernetes readiness) stays about this replica only: while workers
rebalance, ingest must go on accepting events (Kafka keeps them).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from redis.exceptions import RedisError

from api.deps import StateDep
from api.errors import error_responses
from api.metrics import render_metrics
from api.responses import JsonResponse
from streams.core.topics import AGENT_EVENTS, CHAT_EVENTS, ORDER_EVENTS
from streams.readside.ownership import read_ownership, unowned

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(
    state: StateDep,
    processing: bool = Query(False, description="also require the workers to process every source partition"),
    workers: int = Query(0, ge=0, le=10_000, description="with processing: at least this many workers processing"),
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
async def metrics(state: StateDep) -> str:
    return render_metrics(state.counters, state.hub.client_count if state.hub else 0)

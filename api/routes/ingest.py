"""POST /api/v1/events: JSON array or NDJSON → validated → Kafka (acks=all) → 202.

Each event goes to Kafka stamped with the shop's settings version in force now (`settings_version`)
and, for a chat.message, whether it is a filter phrase under that version (`filter_phrase`). Message
`text` is never sent to Kafka (events.md: used only for the filter rules, never stored past processing).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from redis.exceptions import RedisError

from api.auth import authorize, request_token
from api.deps import StateDep
from api.errors import AUTHORIZED_ERRORS, ApiError, error_responses
from api.publisher import KafkaUnavailable
from api.responses import JsonResponse
from api.state import AppState
from streams.core.buyer_state import is_filter_phrase
from streams.core.events import Event, FieldError, validate
from streams.core.shop_settings import ShopSettings
from streams.readside.keys import accepted_key
from streams.readside.settings_store import SETTINGS_DOCUMENTS, load_settings

router = APIRouter(prefix="/api/v1", tags=["ingest"],
                   responses=error_responses(*AUTHORIZED_ERRORS, 413, 415, 429))
CONTENT_TYPES = ("application/json", "application/x-ndjson")
SETTINGS_CACHE_MAX = 100_000  # (shop, version) pairs kept; emptied when full
NOT_CONFIRMED = ("Kafka is unreachable; the request was not confirmed: resend it with backoff. Events of it "
                 "already stored are recognised by event_id and counted once in the figures")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body larger than the limit of {limit} bytes", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body larger than the limit of {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(body: bytes, content_type: str) -> list[Any]:
    if content_type == "application/x-ndjson":
        items = []
        for line_number, line in enumerate(body.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ApiError(
                        400,
                        f"line {line_number} is not valid JSON: {exc}",
                        "malformed_json",
                        line=line_number,
                    ) from None
        return items
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}", "malformed_json") from None
    if isinstance(decoded, dict):
        return [decoded]
    if not isinstance(decoded, list):
        raise ApiError(400, "body must be a JSON array of events (or one event object)", "malformed_json")
    return decoded


async def filter_settings(state: AppState, events: list[Event], pinned: dict[str, int],
                          ) -> dict[str, ShopSettings]:
    """The pinned settings of each shop that has a buyer message with text in this request (the
    filter-phrase decision needs them; version 0 is the defaults)."""
    shops = {e.shop_id for e in events if e.type == "chat.message" and e.sender == "buyer" and e.text is not None}
    found: dict[str, ShopSettings] = {}
    for shop in sorted(shops):
        key = (shop, pinned[shop])
        settings = state.settings_versions.get(key)
        if settings is None:
            settings = await load_settings(state.redis, shop, pinned[shop])
            if len(state.settings_versions) >= SETTINGS_CACHE_MAX:
                state.settings_versions.clear()
            state.settings_versions[key] = settings
        found[shop] = settings
    return found


def to_wire(event: Event, item: dict[str, Any], version: int, settings: dict[str, ShopSettings]) -> dict[str, Any]:
    """The object sent to Kafka: the event as received without `text`, with the pinned settings version
    and, for a chat.message, the filter-phrase decision taken under that version."""
    wire = {key: value for key, value in item.items() if key != "text"}
    wire["settings_version"] = version
    if event.type == "chat.message":
        shop_settings = settings.get(event.shop_id)
        wire["filter_phrase"] = shop_settings is not None and is_filter_phrase(event.sender, event.text,
                                                                                shop_settings)
    return wire


@router.post(
    "/events", status_code=202, response_class=JsonResponse, summary="Ingest events (JSON array or NDJSON)"
)
async def ingest(request: Request, state: StateDep, atomic: bool = Query(False)) -> Any:
    state.counters.ingest_requests += 1
    token = request_token(request)
    if not token or not state.tokens.lookup(token):
        authorize(state.tokens, token, "", ("ingest",))  # raises the 401
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise ApiError(415, "Content-Type must be application/json or application/x-ndjson")
    items = parse_body(await read_body(request, state.config.max_body_bytes), content_type)
    if len(items) > state.config.max_events_per_request:
        raise ApiError(
            413,
            f"at most {state.config.max_events_per_request} events per request",
            limit=state.config.max_events_per_request,
        )

    valid, rejected = [], []
    for index, item in enumerate(items):
        result = validate(item)
        if isinstance(result, FieldError):
            rejected.append({"index": index, "field": result.field, "error": result.error})
        else:
            valid.append((result, item))
    for shop in sorted({event.shop_id for event, _ in valid}):
        authorize(state.tokens, token, shop, ("ingest",))
    wait_s = state.rate_limits.take(token, len(items))
    if wait_s:
        retry = max(1, math.ceil(min(wait_s, 3600)))
        raise ApiError(429, f"ingest rate limit of this token exceeded; retry in {retry} s", retry_after_s=retry,
                       headers={"Retry-After": str(retry)})
    state.counters.ingest_events_rejected += len(rejected)
    if atomic and rejected:
        return JsonResponse(
            status_code=422,
            content={
                "error": "invalid",
                "message": f"{len(rejected)} of {len(items)} events are invalid; none accepted",
                "accepted": 0,
                "rejected": rejected,
            },
        )
    if not valid:
        return {"accepted": 0, "rejected": rejected}

    shops = sorted({event.shop_id for event, _ in valid})
    try:
        version_keys = [SETTINGS_DOCUMENTS.version_key(s) for s in shops]
        # GETs in one pipeline, not one MGET: on a Redis Cluster each shop's keys are in their own slot.
        pipe = state.redis.pipeline(transaction=False)
        for key in version_keys:
            pipe.get(key)
        versions = dict(zip(shops, await pipe.execute(), strict=True))
    except RedisError:
        raise ApiError(503, "settings store (Redis) unreachable; nothing was accepted, retry") from None
    # Stamp each event with the settings in force now: a settings PUT answered before this request
    # is in force for these events, whatever moment a worker processes them.
    pinned = {shop: int(version or 0) for shop, version in versions.items()}
    try:
        settings = await filter_settings(state, [event for event, _ in valid], pinned)
    except RedisError:
        raise ApiError(503, "settings store (Redis) unreachable; nothing was accepted, retry") from None
    wire = [(event, to_wire(event, item, pinned[event.shop_id], settings)) for event, item in valid]
    try:
        await state.publisher.publish(wire)
    except KafkaUnavailable:
        # Some of the request's records may have been written all the same (acked before another failed,
        # or appended without the acknowledgement): "nothing was accepted" would not be true.
        raise ApiError(503, NOT_CONFIRMED) from None
    counts: dict[str, int] = {}
    for event, _ in valid:
        counts[event.shop_id] = counts.get(event.shop_id, 0) + 1
    try:
        pipe = state.redis.pipeline(transaction=False)
        for shop, count in counts.items():
            pipe.incrby(accepted_key(shop), count)
        await pipe.execute()
    except RedisError:
        pass  # the events are in Kafka and will be processed; only /lag's accounting misses them
    state.counters.ingest_events_accepted += len(valid)
    return {"accepted": len(valid), "rejected": rejected}

"""Per-process state shared by the routes (created in the app's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from api.auth import Tokens
from api.publisher import Publisher
from api.ratelimit import TokenBuckets
from streams.config import Config
from streams.readside.reader import ReadModel


@dataclass
class ApiCounters:
    """This replica's process counters, exported at /metrics (api/metrics.py)."""

    ingest_requests: int = 0
    ingest_events_accepted: int = 0
    ingest_events_rejected: int = 0
    ws_frames_sent: int = 0
    ws_clients_dropped: int = 0
    frame_build_failures: int = 0  # a shop's frame could not be built (Redis, or an unexpected error)
    hub_loop_restarts: int = 0  # a hub loop failed and was started again (api/hub.py supervised)
    push_latency_ms: list[float] = field(default_factory=list)


@dataclass
class AppState:
    config: Config
    redis: Any
    tokens: Tokens
    publisher: Publisher
    readmodel: ReadModel
    counters: ApiCounters
    rate_limits: TokenBuckets
    hub: Any = None
    # (shop, settings version) → settings: versions are immutable, so kept for good (ingest's filter phrases)
    settings_versions: dict[tuple[str, int], Any] = field(default_factory=dict)


def get_state(request: Request) -> AppState:
    return request.app.state.kefu

"""Process configuration from `KEFU_*` environment variables (see README and shared/spec/local-stack.md)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    kafka_port: int = 9092
    kafka_bootstrap: str = ""  # overrides 127.0.0.1:<kafka_port> when set
    redis_port: int = 6379
    redis_url: str = ""  # overrides redis://127.0.0.1:<redis_port>/0 when set
    # KEFU_REDIS_CLUSTER=1: the Redis at redis_dsn is one node (the seed) of a Redis Cluster; every client
    # is then a RedisCluster (streams/readside/client.py), the rest of the code is the same.
    redis_cluster: bool = False
    partitions: int = 8
    app_id: str = "kefu-pulse"
    data_dir: str = ".run"
    clock: Literal["wall", "event"] = "wall"
    worker_index: int = 1

    # Tokens valid for every shop (local and test use); per-shop tokens come from tokens_file.
    ingest_token: str = ""
    viewer_token: str = ""
    admin_token: str = ""
    tokens_file: str = ""

    max_body_bytes: int = 5 * 1024 * 1024
    max_events_per_request: int = 10_000
    # Counters to Redis at most this often per shop and partition (live facts: every 0.5 s, see exporter.py).
    export_interval_s: float = 0.1
    allow_private_webhooks: bool = False
    # Buyers a worker keeps decoded with their derivation (about 4–5 KB each), shared by its partitions:
    # the rest live only as their ~0.5 KB record. Bounds the worker's memory; more is faster.
    buyer_cache_size: int = 30_000
    # Buyer-record retention (streams/core/retention.py, docs/reliability.md "Retention"): idle records
    # expire into final day records. Off only to keep every record (a soak's baseline, a diagnosis).
    retention: bool = True
    # Ingest rate limit per token and API replica: sustained events/s and burst (429 beyond).
    ingest_rate_per_token: float = 50_000
    ingest_burst_per_token: float = 200_000
    # Browser origins allowed to call the API cross-origin (none by default), and origins allowed to
    # embed the screens in a frame (the wall in a portal), comma-separated.
    cors_origins: str = ""
    frame_ancestors: str = ""

    # Deployment (docs/operations.md): replication factor of the topics `python -m streams.kafka` creates
    # (1 locally; 3 on a 3-broker cluster), and the worker's Prometheus endpoint (streams/worker/prometheus.py):
    # off when the port is 0; worker i listens on port + i - 1; `worker` label = worker_name or worker-<i>.
    replication_factor: int = 1
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    worker_name: str = ""

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_dsn(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"


@lru_cache
def get_config() -> Config:
    return Config()

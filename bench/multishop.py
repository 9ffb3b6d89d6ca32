"""The multi-shop 作战大屏 at its limit: one set frame of 100 shops within the 0.5 s update cadence.

100 shops of `agents` agents each (the simulator's Double-11 day, `events_per_shop` events each) go
through the worker's code path in this process (bench.offline: no Kafka, Faust or Redis). Then, with the
exports as the API reads them back from Redis (bench.scaling.shop_documents), it measures:
  - snapshots: building the 100 per-shop snapshots (summary, agents, live) as the hub does — what a set
    costs when every one of its shops changed within the same 0.5 s (the worst case; the hub builds a
    shop's snapshot once per change whoever watches it, so a shop's own walls share it);
  - frame: the set frame itself from those snapshots — totals and one row per shop
    (streams.core.shop_sets.shop_set_payload) and its JSON encoding (what `WS /api/v1/shop-set/stream`
    sends) — and its bytes.
Each is the median of `repeats` runs. Redis round trips are not included (one pipelined read of the
alert states per set frame, and each shop's snapshot reads, as for its own wall).
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

import orjson

from bench.common import say
from bench.dataset import build
from bench.offline import run
from bench.scaling import PARTITIONS, shop_documents, shop_snapshot
from streams.core.shop_sets import shop_set_payload

CADENCE_MS = 500.0  # the hub's MIN_UPDATE_INTERVAL_S


def _median_ms(fn: Any, repeats: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), value


def run_multishop(shops: int = 100, agents: int = 12, events_per_shop: int = 400, repeats: int = 15) -> dict[str, Any]:
    data = build(shops, agents, shops * events_per_shop, PARTITIONS, prefix="multishop")
    result = run(data.records, data.count, PARTITIONS, batch=256)
    docs = {shop: shop_documents(result, shop) for shop in data.shops}
    members = tuple(data.shops)
    snapshots_ms, snapshots = _median_ms(lambda: {s: shop_snapshot(docs[s], s) for s in members}, repeats)
    firing = {shop: i % 3 for i, shop in enumerate(members)}  # some alerts firing: the rows carry the counts

    def set_frame() -> bytes:
        return orjson.dumps({"type": "update", **shop_set_payload(members, snapshots, firing, 0)})

    frame_ms, frame = _median_ms(set_frame, repeats)
    row = {
        "shops": len(members),
        "agents_per_shop": agents,
        "events": data.count,
        "multishop_frame_ms": round(frame_ms, 2),
        "multishop_frame_bytes": len(frame),
        "multishop_snapshots_ms": round(snapshots_ms, 1),
        "multishop_cadence_pct": round(100 * (frame_ms + snapshots_ms) / CADENCE_MS, 1),
    }
    say(f"  multi-shop: {row['shops']} shops × {agents} agents: set frame {row['multishop_frame_bytes']:,} bytes "
        f"built and encoded in {row['multishop_frame_ms']} ms; the {row['shops']} shop snapshots in "
        f"{row['multishop_snapshots_ms']} ms; {row['multishop_cadence_pct']} % of the 0.5 s cadence")
    del data, result
    gc.collect()
    return row

"""Cost growth: state per buyer and per agent, and how the worker's path behaves at 1×, 10×, 100×.

1× is one shop of 12 agents and the first `base_events` events of its Double-11 day (the midnight
surge); 10× and 100× are one shop with 10× / 100× the agents and events, hence about 10× / 100× the
buyers. Each scale runs the worker's code path in this process (bench.offline: decode → records →
facts → agent tables → exports every 0.25 s, no Kafka/Faust/Redis), and measures:
  - throughput (events/s) and the export cost (what each 0.25 s export serialises, and its time);
  - state: serialised buyer record + key per buyer (what the changelog/table holds), agent records,
    agent tables, bytes_per_active_buyer = all of it / buyers; in-process memory per buyer (deep size
    of the stored bytes, the decoded record and derivation, plus the agent tables and live facts);
  - what a screen update costs at that size: the WebSocket frame (today's summary, agents, live)
    built from the exports as the API builds it, its size and build time;
  - rebuild time after a restart/rebalance (agent tables from the buyer records).
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import statistics
import sys
import time
from typing import Any

import orjson

from bench.common import say
from bench.dataset import build
from bench.offline import run, state_bytes
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.snapshot import export_shop, merge_buckets, merge_live, merge_meta
from streams.core.views import agents_view, live_view, summary_view

PARTITIONS = 8


def frame_cost(result: Any, shop: str) -> tuple[int, float]:
    """Size (bytes) and build time (ms) of the snapshot frame the hub would send for the shop."""
    docs = shop_documents(result, shop)
    t0 = time.perf_counter()
    frame = orjson.dumps({"type": "update", **shop_snapshot(docs, shop)})
    return len(frame), (time.perf_counter() - t0) * 1000


def shop_documents(result: Any, shop: str) -> list[bytes]:
    """The shop's exports as the API reads them back from Redis: one JSON document per partition."""
    exports = []
    for processor in result.processors.values():
        tables = processor.tables.shops.get(shop)
        if tables is not None:
            tables.mark_all_dirty()
            exports.append(export_shop(tables, tables.watermark, DEFAULT_SETTINGS.active_window_s, 2**62))
    return [orjson.dumps({"days": e.days, "live": e.live, "meta": e.meta}) for e in exports]


def shop_snapshot(docs: list[bytes], shop: str) -> dict[str, Any]:
    """The shop's snapshot (summary, agents, live) from its documents, built as the API builds it."""
    loaded = [orjson.loads(d) for d in docs]
    meta = merge_meta([d["meta"] for d in loaded])
    now = meta["watermark"]
    day = max(meta["days"])
    bucket = merge_buckets([d["days"][day] for d in loaded if day in d["days"]])
    live = merge_live([d["live"] for d in loaded if d["live"]])
    agents = agents_view(shop, day, bucket, live, meta["agents"], DEFAULT_SETTINGS, now)["agents"]
    return {**summary_view(shop, day, bucket, live, now), "agents": agents,
            "live": live_view(shop, live, {}, meta["agents"], DEFAULT_SETTINGS, now)}


def deep_size(obj: Any, seen: set[int]) -> int:
    """Bytes of an object and everything it references (containers, slots), each object counted once."""
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(deep_size(item, seen) for item in obj)
    elif hasattr(obj, "__slots__"):
        size += sum(deep_size(getattr(obj, name), seen) for cls in type(obj).__mro__
                    for name in getattr(cls, "__slots__", ()) if hasattr(obj, name))
    return size


def memory_bytes(result: Any, sample: int = 2000) -> dict[str, int]:
    """In-process state: per buyer (store key + record bytes + the processor's decoded record and
    derivation, a sample of `sample` buyers) and the agent tables with the buyers' live facts, per buyer."""
    seen: set[int] = set()
    per_buyer, buyers, counted = 0, 0, 0
    for processor in result.processors.values():
        buyers += len(processor.store)
        for key, cached in list(processor._buyers.items())[: max(sample // len(result.processors), 1)]:
            per_buyer += deep_size(key, seen) + deep_size(processor.store.get(key), seen) + deep_size(cached, seen)
            counted += 1
    tables = sum(deep_size(processor.tables, seen) for processor in result.processors.values())
    return {"memory_bytes_per_buyer": round(per_buyer / max(counted, 1) + tables / max(buyers, 1)),
            "memory_tables_bytes": tables}


def run_scale(factor: int, base_events: int, base_agents: int = 12) -> dict[str, Any]:
    agents = base_agents * factor
    events = base_events * factor
    t0 = time.monotonic()
    data = build(1, agents, events, PARTITIONS, prefix=f"scale{factor}")
    gen_s = time.monotonic() - t0
    result = run(data.records, data.count, PARTITIONS, batch=256)
    state = state_bytes(result)
    memory = memory_bytes(result)
    frame_bytes, frame_ms = frame_cost(result, data.shops[0])
    t1 = time.perf_counter()
    for processor in result.processors.values():
        processor.rebuild()
    rebuild_s = time.perf_counter() - t1
    row = {
        "scale": f"{factor}x",
        "agents": agents,
        "events": data.count,
        "buyers": state["buyers"],
        "eps": round(result.eps),
        "us_per_event": round(result.seconds / data.count * 1e6, 1),
        "export_bytes_avg": round(result.export_bytes / max(result.exports, 1)),
        "export_ms_avg": round(result.export_seconds / max(result.exports, 1) * 1000, 2),
        "frame_bytes": frame_bytes,
        "frame_build_ms": round(frame_ms, 1),
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_us_per_buyer": round(rebuild_s / max(state["buyers"], 1) * 1e6, 1),
        **memory,
        **{k: v for k, v in state.items() if k not in ("buyers",)},
    }
    say(f"  {factor}x: {agents} agents, {state['buyers']:,} buyers, {data.count:,} events (generated in {gen_s:.0f}s): "
        f"{row['eps']:,} events/s, {row['bytes_per_active_buyer']} bytes/buyer serialised, "
        f"{row['memory_bytes_per_buyer']:,} bytes/buyer in memory, frame {frame_bytes:,} bytes "
        f"built in {row['frame_build_ms']} ms, export {row['export_bytes_avg']:,} bytes")
    del data, result
    gc.collect()
    return row


def _worker_like(agents: int, events: int, prefix: str) -> tuple[list[tuple[str, int, bytes, bytes]], int]:
    """A shop's dataset as a worker would meet it: only the Kafka records (the simulated events dropped),
    left out of the garbage collector's passes (gc.freeze, as the worker freezes what start-up loaded):
    a worker reads its records from Kafka, it never holds a day of them in its heap."""
    data = build(1, agents, events, PARTITIONS, prefix=prefix)
    records, count = data.records, data.count
    del data
    gc.collect()
    gc.freeze()
    return records, count


def _small_shop_runs(agents: int, events: int, started: Any, stop: Any, results: Any) -> None:
    """The 12-agent shop's run, again and again until `stop`: (start, end, events/s) per run."""
    records, count = _worker_like(agents, events, "small")
    started.set()
    while not stop.is_set():
        t0 = time.monotonic()
        eps = run(records, count, PARTITIONS, batch=256).eps
        results.put((t0, time.monotonic(), eps))
        gc.collect()


def _large_shop_run(agents: int, events: int, ready: Any, go: Any, results: Any) -> None:
    """The large shop's one run, once `go` is set: its start, end and figures."""
    records, count = _worker_like(agents, events, "large")
    ready.set()
    go.wait()
    t0 = time.monotonic()
    result = run(records, count, PARTITIONS, batch=256)
    t1 = time.monotonic()
    results.put((t0, t1, {
        "large_events": count,
        "large_buyers": sum(len(p.store) for p in result.processors.values()),
        "large_eps": round(result.eps),
        "large_export_bytes_avg": round(result.export_bytes / max(result.exports, 1)),
        "large_export_ms_avg": round(result.export_seconds / max(result.exports, 1) * 1000, 2),
        "large_export_share": round(result.export_seconds / result.seconds, 3),
    }))


def large_shop_ratio(large_events: int, small_events: int = 20_000, large_agents: int = 1200,
                     small_agents: int = 12) -> dict[str, Any]:
    """`large_shop_ratio`: events/s of one large shop (1,200 agents; 1,000,000 events of its Double-11
    day ≈ 130,000 buyers) ÷ events/s of one 12-agent shop (the first `small_events` of its day), both
    through the worker's path (bench.offline, exports at the worker's cadence), measured side by side
    in time: the small shop runs again and again in one process while another runs the large shop once,
    and the median of the small runs that lie within the large run is taken.
    This machine's speed drifts by up to 1.6× within minutes (the same small run measured 55,000 and
    34,000 events/s two minutes apart), so runs one after the other compare two different machines.
    Both shops run in fresh interpreters that hold only their own records (_worker_like), so neither
    carries what this process ran before (the 100× scale run, the simulated events) in its heap.
    The processors keep their default cache (20,000 decoded buyers per partition), which holds every
    buyer of both shops: a worker whose KEFU_BUYER_CACHE_SIZE holds the shop's buyers (the default
    30,000 per worker holds ~a fifth of the large shop's, which then runs ~0.8× as fast: performance-journal.md)."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no copy of this one's heap
    started, stop, small_results = context.Event(), context.Event(), context.Queue()
    ready, go, large_results = context.Event(), context.Event(), context.Queue()
    small_process = context.Process(target=_small_shop_runs, daemon=True,
                                    args=(small_agents, small_events, started, stop, small_results))
    large_process = context.Process(target=_large_shop_run, daemon=True,
                                    args=(large_agents, large_events, ready, go, large_results))
    small_process.start()
    large_process.start()
    try:
        for name, event, process in (("small", started, small_process), ("large", ready, large_process)):
            while not event.wait(5):
                if not process.is_alive():
                    raise RuntimeError(f"the {name} shop's process ended before it was ready "
                                       f"(exit code {process.exitcode})")
        go.set()
        while True:
            try:
                t0, t1, large = large_results.get(timeout=5)
                break
            except queue.Empty:
                if not large_process.is_alive():
                    raise RuntimeError(f"the large shop's process ended without a result "
                                       f"(exit code {large_process.exitcode})") from None
    finally:
        stop.set()
        go.set()
    large_process.join(30)
    runs = []
    while small_process.is_alive() or not small_results.empty():
        try:
            runs.append(small_results.get(timeout=1))
        except queue.Empty:
            continue
    small_process.join(30)
    small_eps = [eps for start, end, eps in runs if start >= t0 and end <= t1]
    if not small_eps:
        raise RuntimeError(f"no run of the small shop lay within the large shop's run ({len(runs)} runs)")
    row: dict[str, Any] = {
        "large_agents": large_agents, **large,
        "small_agents": small_agents, "small_events": small_events,
        "small_runs": len(small_eps),
        "small_eps_quartiles": [round(q) for q in statistics.quantiles(small_eps, n=4)] if len(small_eps) > 1
        else [round(small_eps[0])] * 3,
        "small_eps": round(statistics.median(small_eps)),
    }
    row["large_shop_ratio"] = round(row["large_eps"] / row["small_eps"], 3)
    say(f"  large shop: {large_agents} agents, {row['large_buyers']:,} buyers, {row['large_events']:,} events: "
        f"{row['large_eps']:,} events/s (exports {row['large_export_share']:.0%} of it); {small_agents}-agent "
        f"shop beside it {row['small_eps']:,} events/s (median of {len(small_eps)} runs, quartiles "
        f"{row['small_eps_quartiles']}); ratio {row['large_shop_ratio']}")
    return row

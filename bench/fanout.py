"""Fan-out: N WebSocket clients on one API process, the shop's figures changing twice a second.

This process plays the worker's exporter: every 0.5 s it writes the shop's snapshot for today to
Redis (a day bucket whose team buyer_messages is a sequence number, meta, live facts) in one
transaction and publishes the update notice, noting the wall-clock time of each sequence number.
Cases (CASES, one after the other in one run, so they compare side by side): the 30-agent shop whose
every agent changes with each update, with full frames and with delta frames (`?deltas=1`), and the
1,200-agent shop where 5 % of the agents change per update, with delta frames (1,000 clients) and with
full frames (50 clients: the cost before deltas). `delta_frame_bytes` is the median size of the large
shop's delta frames that carried an update.
A second process (`python -m bench.fanout clients ...`) holds the N WebSocket connections and notes,
for every update frame, the wall-clock receive time and the sequence number it shows (the first frame
of each number: the hub's clock-only re-sends repeat it). Delivery latency = receive time − publish
time of that sequence number (one machine, one clock). API CPU is
the API process's user+system time over the measured window, as % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import redis.asyncio as aioredis
import uvloop
import websockets

from bench.common import VIEWER_TOKEN, BenchStack, cpu_seconds, percentile, say
from streams.readside.keys import SHOPS_KEY, day_key, live_key, meta_key, updates_channel
from streams.readside.snapshots import day_fields

AGENTS = [f"agent-{i:02d}" for i in range(30)]
LARGE_AGENTS = 1200
LARGE_CHANGED_SHARE = 0.05  # of the agents, per published update (the "5 % of the agents changed")
COUNTERS = {"consult": 40, "received": 38, "replied": 35, "buyer_messages": 300, "agent_messages": 280,
            "responses": 250, "response_ms": 250 * 21_000, "slow": 12, "first_responses": 35,
            "first_response_ms": 35 * 15_000, "sla_buyers": 35, "sla_met": 33, "inquiry": 30, "ordered": 9,
            "paid": 7, "sales_fen": 1_234_500, "sales_items": 11, "sales_buyers": 7}


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


async def write_export(client: Any, shop: str, bucket: dict[str, Any], live: dict[str, Any],
                       meta: dict[str, Any]) -> float:
    """One exporter write (day bucket, live facts, meta) and the update notice, in one transaction."""
    pipe = client.pipeline(transaction=True)
    pipe.hset(day_key(shop, 0, today()), mapping=day_fields(bucket))
    pipe.set(live_key(shop, 0), orjson.dumps(live))
    pipe.set(meta_key(shop, 0), orjson.dumps(meta))
    pipe.sadd(SHOPS_KEY, shop)
    pipe.publish(updates_channel(shop), b"changed")
    sent = time.time()
    await pipe.execute()
    return sent


async def publish(client: Any, shop: str, seq: int) -> float:
    """The 30-agent shop: every agent's consult and live load move with each update (100 % changed)."""
    now_ms = int(time.time() * 1000)
    counters = {**COUNTERS, "consult": 40 + seq % 7}
    bucket = {"agents": {a: dict(counters) for a in AGENTS}, "groups": {"presale": dict(counters)},
              "team": {**counters, "buyer_messages": seq}}
    live = {"agents": {a: {"activity": [now_ms - i * 1000 for i in range(5)], "pending": [now_ms - 30_000]}
                       for a in AGENTS}, "open_sla": [], "aged_sla": []}
    meta = {"watermark": now_ms, "processed": seq, "agents": AGENTS, "days": [today()]}
    return await write_export(client, shop, bucket, live, meta)


class LargeShop:
    """A 1,200-agent shop whose updates each change 5 % of the agents: a buyer message and its answer
    (counters of the day, hence several figures of the agent's row) and a new conversation start (its
    live load). The other agents' rows do not change; nobody waits, so the clock alone changes nothing
    but "now" (the issue's case; a wait growing on every agent would change every agent's row)."""

    def __init__(self, agents: int = LARGE_AGENTS, changed_share: float = LARGE_CHANGED_SHARE, seed: int = 16) -> None:
        self.rng = random.Random(seed)
        self.agents = [f"agent-{i:04d}" for i in range(agents)]
        self.changed = max(1, round(agents * changed_share))
        now_ms = int(time.time() * 1000)
        self.counters = {a: {k: v + self.rng.randrange(0, 50) for k, v in COUNTERS.items()} for a in self.agents}
        self.activity = {a: [now_ms - self.rng.randrange(1_000, 60_000)] for a in self.agents}

    async def publish(self, client: Any, shop: str, seq: int) -> float:
        now_ms = int(time.time() * 1000)
        for agent in self.rng.sample(self.agents, self.changed) if seq else ():
            c = self.counters[agent]
            for key in ("buyer_messages", "agent_messages", "responses", "consult", "received", "replied"):
                c[key] += 1
            c["response_ms"] += self.rng.randrange(2_000, 60_000)
            self.activity[agent] = [now_ms, *self.activity[agent][:3]]
        team = {k: sum(c[k] for c in self.counters.values()) for k in COUNTERS}
        bucket = {"agents": self.counters, "groups": {"presale": team}, "team": {**team, "buyer_messages": seq}}
        live = {"agents": {a: {"activity": t, "pending": []} for a, t in self.activity.items()},
                "open_sla": [], "aged_sla": []}
        meta = {"watermark": now_ms, "processed": seq, "agents": self.agents, "days": [today()]}
        return await write_export(client, shop, bucket, live, meta)


# (name, shop, clients (None: the plan's count), deltas): the same run measures them side by side.
CASES = [
    ("small_full", "small", None, False),  # 30 agents, full update frames: the row docs/performance.md tracks
    ("small_deltas", "small", None, True),
    ("large_deltas", "large", None, True),  # 1,200 agents, delta frames: issue 16's case
    ("large_full", "large", 50, False),  # the same shop with full frames, as before deltas (50 screens: more
                                         # would need 1,000 × 1.1 MB × 2/s = 2.2 GB/s)
]


async def run_fanout(stack: BenchStack, api_pid: int, clients: int, duration: float, work: Path) -> dict[str, Any]:
    """Every case of CASES in turn; the 30-agent full-frame case's figures at the top level, as before."""
    only = os.environ.get("BENCH_FANOUT_CASES")  # e.g. "small_full,large_full" against an API without deltas
    cases = {}
    for name, kind, count, deltas in CASES:
        if only and name not in only.split(","):
            continue
        cases[name] = await run_case(stack, api_pid, kind, count or clients, deltas, duration, work)
    result = {**cases["small_full"], "cases": cases}
    large = cases.get("large_deltas", {})
    result["delta_frame_bytes"] = large.get("delta_frame_bytes")
    result["large_shop_ws_p99_ms"] = large.get("p99_ms")
    result["large_shop_api_cpu_pct"] = large.get("api_cpu_pct")
    return result


async def run_case(stack: BenchStack, api_pid: int, kind: str, clients: int, deltas: bool, duration: float,
                   work: Path) -> dict[str, Any]:
    shop = f"fanout-{kind}-{'d' if deltas else 'f'}-{int(time.time())}"
    client = aioredis.Redis.from_url(stack.redis_url)
    large = LargeShop() if kind == "large" else None

    async def publish_one(seq: int) -> float:
        return await (large.publish(client, shop, seq) if large else publish(client, shop, seq))

    await publish_one(0)
    out = work / f"fanout-clients-{shop}.json"
    proc = subprocess.Popen([sys.executable, "-m", "bench.fanout", "clients", f"ws://127.0.0.1:{stack.api_port}",
                             shop, str(clients), str(duration + 3), str(out)] + (["--deltas"] if deltas else []),
                            stdout=subprocess.PIPE, text=True)
    label = f"{kind} shop ({LARGE_AGENTS if large else len(AGENTS)} agents), {'delta' if deltas else 'full'} frames"
    try:
        line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        if not line.startswith("connected"):
            raise RuntimeError(f"WebSocket clients failed: {line}")
        connected = int(line.split()[1])
        say(f"  fan-out, {label}: {connected} WebSocket clients connected; publishing 2 updates/s "
            f"for {duration:.0f}s")
        published: dict[int, float] = {}
        cpu0, t0 = cpu_seconds(api_pid), time.monotonic()
        seq = 0
        while time.monotonic() - t0 < duration:
            seq += 1
            published[seq] = await publish_one(seq)
            await asyncio.sleep(max(0.0, t0 + seq * 0.5 - time.monotonic()))
        api_cpu = (cpu_seconds(api_pid) - cpu0) / (time.monotonic() - t0)
        await asyncio.to_thread(proc.wait, duration + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
        await client.aclose()
    received = orjson.loads(out.read_bytes())
    # Per update (sequence number) across the screens: with 40 updates to 1,000 screens, the p99 is
    # about the slowest update's median screen, so which updates were slow says more than the p99.
    by_update: dict[int, list[float]] = {}
    for s, t in received["frames"]:
        if s in published:
            by_update.setdefault(s, []).append((t - published[s]) * 1000)
    latencies = [latency for screens in by_update.values() for latency in screens]
    slowest = sorted(by_update.items(), key=lambda item: -statistics.median(item[1]))[:5]
    per_client_s = len(latencies) / max(connected, 1) / duration
    result = {
        "agents": LARGE_AGENTS if large else len(AGENTS),
        "deltas": deltas,
        "clients": connected,
        "updates_published": seq,
        "frames_delivered": len(latencies),
        "updates_per_client_per_s": round(per_client_s, 2),
        "p50_ms": round(percentile(latencies, 50) or 0, 1),
        "p95_ms": round(percentile(latencies, 95) or 0, 1),
        "p99_ms": round(percentile(latencies, 99) or 0, 1),
        "max_ms": round(max(latencies, default=0), 1),
        "frame_bytes": received["frame_bytes"],
        "snapshot_bytes": received["snapshot_bytes"],
        "delta_frame_bytes": received["delta_frame_bytes"],
        "resyncs": received["resyncs"],
        "api_cpu_pct": round(api_cpu * 100, 1),
        "clients_process_cpu_pct": received["cpu_pct"],
        "dropped_clients": received["closed"],
        "slowest_updates": [{"seq": s, "p50_ms": round(statistics.median(v), 1), "max_ms": round(max(v), 1),
                             "screens": len(v)} for s, v in slowest],
        "updates_shown": len(by_update),
    }
    say(f"  fan-out, {label}: {len(latencies):,} frames to {connected} clients ({per_client_s:.2f}/client/s): "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, {result['frame_bytes']:,} B/frame; "
        f"API CPU {result['api_cpu_pct']} % of a core")
    return result


async def clients_main(base: str, shop: str, count: int, duration: float, out: str, deltas: bool) -> None:
    url = f"{base}/api/v1/shops/{shop}/stream?token={VIEWER_TOKEN}" + ("&deltas=1" if deltas else "")
    frames: list[tuple[int, float]] = []
    sizes: list[int] = []
    delta_sizes: list[int] = []
    snapshot_sizes: list[int] = []
    closed = resyncs = 0
    sockets = []

    async def connect() -> Any:
        return await websockets.connect(url, max_size=None, open_timeout=60, ping_interval=None)

    semaphore = asyncio.Semaphore(50)

    async def one() -> None:
        async with semaphore:
            sockets.append(await connect())

    await asyncio.gather(*(one() for _ in range(count)))
    for ws in sockets:
        snapshot_sizes.append(len(await ws.recv()))  # the snapshot
    print(f"connected {len(sockets)}", flush=True)
    # This process is the measuring instrument: a collector pass here would hold up every screen's
    # receive time alike and be counted as the API's latency. What it allocates while measuring is
    # freed by reference counts (frames, their texts), so the collector waits until the end.
    gc.collect()
    gc.freeze()
    gc.disable()
    t_cpu = time.process_time()
    t0 = time.monotonic()

    def team_seq(message: str) -> int | None:
        """The sequence number of a full frame without parsing it (cheap: 2,000 frames/s arrive here):
        {"type":"update",...,"team":{...,"buyer_messages":<seq>,...}"""
        at = message.find('"buyer_messages":', message.find('"team":')) + len('"buyer_messages":')
        end = at
        while message[end].isdigit():
            end += 1
        return int(message[at:end])

    checked = 0

    def delta_seq(message: str) -> int | None:
        """A delta's team `buyer_messages` (None: not in it) without parsing all of it: this one process
        reads 2,000 frames/s for 1,000 screens in turn, and a full parse of each (~17 KB for the large
        shop) queued the later screens' receive times behind it. The first 200 are checked against a
        full parse, so a change of the frame's layout fails the bench instead of skewing it."""
        nonlocal checked
        changes = message.find('"changes":')
        team = message.find('"team":{', changes)
        seq = None
        if team != -1:
            end = message.find("}", team)
            at = message.find('"buyer_messages":', team, end)
            if at != -1:
                at += len('"buyer_messages":')
                stop = at
                while message[stop].isdigit():
                    stop += 1
                seq = int(message[at:stop])
        if checked < 200:
            checked += 1
            parsed = orjson.loads(message)["changes"].get("team", {}).get("buyer_messages")
            if parsed != seq:
                raise SystemExit(f"delta_seq read {seq}, the frame says {parsed}: {message[:300]}")
        return seq

    async def reader(ws: Any) -> None:
        nonlocal closed, resyncs
        # The hub also re-sends a frame when the clock alone changes it (a buyer's wait grows: the small
        # shop has waiting buyers): such a frame repeats the last sequence number (a delta then has no
        # team buyer_messages) and is no delivery of an update, so only the first frame of each counts.
        last_seq = -1
        try:
            async for message in ws:
                now = time.time()
                if message.startswith('{"type":"update"'):
                    seq = team_seq(message)
                elif message.startswith('{"type":"delta"'):
                    seq = delta_seq(message)
                    if seq is not None and seq != last_seq and len(delta_sizes) < 1000:
                        delta_sizes.append(len(message))  # an update's delta (not a clock-only re-send)
                elif message.startswith('{"type":"snapshot"'):  # a resync (this client fell behind)
                    resyncs += 1
                    seq = team_seq(message)
                else:
                    continue
                if seq is None or seq == last_seq:
                    continue
                last_seq = seq
                frames.append((seq, now))
                if len(sizes) < 100:
                    sizes.append(len(message))
        except websockets.ConnectionClosed:
            closed += 1

    tasks = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.sleep(duration)
    cpu = (time.process_time() - t_cpu) / (time.monotonic() - t0)
    for task in tasks:
        task.cancel()
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()
    Path(out).write_bytes(orjson.dumps({
        "frames": frames, "frame_bytes": round(sum(sizes) / max(len(sizes), 1)),
        "snapshot_bytes": round(statistics.median(snapshot_sizes)) if snapshot_sizes else None,
        "delta_frame_bytes": round(statistics.median(delta_sizes)) if delta_sizes else None,
        "resyncs": resyncs, "cpu_pct": round(cpu * 100, 1), "closed": closed}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["clients"])
    parser.add_argument("base")
    parser.add_argument("shop")
    parser.add_argument("count", type=int)
    parser.add_argument("duration", type=float)
    parser.add_argument("out")
    parser.add_argument("--deltas", action="store_true", help="ask for delta frames (?deltas=1)")
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(clients_main(args.base, args.shop, args.count, args.duration, args.out, args.deltas))


if __name__ == "__main__":
    main()

"""Fan-out: N WebSocket clients on one API process, the shop's figures changing twice a second.

This process plays the worker's exporter: every 0.5 s it writes the shop's snapshot for today to
Redis (a day bucket of 30 agents whose team buyer_messages is a sequence number, meta, live facts) in
one transaction and publishes the update notice, noting the wall-clock time of each sequence number.
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


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


async def publish(client: Any, shop: str, seq: int) -> float:
    now_ms = int(time.time() * 1000)
    counters = {"consult": 40 + seq % 7, "received": 38, "replied": 35, "buyer_messages": 300, "agent_messages": 280,
                "responses": 250, "response_ms": 250 * 21_000, "slow": 12, "first_responses": 35,
                "first_response_ms": 35 * 15_000, "sla_buyers": 35, "sla_met": 33, "inquiry": 30, "ordered": 9,
                "paid": 7, "sales_fen": 1_234_500, "sales_items": 11, "sales_buyers": 7}
    bucket = {"agents": {a: dict(counters) for a in AGENTS}, "groups": {"presale": dict(counters)},
              "team": {**counters, "buyer_messages": seq}}
    live = {"agents": {a: {"activity": [now_ms - i * 1000 for i in range(5)], "pending": [now_ms - 30_000]}
                       for a in AGENTS}, "open_sla": [], "aged_sla": []}
    meta = {"watermark": now_ms, "processed": seq, "agents": AGENTS, "days": [today()]}
    pipe = client.pipeline(transaction=True)
    pipe.hset(day_key(shop, 0, today()), mapping=day_fields(bucket))
    pipe.set(live_key(shop, 0), orjson.dumps(live))
    pipe.set(meta_key(shop, 0), orjson.dumps(meta))
    pipe.sadd(SHOPS_KEY, shop)
    pipe.publish(updates_channel(shop), b"changed")
    sent = time.time()
    await pipe.execute()
    return sent


async def run_fanout(stack: BenchStack, api_pid: int, clients: int, duration: float, work: Path) -> dict[str, Any]:
    shop = f"fanout-{int(time.time())}"
    client = aioredis.Redis.from_url(stack.redis_url)
    await publish(client, shop, 0)
    out = work / "fanout-clients.json"
    proc = subprocess.Popen([sys.executable, "-m", "bench.fanout", "clients", f"ws://127.0.0.1:{stack.api_port}",
                             shop, str(clients), str(duration + 3), str(out)],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        if not line.startswith("connected"):
            raise RuntimeError(f"WebSocket clients failed: {line}")
        connected = int(line.split()[1])
        say(f"  fan-out: {connected} WebSocket clients connected; publishing 2 updates/s for {duration:.0f}s")
        published: dict[int, float] = {}
        cpu0, t0 = cpu_seconds(api_pid), time.monotonic()
        seq = 0
        while time.monotonic() - t0 < duration:
            seq += 1
            published[seq] = await publish(client, shop, seq)
            await asyncio.sleep(max(0.0, t0 + seq * 0.5 - time.monotonic()))
        api_cpu = (cpu_seconds(api_pid) - cpu0) / (time.monotonic() - t0)
        await asyncio.to_thread(proc.wait, duration + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
        await client.aclose()
    received = orjson.loads(out.read_bytes())
    latencies = [(t - published[s]) * 1000 for s, t in received["frames"] if s in published]
    per_client_s = len(latencies) / max(connected, 1) / duration
    result = {
        "clients": connected,
        "updates_published": seq,
        "frames_delivered": len(latencies),
        "updates_per_client_per_s": round(per_client_s, 2),
        "p50_ms": round(percentile(latencies, 50) or 0, 1),
        "p95_ms": round(percentile(latencies, 95) or 0, 1),
        "p99_ms": round(percentile(latencies, 99) or 0, 1),
        "max_ms": round(max(latencies, default=0), 1),
        "frame_bytes": received["frame_bytes"],
        "api_cpu_pct": round(api_cpu * 100, 1),
        "clients_process_cpu_pct": received["cpu_pct"],
        "dropped_clients": received["closed"],
    }
    say(f"  fan-out: {len(latencies):,} frames to {connected} clients ({per_client_s:.2f}/client/s): "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; API CPU {result['api_cpu_pct']} % of a core")
    return result


async def clients_main(base: str, shop: str, count: int, duration: float, out: str) -> None:
    url = f"{base}/api/v1/shops/{shop}/stream?token={VIEWER_TOKEN}"
    frames: list[tuple[int, float]] = []
    sizes: list[int] = []
    closed = 0
    sockets = []

    async def connect() -> Any:
        return await websockets.connect(url, max_size=None, open_timeout=60, ping_interval=None)

    semaphore = asyncio.Semaphore(50)

    async def one() -> None:
        async with semaphore:
            sockets.append(await connect())

    await asyncio.gather(*(one() for _ in range(count)))
    for ws in sockets:
        await ws.recv()  # the snapshot
    print(f"connected {len(sockets)}", flush=True)
    t_cpu = time.process_time()
    t0 = time.monotonic()

    async def reader(ws: Any) -> None:
        nonlocal closed
        # The hub also re-sends a frame when the clock alone changes it (a buyer's wait grows: this
        # shop has waiting buyers): such a frame repeats the last sequence number and is no delivery
        # of an update, so only the first frame of each sequence number counts.
        last_seq = -1
        try:
            async for message in ws:
                now = time.time()
                # The sequence number without parsing the whole frame (cheap: 2,000 frames/s arrive here):
                # {"type":"update",...,"team":{...,"buyer_messages":<seq>,...}
                if message.startswith('{"type":"update"'):
                    at = message.find('"buyer_messages":', message.find('"team":')) + len('"buyer_messages":')
                    end = at
                    while message[end].isdigit():
                        end += 1
                    seq = int(message[at:end])
                    if seq == last_seq:
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
    Path(out).write_bytes(orjson.dumps({"frames": frames, "frame_bytes": round(sum(sizes) / max(len(sizes), 1)),
                                        "cpu_pct": round(cpu * 100, 1), "closed": closed}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["clients"])
    parser.add_argument("base")
    parser.add_argument("shop")
    parser.add_argument("count", type=int)
    parser.add_argument("duration", type=float)
    parser.add_argument("out")
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(clients_main(args.base, args.shop, args.count, args.duration, args.out))


if __name__ == "__main__":
    main()

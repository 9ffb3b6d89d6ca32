"""Steady load for the soak: the simulator's Double-11 day sent at a constant rate through HTTP ingest.

    python -m bench.steady --url U --token T --shop S --rate R --duration D

Events are generated as they are sent (memory stays flat however long it runs), 50 ms slots of
R/20 events each, time-stamped with the wall clock of their slot, up to --inflight requests at once.
Prints a JSON summary as its last line; exit status 1 when any event was not accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from typing import Any

import httpx
import orjson
import uvloop

from bench.loadgen import post_events
from streams.tools.simulator.model import day_simulator

SLOT_S = 0.05


async def run(args: argparse.Namespace) -> dict[str, Any]:
    events = day_simulator(shop_id=args.shop, agents=args.agents, seed=args.seed, day=date(2026, 11, 11)).events()
    stats = {"accepted": 0, "rejected": 0, "failed": 0, "requests": 0, "late_s_max": 0.0}
    semaphore = asyncio.Semaphore(args.inflight)
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=args.inflight, max_keepalive_connections=args.inflight)

    async def post(client: httpx.AsyncClient, body: bytes, count: int) -> None:
        try:
            await post_events(client, body, count, stats)
        finally:
            semaphore.release()

    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=60, limits=limits) as client:
        began = time.time()
        tasks: set[asyncio.Task[None]] = set()
        carry, slot = 0.0, 0
        while (slot + 1) * SLOT_S <= args.duration:
            carry += args.rate * SLOT_S
            count, carry = int(carry), carry - int(carry)
            slot_ms = int((began + slot * SLOT_S) * 1000)
            chunk = []
            for j in range(count):
                event = next(events)
                event["ts"] = slot_ms + int(SLOT_S * 1000 * j / max(count, 1))
                chunk.append(event)
            slot += 1
            due = began + slot * SLOT_S  # every event of the slot is in the past
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stats["late_s_max"] = max(stats["late_s_max"], round(time.time() - due, 3))
            await semaphore.acquire()
            stats["requests"] += 1
            task = asyncio.create_task(post(client, orjson.dumps(chunk), count))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        ended = time.time()
    sent = stats["accepted"] + stats["rejected"] + stats["failed"]
    return {**stats, "sent": sent, "seconds": round(ended - began, 1), "rate_eps": round(sent / (ended - began))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--shop", required=True)
    parser.add_argument("--rate", type=float, required=True, help="events/s")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--agents", type=int, default=1000, help="the simulated day has ≈10,000 events per agent")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--inflight", type=int, default=8)
    args = parser.parse_args()
    uvloop.install()
    result = asyncio.run(run(args))
    print(orjson.dumps(result).decode(), flush=True)
    return 0 if result["accepted"] == result["sent"] else 1


if __name__ == "__main__":
    sys.exit(main())

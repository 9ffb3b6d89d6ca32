"""Load generator for the end-to-end benchmark (own process, so it never delays the measuring one).

`python -m bench.loadgen --url U --token T --shop S --peak R --duration D` sends a Double-11 midnight
surge of one shop through the ingest API. The events are the shop simulator's Double-11 day from
midnight (streams.tools.simulator, day mode: the stories of buyers, agents and orders), re-timed so that the
rate follows the day's shape compressed 60× (one second of the run = one minute after midnight:
`double11_shape`, the surge decaying from its peak over ~12 s), scaled so that the first second runs
at R events/s. Each 50 ms slot is posted when its last event's time has come (up to 8 requests in
flight). `--unpaced` posts 1,000-event requests as fast as the API takes them (the saturation run);
`--steps R1,R2,...` sends constant rates for `--step-s` seconds each (the staircase that finds the
sustainable rate).

Prints one line "start <epoch s>" when sending begins, and a JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date
from typing import Any

import httpx
import orjson
import uvloop

from streams.tools.simulator.model import day_simulator, double11_shape

SLOT_MS = 50
SIM_DAY = date(2026, 11, 11)


def rate_at(t: float, peak: float) -> float:
    """Events/s at t seconds into the run: the Double-11 shape, 1 s = 1 minute, peak at t = 0."""
    return peak * double11_shape(t) / double11_shape(0)


def generate(shop: str, agents: int, peak: float, start_ms: int, duration_s: float, seed: int,
             unpaced: bool, steps: list[float] | None = None, step_s: float = 5.0) -> list[dict[str, Any]]:
    """Events with ts following the profile (or spread evenly when unpaced), from the simulator's day.

    With `steps`, the rate is constant at steps[i] during [i * step_s, (i + 1) * step_s) instead."""
    step = 0.01
    times: list[float] = []  # the send time of each event, seconds from the start
    t, carry = 0.0, 0.0
    if steps:
        duration_s = len(steps) * step_s
    while t < duration_s:
        carry += (steps[min(int(t / step_s), len(steps) - 1)] if steps else rate_at(t, peak)) * step
        count = int(carry)
        carry -= count
        times += [t + step * j / count for j in range(count)]
        t += step
    if unpaced:
        times = [duration_s * i / max(len(times), 1) for i in range(len(times))]
    sim = day_simulator(shop_id=shop, agents=agents, seed=seed, day=SIM_DAY)
    events = []
    for event, at in zip(sim.events(), times, strict=False):
        event["ts"] = start_ms + int(at * 1000)
        events.append(event)
    return events


async def post_events(client: httpx.AsyncClient, body: bytes, count: int, stats: dict[str, Any]) -> None:
    """POST one body of `count` events to ingest; counts accepted / rejected / failed into stats."""
    try:
        response = await client.post("/api/v1/events", content=body)
        if response.status_code == 202:
            answer = response.json()
            stats["accepted"] += answer["accepted"]
            stats["rejected"] += len(answer["rejected"])
        else:
            stats["failed"] += count
    except httpx.HTTPError:
        stats["failed"] += count


async def post_all(client: httpx.AsyncClient, bodies: list[tuple[float, bytes, int]], inflight: int,
                   paced: bool) -> dict[str, Any]:
    semaphore = asyncio.Semaphore(inflight)
    stats = {"accepted": 0, "rejected": 0, "failed": 0, "late_s_max": 0.0, "requests": 0}

    async def post(body: bytes, count: int) -> None:
        try:
            await post_events(client, body, count, stats)
        finally:
            semaphore.release()

    tasks = []
    for due, body, count in bodies:
        if paced:
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stats["late_s_max"] = max(stats["late_s_max"], time.time() - due)
        await semaphore.acquire()
        stats["requests"] += 1
        tasks.append(asyncio.create_task(post(body, count)))
    await asyncio.gather(*tasks)
    return stats


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    generated_at = int(time.time() * 1000)
    steps = [float(x) for x in args.steps.split(",")] if args.steps else None
    events = generate(args.shop, args.agents, args.peak, generated_at, args.duration, args.seed, args.unpaced,
                      steps, args.step_s)
    start_ms = int((time.time() + args.lead) * 1000)  # the surge starts now: shift it (generation took a while)
    for event in events:
        event["ts"] += start_ms - generated_at
    bodies: list[tuple[float, bytes, int]] = []
    if args.unpaced:
        for i in range(0, len(events), 1000):
            chunk = events[i:i + 1000]
            bodies.append((0.0, orjson.dumps(chunk), len(chunk)))
    else:
        slots: dict[int, list[dict[str, Any]]] = {}
        for event in events:
            slots.setdefault((event["ts"] - start_ms) // SLOT_MS, []).append(event)
        for slot in sorted(slots):
            due = (start_ms + (slot + 1) * SLOT_MS) / 1000  # every event of the slot is in the past
            chunk = slots[slot]
            for i in range(0, len(chunk), 2000):
                bodies.append((due, orjson.dumps(chunk[i:i + 2000]), len(chunk[i:i + 2000])))
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=args.inflight, max_keepalive_connections=args.inflight)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=60, limits=limits) as client:
        if not args.unpaced:
            await asyncio.sleep(max(0.0, start_ms / 1000 - time.time()))
        began = time.time()
        print(f"start {began}", flush=True)
        stats = await post_all(client, bodies, args.inflight, not args.unpaced)
        ended = time.time()
    return {**stats, "generated": len(events), "began": began, "ended": ended,
            "offered_eps": round(len(events) / max(ended - began, 1e-9))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--shop", required=True)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--peak", type=float, required=True, help="events/s at the surge's peak")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--lead", type=float, default=1.0, help="seconds between generation and the start")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--unpaced", action="store_true")
    parser.add_argument("--steps", help="constant rates (events/s), comma-separated: a staircase instead of the surge")
    parser.add_argument("--step-s", type=float, default=5.0, help="seconds per step of --steps")
    args = parser.parse_args()
    uvloop.install()
    result = asyncio.run(main_async(args))
    print(orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()

"""End-to-end latency: from the ingest API's 202 to the WebSocket frame that shows the event's effect.

The stack runs as deployed here: one API process (uvicorn), two workers, Kafka, Redis, wall clock.
Load: bench.loadgen in its own process sends a Double-11 midnight surge of one shop through HTTP
ingest (the simulator's day, re-timed to the day's shape compressed 60×: the peak at the start,
decaying over ~12 s). Probe: this process sends, 10 times a second, one message of a dedicated probe buyer to a
dedicated probe agent of the same shop at random intervals (one event per request, same buyer so the same partition,
so the probes are applied in order); a WebSocket client on /api/v1/shops/{shop}/stream reads every
frame and the probe agent's buyer_messages. Probe k's latency = receive time of the first frame with
buyer_messages ≥ k − the time its 202 arrived (both on this process's monotonic clock).

The sustainable rate S is measured first (sustainable_rate: a saturation run for an upper bound, then a
staircase of constant paced rates; S = the highest rate at which the backlog stays under a second),
with everything on the same cores: load generator, API, workers, Kafka, Redis. The levels then put the
surge's peak at 25/50/80/100 % of S.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import time
from typing import Any

import httpx
import orjson
import websockets

from bench.common import INGEST_TOKEN, VIEWER_TOKEN, BenchStack, percentile, say

PROBE_AGENT = "probe-agent"
PROBES_PER_S = 10


async def lag(client: httpx.AsyncClient, shop: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/shops/{shop}/lag", headers={"Authorization": f"Bearer {VIEWER_TOKEN}"})
    response.raise_for_status()
    return response.json()


async def wait_processed(client: httpx.AsyncClient, shop: str, accepted: int, timeout: float) -> float | None:
    """Monotonic time at which the shop's processed count reached `accepted`, or None after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await lag(client, shop))["processed_events"] >= accepted:
                return time.monotonic()
        await asyncio.sleep(0.05)
    return None


def start_loadgen(stack: BenchStack, shop: str, peak: float, duration: float, *, unpaced: bool = False,
                  seed: int = 5, steps: list[int] | None = None, step_s: float = 5.0) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench.loadgen", "--url", stack.api_url, "--token", INGEST_TOKEN, "--shop", shop,
           "--peak", str(peak), "--duration", str(duration), "--seed", str(seed)]
    if unpaced:
        cmd += ["--unpaced"]
    if steps:
        cmd += ["--steps", ",".join(str(s) for s in steps), "--step-s", str(step_s)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def loadgen_started(proc: subprocess.Popen) -> float:
    line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
    if not line.startswith("start "):
        raise RuntimeError(f"load generator failed: {line}{proc.stderr.read() if proc.stderr else ''}")
    return float(line.split()[1])


async def loadgen_result(proc: subprocess.Popen) -> dict[str, Any]:
    out, err = await asyncio.to_thread(proc.communicate)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed ({proc.returncode}): {err[-2000:]}")
    return orjson.loads(lines[-1])


async def sustainable_rate(stack: BenchStack, duration: float, step_s: float) -> dict[str, Any]:
    """The highest constant rate the whole stack keeps up with through HTTP ingest.

    First a saturation run (unpaced 1,000-event requests for `duration` s) gives an upper bound U: the
    events accepted per second until all of them were processed; it overstates what can be sustained
    (a backlog makes the workers' batches large, hence cheap per event). Then a staircase of constant
    paced rates (30 %, 40 %, … 100 % of U, `step_s` seconds each) while the backlog (accepted − processed
    at /lag, every 0.25 s) is watched: S is the highest step at whose end the backlog stayed under one
    second's worth of events."""
    shop = f"e2e-max-{int(time.time())}"
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        proc = start_loadgen(stack, shop, peak=40_000, duration=duration, unpaced=True)
        await loadgen_started(proc)
        t0 = time.monotonic()
        result = await loadgen_result(proc)
        sent_s = time.monotonic() - t0
        done = await wait_processed(client, shop, result["accepted"], timeout=180)
        if done is None:
            last = await lag(client, shop)
            raise RuntimeError(f"saturation run: the workers did not catch up within 180 s: {last}")
        upper = result["accepted"] / (done - t0)
        say(f"  saturation: {result['accepted']:,} events accepted in {sent_s:.1f}s "
            f"({result['accepted'] / sent_s:,.0f}/s), all processed after {done - t0:.1f}s → U = {upper:,.0f}/s")
        steps = [round(upper * pct / 100) for pct in range(30, 101, 10)]
        shop = f"e2e-steps-{int(time.time())}"
        proc = start_loadgen(stack, shop, peak=0, duration=0, steps=steps, step_s=step_s)
        await loadgen_started(proc)
        t0 = time.monotonic()
        backlog: list[tuple[float, int]] = []
        while proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                current = await lag(client, shop)
                backlog.append((time.monotonic() - t0, current["accepted_events"] - current["processed_events"]))
            await asyncio.sleep(0.25)
        await loadgen_result(proc)
        await wait_processed(client, shop, (await lag(client, shop))["accepted_events"], timeout=180)
    sustained, ends = 0, []
    for i, rate in enumerate(steps):
        end = [b for t, b in backlog if (i + 1) * step_s - 0.75 <= t <= (i + 1) * step_s]
        worst = max(end, default=0)
        ends.append(worst)
        if worst > rate:  # more than a second behind
            break
        sustained = rate
    say(f"  staircase: backlog at the end of each step {list(zip(steps, ends, strict=False))} → S = {sustained:,}/s")
    return {"saturation_accepted": result["accepted"], "saturation_ingest_eps": round(result["accepted"] / sent_s),
            "upper_eps": round(upper), "steps": steps, "step_backlog": ends, "sustainable_eps": sustained}


class Watcher:
    """A WebSocket client of the shop's stream: the probe agent's buyer_messages per frame."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[tuple[float, int]] = []  # (receive time, probe count shown)
        self.frames = 0
        self.bytes = 0
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with websockets.connect(self.url, max_size=None, open_timeout=30) as ws:
            async for message in ws:
                now = time.monotonic()
                frame = orjson.loads(message)
                self.frames += 1
                self.bytes += len(message)
                self.ready.set()
                if frame.get("type") not in ("snapshot", "update"):
                    continue
                count = next((row.get("buyer_messages", 0) for row in frame.get("agents", [])
                              if row.get("agent_id") == PROBE_AGENT), 0)
                if not self.seen or count > self.seen[-1][1]:
                    self.seen.append((now, count))


async def probe_level(stack: BenchStack, label: str, peak: float, duration: float, seed: int) -> dict[str, Any]:
    shop = f"e2e-{label}-{int(time.time())}"
    ws_url = f"ws://127.0.0.1:{stack.api_port}/api/v1/shops/{shop}/stream?token={VIEWER_TOKEN}"
    watcher = Watcher(ws_url)
    watch_task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), 30)
    acked: list[float] = []  # 202 time of probe k (index k-1)
    failures = 0
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30) as client:
        proc = start_loadgen(stack, shop, peak=peak, duration=duration, seed=seed)
        await loadgen_started(proc)
        start = time.monotonic()
        k = 0
        while time.monotonic() - start < duration:
            k += 1
            event = {"event_id": f"probe-{k}", "shop_id": shop, "type": "chat.message",
                     "ts": int(time.time() * 1000), "buyer_id": "probe-buyer", "agent_id": PROBE_AGENT,
                     "sender": "buyer", "text": "probe"}
            response = await client.post("/api/v1/events", content=orjson.dumps([event]))
            if response.status_code == 202 and response.json()["accepted"] == 1:
                acked.append(time.monotonic())
            else:
                failures += 1
                acked.append(float("nan"))
            # Random spacing (mean 1/PROBES_PER_S): a fixed period would lock onto the export and frame cadences.
            await asyncio.sleep(random.uniform(0.5, 1.5) / PROBES_PER_S)
        load = await loadgen_result(proc)
        deadline = time.monotonic() + 15
        while (not watcher.seen or watcher.seen[-1][1] < len(acked)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        total_accepted = load["accepted"] + len(acked) - failures
        drained = await wait_processed(client, shop, total_accepted, timeout=120)
    watch_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await watch_task
    latencies = []
    seen = watcher.seen
    j = 0
    for index, acked_at in enumerate(acked, start=1):
        while j < len(seen) and seen[j][1] < index:
            j += 1
        if j < len(seen) and acked_at == acked_at:  # not NaN
            latencies.append((seen[j][0] - acked_at) * 1000)
    missing = len(acked) - failures - len(latencies)
    result = {
        "peak_eps": round(peak),
        "offered_eps_avg": load["offered_eps"],
        "accepted": load["accepted"],
        "load_failed": load["failed"],
        "sender_late_s_max": round(load["late_s_max"], 3),
        "probes": len(acked),
        "probes_failed": failures,
        "probes_never_seen": missing,
        "frames": watcher.frames,
        "frame_bytes_avg": round(watcher.bytes / max(watcher.frames, 1)),
        "p50_ms": _round(percentile(latencies, 50)),
        "p95_ms": _round(percentile(latencies, 95)),
        "p99_ms": _round(percentile(latencies, 99)),
        "max_ms": _round(max(latencies, default=None)),
        "backlog_drained": drained is not None,
    }
    say(f"  {label}: peak {peak:,.0f}/s (avg offered {load['offered_eps']:,}/s), {len(latencies)} probes: "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
        + (f", {missing} never seen" if missing else ""))
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

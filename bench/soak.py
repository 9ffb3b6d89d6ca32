"""Load soak: ingest at a steady rate for N minutes through the real stack; no error, bounded memory.

    .venv/bin/python -m bench.soak --minutes 10 --rate 15000 --workers 2

Starts its own stack (own ports and data dir; 2 workers), sends the simulated Double-11 day at a
constant rate through HTTP ingest (bench/steady.py), samples every 10 s the RSS of each process and
the shop's /lag, and writes bench/results/soak-<timestamp>.json. Exit status 1 when an ingest error
happened, the pipeline fell behind for good, or a process's memory kept growing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.stack import LocalStack

RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb(pid: int | None) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, TypeError):
        pass
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=int, default=1500, help="events/s offered through HTTP ingest")
    parser.add_argument("--workers", type=int, default=2, help="Faust workers (the partitions are shared)")
    parser.add_argument("--active-window-s", type=int, default=120,
                        help="the shop's active_window_s: buyers inside it keep live facts in memory, so the "
                             "worker's memory levels off once a window of traffic is in (default 120)")
    args = parser.parse_args()
    shop = "soak-shop"
    stack = LocalStack(clock="wall", partitions=8, workers=args.workers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack (finally) when killed
    print("soak: starting a stack …", file=sys.stderr)
    stack.start()
    samples = []
    try:
        httpx.put(f"{stack.api_url}/api/v1/shops/{shop}/settings", json={"active_window_s": args.active_window_s},
                  headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=10).raise_for_status()
        simulator = subprocess.Popen(
            [sys.executable, "-m", "bench.steady", "--url", stack.api_url, "--token", stack.ingest_token,
             "--shop", shop, "--rate", str(args.rate), "--duration", str(args.minutes * 60)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        http = httpx.Client(base_url=stack.api_url, timeout=10,
                            headers={"Authorization": f"Bearer {stack.viewer_token}"})
        started = time.monotonic()
        while simulator.poll() is None:
            time.sleep(10)
            lag = http.get(f"/api/v1/shops/{shop}/lag").json()
            sample = {"t_s": round(time.monotonic() - started), **{k: lag[k] for k in (
                "accepted_events", "processed_events", "pending_events")}}
            for name in (*[f"worker-{i + 1}" for i in range(args.workers)], "api-1", "kafka", "redis"):
                sample[f"rss_mb_{name}"] = rss_mb(stack.pid(name))
            samples.append(sample)
            print(f"soak: {sample}", file=sys.stderr)
        errors = simulator.stderr.read() if simulator.stderr else ""
        sent = (simulator.stdout.read() if simulator.stdout else "").strip().splitlines()[-1:]
        deadline = time.monotonic() + 120
        while http.get(f"/api/v1/shops/{shop}/lag").json()["pending_events"] and time.monotonic() < deadline:
            time.sleep(1)
        final = http.get(f"/api/v1/shops/{shop}/lag").json()
    finally:
        stack.stop()
    # Memory is bounded when the last third of the run grows less than 10 % over the middle third.
    growth = {}
    third = max(1, len(samples) // 3)
    for key in [k for k in samples[0] if k.startswith("rss_mb_")] if samples else []:
        middle = [s[key] for s in samples[third:2 * third] if s[key]]
        last = [s[key] for s in samples[2 * third:] if s[key]]
        if middle and last:
            growth[key] = round(max(last) / max(middle) - 1, 3)
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "minutes": args.minutes, "offered_rate_eps": args.rate, "workers": args.workers,
        "active_window_s": args.active_window_s, "final_lag": final,
        "simulator_exit": simulator.returncode, "simulator_stderr": errors[-2000:],
        "load": json.loads(sent[0]) if sent else None,
        "rss_growth_last_vs_middle_third": growth, "samples": samples,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"soak-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    # Judged: our processes. Kafka (its log, 7 days) and Redis (per-minute series, 25 h) hold what they
    # are told to retain: reported, not judged.
    judged = {k: g for k, g in growth.items() if k.startswith(("rss_mb_worker", "rss_mb_api"))}
    ok = simulator.returncode == 0 and final["pending_events"] == 0 and all(g < 0.10 for g in judged.values())
    print(f"soak: {'OK' if ok else 'FAILED'}: {final}, RSS growth {growth}; {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

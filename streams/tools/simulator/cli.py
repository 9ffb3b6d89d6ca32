"""`python -m streams.tools.simulator` / `kefu-pulse simulate`: options, pacing, progress, Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from streams.core.events import SHOP_ID_RE
from streams.tools.simulator.demo import configured_shops, parse_shops
from streams.tools.simulator.demo import main as demo_main
from streams.tools.simulator.model import (
    DAY,
    SHANGHAI,
    ShopSet,
    ShopSimulator,
    day_bounds,
    day_simulator,
    demo_simulator,
    live_simulator,
)
from streams.tools.simulator.sinks import FileSink, HttpSink, KafkaSink, Sink, SinkError

FLUSH_S = 0.2  # a partial batch waits at most this long (live mode)
LIVE_DEFAULT_RATE = 10.0
BACKFILL_BATCH = 5000  # demo mode: events per request while sending the past (ingest takes ≤ 10,000)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1: {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def _day(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD: {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text}: {exc}") from None


def _shop(text: str) -> str:
    if not SHOP_ID_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"shop id must match [A-Za-z0-9_.-]{{1,64}}: {text!r}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options (shared by `python -m streams.tools.simulator` and `kefu-pulse simulate`)."""
    g = parser.add_argument_group("shop model")
    g.add_argument("--shop", type=_shop, default="demo-shop", help="shop_id (default: demo-shop)")
    g.add_argument("--agents", type=_positive_int, default=12,
                   help="human agents, ≈70%% presale (default: 12)")
    g.add_argument("--seed", type=int, default=1,
                   help="random seed: same seed + start → same events (default: 1)")
    g = parser.add_argument_group("time")
    g.add_argument("--mode", choices=("live", "day", "demo"), default="live",
                   help="live: wall-clock timestamps, paced in real time (default); "
                        "day: a whole simulated shop day (a Double-11 day: after 3 days of presale deposits), "
                        "as fast as the sink takes it; "
                        "demo (`make run`): several shops, today a Double-11 day — yesterday and today so far "
                        "sent at once (back-fill), then live")
    g.add_argument("--shops", help="demo mode: shop=agents,… (default: $KEFU_DEMO_SHOPS or the demo's four "
                                   "shops); shop i uses seed --seed + i")
    g.add_argument("--day", type=_day,
                   help="day mode: the shop day YYYY-MM-DD, Asia/Shanghai (default: today)")
    g.add_argument("--rate", type=_positive_float,
                   help=f"target events/s: live default {LIVE_DEFAULT_RATE:g}; day and demo modes: mean events/s "
                        "of the (big) day per shop (default ≈10,000 events per agent per day: sized to the team)")
    g.add_argument("--surge", action=argparse.BooleanOptionalAction, default=True,
                   help="live mode: midnight-like surge during the first 60 s (default: on)")
    g.add_argument("--surge-peak", type=_positive_float, default=10.0,
                   help="rate multiplier at the start of the surge (default: 10)")
    g.add_argument("--events", type=_positive_int, help="stop after this many events")
    g.add_argument("--duration", type=_positive_float,
                   help="stop after this many seconds (default: until Ctrl-C)")
    g = parser.add_argument_group("sink")
    g.add_argument("--sink", choices=("http", "kafka", "file"), default="http",
                   help="where to send (default: http)")
    g.add_argument("--url", default="http://127.0.0.1:8000", help="http: API base URL (default: %(default)s)")
    g.add_argument("--token", help="http: ingest token (default: $KEFU_INGEST_TOKEN)")
    g.add_argument("--batch", type=_positive_int, default=200, help="events per request/flush (default: 200)")
    g.add_argument("--max-retry-s", type=_positive_float, default=60.0,
                   help="give up when the sink stays unavailable this long (default: 60)")
    g.add_argument("--bootstrap", help="kafka: bootstrap servers (default: from KEFU_* config)")
    g.add_argument("--partitions", type=_positive_int,
                   help="kafka: partitions per topic (default: KEFU_PARTITIONS)")
    g.add_argument("--out", help="file: NDJSON output path, '-' for stdout")
    g.add_argument("--quiet", action="store_true", help="no progress line (the summary is still printed)")
    g.add_argument("--print-demo-settings", action="store_true",
                   help="print `shop<TAB>settings JSON` for each demo shop (--shops, --seed) and exit")


class Progress:
    """One status line on stderr, refreshed every second (in place on a terminal)."""

    def __init__(self, *, enabled: bool, show_sim_clock: bool) -> None:
        self.enabled = enabled
        self.show_sim_clock = show_sim_clock
        self.started = time.monotonic()
        self.sent = 0
        self.sink: Sink | None = None  # its retry count is shown live
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self.types: Counter[str] = Counter()
        self._tty = sys.stderr.isatty()
        self._mark = (self.started, 0)

    def add(self, batch: list[dict[str, Any]]) -> None:
        self.sent += len(batch)
        if self.first_ts is None:
            self.first_ts = batch[0]["ts"]
        self.last_ts = batch[-1]["ts"]
        self.types.update(e["type"] for e in batch)

    def line(self) -> str:
        now = time.monotonic()
        then, sent_then = self._mark
        rate = (self.sent - sent_then) / max(now - then, 1e-9)
        self._mark = (now, self.sent)
        text = f"[{now - self.started:5.0f}s] sent {self.sent:,} events ({rate:,.0f}/s)"
        text += f" retries {self.retries}"
        if self.show_sim_clock and self.last_ts is not None:
            text += f" sim {_clock(self.last_ts)}"
        return text

    async def run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.enabled:
                self._write(self.line())

    @property
    def retries(self) -> int:
        return self.sink.retries if self.sink is not None else 0

    def clear(self) -> None:
        """Before another message: take the in-place progress line off the terminal."""
        if self._tty and self.enabled:
            sys.stderr.write("\r\x1b[K")

    def _write(self, text: str) -> None:
        sys.stderr.write(f"\r{text}\x1b[K" if self._tty else text + "\n")
        sys.stderr.flush()

    def summary(self, sim: ShopSimulator | ShopSet, note: str = "") -> None:
        elapsed = time.monotonic() - self.started
        rate = self.sent / max(elapsed, 1e-9)
        text = (f"done: sent {self.sent:,} events in {elapsed:.1f}s ({rate:,.0f}/s), "
                f"retries {self.retries}, {sim.buyers:,} buyers, {sim.orders:,} orders")
        if self.first_ts is not None and self.last_ts is not None:
            day = datetime.fromtimestamp(self.first_ts / 1000, SHANGHAI).date()
            text += f"; event time {day} {_clock(self.first_ts)} → {_clock(self.last_ts)} Asia/Shanghai"
        if self.types:
            text += " | " + " ".join(f"{k}={v:,}" for k, v in sorted(self.types.items()))
        if note:
            text += f" ({note})"
        self.clear()
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, SHANGHAI).strftime("%H:%M:%S")


def _check(args: argparse.Namespace) -> str | None:
    if args.mode != "day" and args.day is not None:
        return "--day only applies to --mode day"
    if args.shops is not None and args.mode != "demo":
        return "--shops only applies to --mode demo"
    if args.mode == "demo":
        try:
            parse_shops(args.shops or configured_shops())
        except ValueError as exc:
            return f"--shops: {exc}"
    if args.sink == "file" and not args.out:
        return "--sink file needs --out FILE (or --out - for stdout)"
    if args.out and args.sink != "file":
        return "--out only applies to --sink file"
    if args.mode == "day" and args.day is not None:
        start, end = day_bounds(args.day)
        if end - 1 > time.time() * 1000 + DAY:
            return f"--day {args.day} is too far ahead: events may be at most 1 day in the future"
        if start < 946_684_800_000:
            return "--day must be 2000-01-01 or later"
    return None


def _build_sim(args: argparse.Namespace) -> ShopSimulator | ShopSet:
    if args.mode == "demo":  # --rate: the big day's mean events/s per shop (default: sized to each team)
        now = int(time.time() * 1000)
        return ShopSet([demo_simulator(shop_id=shop, agents=agents, seed=args.seed + i, now_ms=now, rate=args.rate)
                        for i, (shop, agents) in enumerate(parse_shops(args.shops or configured_shops()))])
    if args.mode == "day":
        day = args.day or datetime.now(SHANGHAI).date()
        return day_simulator(shop_id=args.shop, agents=args.agents, seed=args.seed, day=day, rate=args.rate)
    return live_simulator(
        shop_id=args.shop, agents=args.agents, seed=args.seed, start_ms=int(time.time() * 1000),
        rate=args.rate or LIVE_DEFAULT_RATE, surge_peak=args.surge_peak if args.surge else None,
    )


def _build_sink(args: argparse.Namespace) -> Sink:
    if args.sink == "file":
        return FileSink(args.out)
    if args.sink == "http":
        token = args.token or os.environ.get("KEFU_INGEST_TOKEN", "")
        if not token:
            raise SinkError("no ingest token: pass --token or set KEFU_INGEST_TOKEN")
        return HttpSink(args.url, token, args.max_retry_s)
    bootstrap, partitions = args.bootstrap, args.partitions
    if not bootstrap or not partitions:
        from streams.config import get_config

        try:
            config = get_config()
        except Exception as exc:  # pydantic's ValidationError: a bad KEFU_* variable
            raise SinkError(f"bad KEFU_* configuration: {exc}") from None
        bootstrap, partitions = bootstrap or config.bootstrap_servers, partitions or config.partitions
    return KafkaSink(bootstrap, partitions)


async def _pump(events: Iterator[dict[str, Any]], sink: Sink, args: argparse.Namespace, progress: Progress,
                stop: asyncio.Event, *, live: bool) -> None:
    """Moves events to the sink in batches; in live mode each event waits for its own timestamp."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.duration if args.duration else None
    batch: list[dict[str, Any]] = []
    last_flush = loop.time()

    async def flush() -> None:
        nonlocal batch, last_flush
        if batch:
            out, batch = batch, []
            await sink.send(out)
            progress.add(out)
        last_flush = loop.time()
        await asyncio.sleep(0)  # let the progress line and signal handlers run between batches

    backfill = live and args.mode == "demo"  # the past goes at once, in large batches
    for generated, event in enumerate(events, 1):
        if backfill and event["ts"] / 1000 > time.time():
            await flush()
            backfill = False
            progress.clear()
            print(f"back-fill done: {progress.sent:,} events up to now in {time.monotonic() - progress.started:.0f} s;"
                  " live from here", file=sys.stderr)
        if live:
            while (delay := event["ts"] / 1000 - time.time()) > 0:
                if batch and loop.time() - last_flush >= FLUSH_S:
                    await flush()
                wait = min(delay, last_flush + FLUSH_S - loop.time()) if batch else delay
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(wait, 0.001))
                if stop.is_set() or (deadline is not None and loop.time() >= deadline):
                    await flush()
                    return
        batch.append(event)
        if len(batch) >= (max(args.batch, BACKFILL_BATCH) if backfill else args.batch) or (
                not backfill and loop.time() - last_flush >= FLUSH_S):
            await flush()
        if stop.is_set() or (args.events and generated >= args.events) or (
                deadline is not None and loop.time() >= deadline):
            break
    await flush()


async def run(args: argparse.Namespace) -> int:
    """Runs the simulator; returns the exit code (0 ok or Ctrl-C, 1 events rejected, 2 sink unavailable)."""
    if args.print_demo_settings:
        return demo_main(["settings", "--seed", str(args.seed)] + (["--shops", args.shops] if args.shops else []))
    problem = _check(args)
    if problem:
        print(f"simulate: error: {problem}", file=sys.stderr)
        return 2
    sim = _build_sim(args)
    progress = Progress(enabled=not args.quiet, show_sim_clock=args.mode != "live")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main_task = asyncio.current_task()
    aborted = False

    def on_signal() -> None:  # first Ctrl-C: finish cleanly; second: abandon what is unsent
        nonlocal aborted
        if stop.is_set() and main_task is not None:
            aborted = True
            main_task.cancel()
        elif not stop.is_set():
            progress.clear()
            print("stopping: sending what is pending (Ctrl-C again to abandon it)", file=sys.stderr)
        stop.set()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    ticker = asyncio.create_task(progress.run())
    sink: Sink | None = None
    code, note, started = 0, "", False
    try:
        sink = progress.sink = _build_sink(args)
        await sink.start()
        started = True
        await _pump(sim.events(), sink, args, progress, stop, live=args.mode in ("live", "demo"))
        note = "stopped by signal" if stop.is_set() else ""
    except SinkError as exc:
        code = exc.exit_code
        if str(exc):
            progress.clear()
            print(f"simulate: error: {exc}", file=sys.stderr)
    except asyncio.CancelledError:
        if not aborted or main_task is None:
            raise  # cancelled by whoever embeds us, not by a second Ctrl-C
        main_task.uncancel()
        code, note = 130, "aborted: the pending batch was not sent"
    finally:
        ticker.cancel()
        if sink is not None:
            with contextlib.suppress(SinkError, OSError):
                await sink.close()
        for sig in installed:
            loop.remove_signal_handler(sig)
    if started:
        progress.summary(sim, note)
    return code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m streams.tools.simulator",
        description="Kefu Pulse shop simulator: a deterministic Double-11 customer-service day as events.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    sys.exit(asyncio.run(run(args)))

"""`python -m streams.worker`: one Faust worker process (no web server, quiet logs).

Faust opens a web server on 0.0.0.0:6066 unless told not to; we never want it (metrics are in Redis
and on the API), so the worker always runs with --without-web.

uvloop is installed as the event loop policy *before* the app module is imported: declaring the app,
its agents and tables creates (and mode caches) the event loop, so `--loop uvloop` on the command
line alone comes too late and the worker would run on the pure-Python asyncio loop.

Faust's worker also installs a terminal spinner that sets the root logger to DEBUG (the spinner
"spins" on every record): every aiokafka/faust debug call then builds a LogRecord, a few % of the
worker's time. QuietWorker keeps the root logger at the level asked for (-l).

The cyclic garbage collector is tuned (tune_gc): the worker keeps many long-lived containers (buyer
records, derivations, agent tables), and with Python's default thresholds full collections traverse
all of them again and again — measured here at ~30 % of the processing time at 200,000 events.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys

import uvloop

GC_THRESHOLDS = (50_000, 20, 100)  # Python's defaults: (700, 10, 10)


def tune_gc() -> None:
    """Collect young objects every 50,000 allocations instead of 700, older generations rarely; the
    state is freed by reference counting (the records and derivations form no cycles), so this only
    delays the freeing of cyclic garbage (futures, tasks, tracebacks)."""
    gc.collect()
    gc.freeze()  # what start-up loaded (modules, the app) is never garbage: leave it out of every pass
    gc.set_threshold(*GC_THRESHOLDS)


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import faust.worker

    from streams.worker.app import app

    class QuietWorker(faust.worker.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            self.spinner = None  # no spinner handler, root logger stays at `level`

    app.conf.Worker = QuietWorker
    tune_gc()

    level = os.environ.get("KEFU_LOG_LEVEL", "warn")
    sys.argv = [sys.argv[0], "--loop", "uvloop", "worker", "--without-web", "-l", level]
    app.main()


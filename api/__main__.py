"""`python -m api --port N`: one API replica on 127.0.0.1 (uvicorn + uvloop)."""

from __future__ import annotations

import argparse
import gc

import uvicorn

GC_THRESHOLDS = (50_000, 20, 100)  # Python's defaults: (700, 10, 10)


def tune_gc() -> None:
    """Collect young objects every 50,000 allocations instead of 700, older generations rarely, and
    leave what start-up loaded (modules, the app) out of every pass. A frame's rows and the hub's
    per-shop memo live from one frame to the next, so with the defaults each frame pushed thousands of
    objects into the older generations and made full passes frequent (docs/performance-journal.md,
    "Frame builds from what changed"); most objects are freed by reference counting anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one Kefu Pulse API replica")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    import api.main  # noqa: F401  (loaded before tune_gc freezes it; uvicorn then finds it loaded)

    tune_gc()
    uvicorn.run(
        "api.main:app",
        host=args.host,
        port=args.port,
        loop="uvloop",
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        # No permessage-deflate: compressing each ~30 KB frame once per client (zlib, per connection)
        # was ~75 % of the API's CPU with 1,000 screens and pushed delivery p99 past 250 ms on 2 cores
        # (docs/performance-journal.md). Frames cost ~60 KB/s per screen uncompressed instead.
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()

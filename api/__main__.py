"""`python -m api --port N`: one API replica on 127.0.0.1 (uvicorn + uvloop)."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one Kefu Pulse API replica")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
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
        # (docs/performance.md). Frames cost ~60 KB/s per screen uncompressed instead.
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()

"""`python -m streams.worker`: one Faust worker process (no web server, quiet logs).

Faust opens a web server on 0.0.0.0:6066 unless told not to; we never want it (metrics are in Redis
and on the API), so the worker always runs with --without-web.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    from streams.app import app

    level = os.environ.get("KEFU_LOG_LEVEL", "warn")
    sys.argv = [sys.argv[0], "--loop", "uvloop", "worker", "--without-web", "-l", level]
    app.main()


if __name__ == "__main__":
    main()

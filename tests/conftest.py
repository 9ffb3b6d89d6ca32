from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.stack import LocalStack


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """A running stack for the whole session, started on first use only (pure unit tests need none).

    Its own data dir and free ports (see tests/stack.py); KEFU_TEST_STACK_URL reuses a running stack.
    KEFU_TEST_WORKERS / KEFU_TEST_API_REPLICAS change the numbers of workers / API replicas (default 1).
    """
    s = LocalStack(
        workers=int(os.environ.get("KEFU_TEST_WORKERS", "1")),
        api_replicas=int(os.environ.get("KEFU_TEST_API_REPLICAS", "1")),
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()

"""Shared by the browser tests: Playwright and one headless Chromium per test module.

Missing Playwright or Chromium skips on a developer's machine and fails under CI=true (tests/required.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_helpers import CHROMIUM_ARGS, chromium_path, sync_api
from tests.client import Api
from tests.required import missing


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        missing("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack)

"""The wall ages between events (issue 18), in headless Chromium against a real stack on the wall clock.

One buyer message to 小李, then no event at all: the wall's 最长等待 grows second by second (at least
once a second, by about the time passed), the 3-minute rate turns from — to 0.0 % when the buyer's
first-response clock runs out (sla_s = 6 here), and the ticker shows the buyer_waiting alert the
clock alone fired. A screenshot is kept as tests/artifacts/wall-ageing.png.

Own stack with KEFU_CLOCK=wall (the session stack of conftest.py runs on event time, where "now"
moves only with events and nothing may age); with KEFU_TEST_STACK_URL that stack must run on wall time.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest

from tests.browser_helpers import Events, PageProblems, screenshot, sync_api
from tests.client import Api
from tests.stack import LocalStack

pytestmark = [pytest.mark.browser, pytest.mark.integration]


expect = sync_api.expect

LI = "小李"
SLA_S = 6
ALERT_AFTER_S = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = LocalStack(clock="wall")
    s.start()
    try:
        yield s
    finally:
        s.stop()


def shown_seconds(text: str) -> float:
    """"12.3 秒" (the wall's format below one minute) → 12.3."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?) 秒", text.strip())
    assert match, f"not a wait in seconds: {text!r}"
    return float(match.group(1))


def test_wall_ages_a_waiting_buyer_without_events(browser, stack: LocalStack) -> None:
    api = Api(stack)
    shop = f"ageing-{uuid.uuid4().hex[:10]}"
    api.put_settings(shop, {"sla_s": SLA_S, "groups": {LI: "aftersale"}})
    rules = {"rules": [{"id": "wait-3", "kind": "buyer_waiting", "threshold": ALERT_AFTER_S, "scope": "agent",
                        "severity": "warning"}]}
    response = api.http.put(f"/api/v1/shops/{shop}/alert-rules", content=orjson.dumps(rules),
                            headers={"Authorization": f"Bearer {stack.admin_token}",
                                     "Content-Type": "application/json"})
    assert response.status_code == 200, response.text

    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    problems = PageProblems(page)
    try:
        page.goto(f"{stack.api_url}/wall?shop={shop}&token={stack.viewer_token}")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        expect(page.locator("#kpi-sla-rate")).to_have_text("—")

        ev = Events(shop, int(time.time() * 1000))
        response = api.ingest([ev.status(0, LI, "online"), ev.buyer(0, "b1", LI)])
        assert response.status_code == 202 and not response.json()["rejected"], response.text
        api.wait_processed(shop)
        longest = page.locator("#kpi-longest-wait")
        expect(page.locator("#kpi-waiting")).to_have_text("1", timeout=5_000)
        expect(page.locator("#sub-longest-wait")).to_have_text(LI)

        # No event from here on. Sample the tile four times a second for three seconds.
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        while time.monotonic() - start < 3.0:
            samples.append((time.monotonic(), shown_seconds(longest.text_content() or "")))
            page.wait_for_timeout(250)
        values = [v for _, v in samples]
        assert values == sorted(values), values  # never goes back
        assert values[-1] - values[0] >= 2.0, values  # grew with the time passed (~3 s)
        assert len(set(values)) >= 3, values  # at least once a second, not one jump

        # The first-response clock runs out at SLA_S: sla_buyers 1, met 0 → 0.0 %, without an event.
        expect(page.locator("#kpi-sla-rate")).to_have_text("0.0%", timeout=(SLA_S + 3) * 1000)
        expect(page.locator("#sub-sla")).to_contain_text("1")
        # The alert the clock fired (the buyer waits > ALERT_AFTER_S) is on the ticker, still firing.
        expect(page.locator("#ticker")).to_contain_text(f"{LI} · 买家等待过久", timeout=10_000)
        expect(page.locator(".ticker")).to_have_class(re.compile(r"\bhas-firing\b"))
        assert shown_seconds(longest.text_content() or "") >= SLA_S
        # …and its wait ages there too (the alert was sent once, at ALERT_AFTER_S; the ticker ages it
        # from the frames' "now" like 最长等待).
        alert_text = page.locator("#ticker .alert-item.firing .a-text").first

        def ticker_wait() -> float:
            match = re.search(r"买家等待过久 (\d+(?:\.\d+)?) 秒", alert_text.text_content() or "")
            assert match, alert_text.text_content()
            return float(match.group(1))

        first = ticker_wait()
        time.sleep(2.5)
        assert ticker_wait() >= first + 1.5
        screenshot(page, "wall-ageing")
        problems.assert_none()
    finally:
        context.close()

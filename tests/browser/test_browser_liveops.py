"""Live operations on the screens (issue 15, "Screens"), headless Chromium against the real local stack.

Hand-worked events, day D (Asia/Shanghai), t0 = 10:00; the shop serves one buyer per agent at a time
(`max_concurrent` 1) so the presale group is visibly short of agents:
  小王 (presale) online at 0 s, 小张 (presale) away (挂起) at 60 s, 小李 (aftersale) online at 0 s;
  c1, c2, c3 write to 小王 at 100, 200, 300 s (presale arrivals; none answered);
  q1, q2 ask for a human (chat.queued) at 400 and 500 s and wait in the queue;
  小李 busy at 600 s → "now" (the watermark) = 600 s.
At 600 s: queued_now 2, longest queue wait 200 s (3 分 20 秒); 小张 away for 540 s → "挂起 9 分钟" in red
(≥ 5 min); presale: 1 agent online × concurrency 1 against a load of 1 Erlang → the now-cast says it
needs more agents; aftersale: no arrivals → 100 % and enough agents.
Then 小李 online at 900 s: "now" = 900 s and 小张's time in status reads "挂起 14 分钟" (it ages with "now").

The wall shows the queue tile, the time in status and the staffing line at 1920×1080 and 3840×2160
without scrollbars or clipped text (screenshots in tests/artifacts/); the console shows the agent-time
columns (sortable) and the queue figures in the team tiles.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.browser_helpers import (
    WALL_SIZES,
    Events,
    assert_fits,
    ingest,
    new_page,
    page_url,
    screenshot,
    sync_api,
    today_at,
)
from tests.client import Api

pytestmark = [pytest.mark.browser, pytest.mark.integration]

expect = sync_api.expect
WANG, ZHANG, LI = "小王", "小张", "小李"
FRESH = {"timeout": 5_000}

STAFFING_CLIPPED_JS = """() => [...document.querySelectorAll('#staffing, #staffing-line, .staff-group')]
  .filter(el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 2)
  .map(el => el.id || el.className)"""


def expected_staffing(group_zh: str, nowcast: dict[str, Any]) -> str:
    """The line the wall must show for a group's now-cast (liveops.js staffingLine, zh)."""
    rate = int(nowcast["predicted_sla_rate"] * 100 + 0.5)
    needed = nowcast["agents_needed"]
    return f"{group_zh}: 预计3分钟响应率 {rate} % · " + (f"需增派 {needed} 人" if needed > 0 else "人手充足")


def test_wall_and_console_show_queue_agent_time_and_staffing(browser, stack, api: Api) -> None:
    shop = f"ops-{uuid.uuid4().hex[:10]}"
    api.put_settings(shop, {"groups": {WANG: "presale", ZHANG: "presale", LI: "aftersale"}, "max_concurrent": 1})
    ev = Events(shop, today_at(10))
    ingest(api, shop, [
        ev.status(0, WANG, "online"),
        ev.status(0, LI, "online"),
        ev.status(60, ZHANG, "away"),
        ev.buyer(100, "c1", WANG),
        ev.buyer(200, "c2", WANG),
        ev.buyer(300, "c3", WANG),
        ev.queued(400, "q1"),
        ev.queued(500, "q2"),
        ev.status(600, LI, "busy"),
    ])
    live = api.get(shop, "live")
    assert (live["team"]["queued_now"], live["team"]["longest_queue_wait_s"]) == (2, 200), live["team"]
    presale, aftersale = live["groups"]["presale"], live["groups"]["aftersale"]
    assert presale["agents_online"] == 1 and presale["agents_needed"] > 0, presale
    assert aftersale["agents_needed"] == 0, aftersale

    wall_ctx, wall, wall_problems = new_page(browser)
    console_ctx, console, console_problems = new_page(browser)
    try:
        wall.goto(page_url(stack, "wall", shop))
        console.goto(page_url(stack, "console", shop))
        for page in (wall, console):
            expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)

        # queue tile beside 当前接待
        expect(wall.locator("#tile-queue .kpi-label")).to_have_text("排队中")
        expect(wall.locator("#kpi-queued")).to_have_text("2", **FRESH)
        expect(wall.locator("#sub-queue")).to_have_text("最长排队 3 分 20 秒", **FRESH)
        expect(wall.locator("#tile-queue")).to_have_attribute("data-level", "bad", **FRESH)  # > 120 s
        tiles = wall.locator(".kpis > .kpi").evaluate_all("els => els.map(e => e.id)")
        assert tiles.index("tile-queue") == tiles.index("tile-active") + 1, tiles

        # agent board: status and time in status, away long in red
        zhang = wall.locator("#board-load .board-row", has_text=ZHANG).locator(".status")
        expect(zhang).to_have_text("挂起 9 分钟", **FRESH)
        expect(zhang).to_have_class("status s-away lvl-bad")
        expect(wall.locator("#board-load .board-row", has_text=WANG).locator(".status")).to_have_text("在线 10 分钟")
        expect(wall.locator("#board-load .board-row", has_text=LI).locator(".status")).to_have_text("忙碌 0 秒")

        # staffing line per group, red where agents are needed
        expect(wall.locator('.staff-group[data-group="presale"]')).to_have_text(
            expected_staffing("售前", presale), **FRESH)
        expect(wall.locator('.staff-group[data-group="presale"]')).to_have_class("staff-group bad")
        expect(wall.locator('.staff-group[data-group="aftersale"]')).to_have_text(
            "售后: 预计3分钟响应率 100 % · 人手充足")

        # console: team tiles with the queue figures; agent-time columns, sortable
        expect(console.locator("#sum-queued-now")).to_have_text("2", **FRESH)
        expect(console.locator("#sum-longest-queue-wait-s")).to_have_text("3 分 20 秒", **FRESH)
        expect(console.locator("#sum-to-human-buyers")).to_have_text("2", **FRESH)
        expect(console.locator("#sum-queue-abandoned-buyers")).to_have_text("0", **FRESH)
        away = console.locator(f'#table-body tr[data-agent="{ZHANG}"] td[data-key="away_s"]')
        expect(away).to_have_text("9 分 0 秒", **FRESH)
        console.click('#table-head th[data-key="away_s"]')
        expect(console.locator('#table-head th[data-key="away_s"]')).to_have_attribute("aria-sort", "descending")
        expect(console.locator("#table-body tr[data-agent]").first).to_have_attribute("data-agent", ZHANG)
        for key in ("online_s", "busy_s", "first_online_ts", "last_offline_ts", "after_hours_buyers",
                    "status_since_ts"):
            expect(console.locator(f'#table-head th[data-key="{key}"]')).to_have_count(1)

        screenshot(wall, "wall-liveops-short-staffed-1920x1080")

        # the time in status ages with "now" (the next frame), not with the browser's clock
        ingest(api, shop, [ev.status(900, LI, "online")])
        expect(zhang).to_have_text("挂起 14 分钟", **FRESH)
        expect(wall.locator("#board-load .board-row", has_text=LI).locator(".status")).to_have_text("在线 0 秒")

        for width, height in WALL_SIZES:
            wall.set_viewport_size({"width": width, "height": height})
            time.sleep(0.8)  # charts and fitted text follow the resize
            assert_fits(wall, f"the wall at {width}x{height}")
            assert wall.evaluate(STAFFING_CLIPPED_JS) == [], f"staffing line clipped at {width}x{height}"
            for locator in (wall.locator("#tile-queue"), zhang, wall.locator("#staffing-line")):
                expect(locator).to_be_in_viewport()
            screenshot(wall, f"wall-liveops-{width}x{height}")
        wall.goto(page_url(stack, "wall", shop) + "&lang=en")
        expect(wall.locator("#tile-queue .kpi-label")).to_have_text("Queued now", **FRESH)
        expect(zhang).to_have_text("Away 14 min", **FRESH)
        expect(wall.locator('.staff-group[data-group="aftersale"]')).to_have_text(
            "After-sale: predicted 3-min response rate 100 % · enough agents", **FRESH)
        assert_fits(wall, "the English wall at 3840x2160")
        screenshot(wall, "wall-liveops-en-3840x2160")
        wall.set_viewport_size({"width": 1920, "height": 1080})
        time.sleep(0.8)
        assert_fits(wall, "the English wall at 1920x1080")
        screenshot(wall, "wall-liveops-en-1920x1080")
        console.set_viewport_size({"width": 1920, "height": 1080})
        screenshot(console, "console-liveops-1920x1080")
        wall_problems.assert_none()
        console_problems.assert_none()
    finally:
        wall_ctx.close()
        console_ctx.close()

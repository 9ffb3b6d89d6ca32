"""The war room on the screens (issue 17): targets and pace, same time yesterday, console periods and KPI
scores, headless Chromium against the real local stack (event clock: "now" is the shop's latest event).

Hand-worked events (Asia/Shanghai), targets sales ¥1,000, 询单转化率 50 %, 3分钟人工响应率 90 %:
  yesterday 09:59  y1 asks 小王, answered 5 s later, pays ¥100   (the worker samples the curve at 09:59)
  yesterday 15:00  y2 the same, pays ¥300                       (yesterday ends at ¥400)
  today     10:00  t1 the same, pays ¥150                       ("now" = 10:00:20)
Expected on the wall: 客服销售额 ¥150.00 ▲ 50.0% against ¥100 at 10:00 yesterday; pace from yesterday's
curve (no curve last week): ¥100 of ¥400 by 10:00 → due 25 % of ¥1,000 = ¥250.00, 15 % done → 落后 (red);
询单转化率 100 % (1 of 1) against its reference shape (100 % at 10:00 and at the end) → due 50 % → 领先;
3分钟 100 % → due 90 % → 领先; 平均响应时长 5 s both days → — 0.0 %.
Console, range yesterday–today: 小王 ¥550.00 (the days summed), a KPI score and its formula; CSV with the
score; a 93-day range refused with the reason. Everything fits at 1920×1080 and 3840×2160, 中文 and English.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser_helpers import (
    SHANGHAI,
    WALL_SIZES,
    Events,
    assert_fits,
    assert_live,
    ingest,
    new_page,
    page_url,
    screenshot,
    sync_api,
)
from tests.client import Api

pytestmark = [pytest.mark.browser, pytest.mark.integration]

expect = sync_api.expect
WANG = "小王"
FRESH = {"timeout": 15_000}
TARGETS = {"sales": 1000, "inquiry_pay_rate": 0.5, "sla_rate": 0.9}


# A headline tile whose lines are taller than the tile (the extra ▲ / ▼ and pace lines must fit its
# 12rem row), or that reaches into the staffing line below the tiles.
TILES_OVERFLOW = """() => {
  const below = document.querySelector('.staffing').getBoundingClientRect().top;
  return [...document.querySelectorAll('.kpi:not([hidden])')]
    .filter(t => t.scrollHeight > t.clientHeight + 1 || t.getBoundingClientRect().bottom > below)
    .map(t => t.id || t.className);
}"""


def _at(day: datetime, hour: int, minute: int) -> int:
    return int(day.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp() * 1000)


def _sale(ev: Events, buyer: str, amount: float) -> list[dict[str, Any]]:
    return [ev.buyer(0, buyer, WANG), ev.reply(5, buyer, WANG), ev.created(10, buyer, f"o-{buyer}", amount),
            ev.paid(20, buyer, f"o-{buyer}", amount)]


@pytest.fixture(scope="module")
def shop(api: Api) -> dict[str, str]:
    shop = f"war-{uuid.uuid4().hex[:10]}"
    today = datetime.now(SHANGHAI)
    yesterday = today - timedelta(days=1)
    api.put_settings(shop, {"targets": TARGETS})
    ingest(api, shop, _sale(Events(shop, _at(yesterday, 9, 59)), "y1", 100))
    ingest(api, shop, _sale(Events(shop, _at(yesterday, 15, 0)), "y2", 300))
    ingest(api, shop, _sale(Events(shop, _at(today, 10, 0)), "t1", 150))
    return {"shop": shop, "today": today.date().isoformat(), "yesterday": yesterday.date().isoformat()}


def test_wall_shows_change_against_yesterday_and_pace(browser, stack, api: Api, shop) -> None:
    progress = api.get(shop["shop"], "progress")
    assert progress["pace"]["sales"]["expected"] == 250.0, progress
    context, page, problems = new_page(browser)
    try:
        page.goto(page_url(stack, "wall", shop["shop"]))
        assert_live(page)
        expect(page.locator("#kpi-sales")).to_have_text("¥150.00", **FRESH)
        expect(page.locator("#vs-sales .chg")).to_have_text("▲ 50.0%", **FRESH)
        expect(page.locator("#vs-sales .chg")).to_have_class("chg good")
        expect(page.locator("#pace-sales")).to_have_text("目标 ¥1,000.00 · 完成 15.0% · 应达 ¥250.00 · 落后", **FRESH)
        expect(page.locator("#pace-sales")).to_have_attribute("data-status", "behind")
        expect(page.locator("#bar-sales")).to_have_attribute("data-level", "bad")
        expect(page.locator("#pace-inquiry_pay_rate")).to_have_text("目标 50.0% · 领先", **FRESH)
        expect(page.locator("#pace-sla_rate")).to_have_text("目标 90.0% · 领先", **FRESH)
        expect(page.locator("#bar-sla_rate")).to_have_attribute("data-level", "good")
        expect(page.locator("#vs-avg_response_s .chg")).to_have_text("— 0.0%", **FRESH)
        expect(page.locator("#vs-received_buyers")).to_contain_text("较昨日同时")
        for lang in ("zh", "en"):
            if lang == "en":
                page.goto(page_url(stack, "wall", shop["shop"]) + "&lang=en")
                assert_live(page)
                expect(page.locator("#pace-sales")).to_have_text(
                    "Target ¥1,000.00 · 15.0% done · due ¥250.00 · behind", **FRESH)
            for width, height in WALL_SIZES:
                page.set_viewport_size({"width": width, "height": height})
                time.sleep(0.8)  # fitted text and charts follow the resize
                assert_fits(page, f"the wall ({lang}) at {width}x{height}")
                assert page.evaluate(TILES_OVERFLOW) == [], f"a tile's lines overflow it at {width}x{height}"
                for element in ("#pace-sales", "#vs-sales", "#pace-sla_rate", "#vs-received_buyers", "#bar-sales"):
                    expect(page.locator(element)).to_be_in_viewport()
                screenshot(page, f"wall-warroom-{lang}-{width}x{height}")
        problems.assert_none()
    finally:
        context.close()


def test_console_period_scores_and_csv(browser, stack, api: Api, shop) -> None:
    context, page, problems = new_page(browser)
    try:
        page.goto(page_url(stack, "console", shop["shop"]))
        assert_live(page)
        # A single day: today's live figures, with the agent's score and the formula beside the ranking.
        expect(page.locator("#kpi-formula")).to_contain_text("绩效得分 = 销售额目标完成 × 30%", **FRESH)
        score_today = page.locator('#table-body tr[data-agent="小王"] td[data-key="score"]')
        expect(score_today).not_to_have_text("—", **FRESH)

        page.select_option("#period-kind", "range")
        page.fill("#day-picker", shop["yesterday"])
        page.fill("#period-end", shop["today"])
        row = page.locator('#table-body tr[data-agent="小王"]')
        expect(row.locator('td[data-key="sales"]')).to_have_text("¥550.00", **FRESH)
        expect(page.locator("#day-note")).to_contain_text(f"{shop['yesterday']} 至 {shop['today']}，共 2 天")
        expect(page.locator("#sum-received-buyers")).to_have_text("3")  # a buyer per sale, summed over the days
        score = row.locator('td[data-key="score"]').inner_text()
        assert 0 < float(score) <= 100, score
        for width, height in WALL_SIZES:
            page.set_viewport_size({"width": width, "height": height})
            time.sleep(0.5)
            assert_fits(page, f"the console at {width}x{height}")
            expect(page.locator("#kpi-formula")).to_be_in_viewport()
            screenshot(page, f"console-period-{width}x{height}")
        page.set_viewport_size({"width": 1920, "height": 1080})

        with page.expect_download() as download_info:
            page.click("#export-csv")
        assert download_info.value.suggested_filename.endswith(f"{shop['yesterday']}_{shop['today']}.csv")
        exported = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_bytes().decode("utf-8-sig"))))
        header = exported[0]
        assert header[:3] == ["客服", "分组", "绩效得分"], header
        wang = next(r for r in exported if r[0] == WANG)
        assert wang[2] == score and wang[header.index("客服销售额")] == "¥550.00"

        page.fill("#day-picker", "2026-01-01")
        page.fill("#period-end", "2026-04-30")  # 120 days
        expect(page.locator("#day-note")).to_contain_text("at most 92 days", **FRESH)
        expect(page.locator("#day-note")).to_have_class("note error")
        screenshot(page, "console-period-too-long")

        page.select_option("#period-kind", "week")
        expect(page.locator("#period-end-wrap")).to_be_hidden()
        expect(page.locator("#day-note")).to_contain_text("共 7 天", **FRESH)
        problems.assert_none()
    finally:
        context.close()

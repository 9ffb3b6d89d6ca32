"""The wall's money tiles (issue 14, "Where people see them"), headless Chromium against the real local stack.

Hand-worked events, day D (Asia/Shanghai), t0 = 10:00, the shop's default settings:
  m1 writes to 小王 at 0 s, answered at 10 s; creates o1 ¥299 at 60 s (order agent 小王), unpaid;
     小王 writes again at 120 s while o1 is unpaid → a chase;
  m2 creates o2 ¥59.90 at 130 s with no chat → silent unpaid;
  m3 writes at 140 s, answered at 150 s; creates presale o3 ¥500 at 160 s, deposit ¥100 at 170 s → a balance
     due (a deposited order is not unpaid);
  m4 writes at 200 s, answered at 210 s; creates o4 ¥88 at 220 s, chased at 230 s, pays ¥88 at 240 s;
  m5 writes at 250 s, answered at 260 s; creates presale o5 ¥600 at 270 s, deposit ¥60 at 280 s, pays the
     balance (the full ¥600) at 300 s with no message since 260 s (no chase) → a balance of 小王;
  m6 pays a deposit ¥30 for o6 at 310 s and the balance ¥300 at 320 s with no chat at all → a silent balance.
Expected: unpaid now ¥299 + ¥59.90 = ¥358.90; chased 2 (m1, m4); recovered ¥88.00 (o4); balances due 1
(m3); balances paid today ¥600 (小王's, balance_paid_amount) + ¥300 (silent_balance_paid_amount) =
¥900.00, which is not the shop's sales (¥988.00: o4's ¥88 is no balance).
Without a due balance the 尾款 tile is hidden (its column goes away). Both tiles fit, with no scrollbars or
clipped text, at 1920×1080 and 3840×2160 (screenshots in tests/artifacts/).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.browser_helpers import (
    WALL_SIZES,
    Events,
    PageProblems,
    assert_fits,
    assert_live,
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
WANG = "小王"
FRESH = {"timeout": 5_000}


def open_wall(browser: Any, stack, shop: str) -> tuple[Any, Any, PageProblems]:
    context, page, problems = new_page(browser)
    page.goto(page_url(stack, "wall", shop))
    assert_live(page)
    return context, page, problems


def test_wall_shows_chasing_and_balance_tiles(browser, stack, api: Api) -> None:
    shop = f"money-{uuid.uuid4().hex[:10]}"
    ev = Events(shop, today_at(10))
    ingest(api, shop, [
        ev.buyer(0, "m1", WANG), ev.reply(10, "m1", WANG),
        ev.created(60, "m1", "o1", 299), ev.reply(120, "m1", WANG),
        ev.created(130, "m2", "o2", 59.9),
    ])
    wall_ctx, wall, problems = open_wall(browser, stack, shop)
    try:
        # no balance due yet: no 尾款 tile, and no empty column for it
        expect(wall.locator("#kpi-unpaid")).to_have_text("¥358.90", **FRESH)
        expect(wall.locator("#tile-balance")).to_be_hidden()

        ingest(api, shop, [
            ev.buyer(140, "m3", WANG), ev.reply(150, "m3", WANG),
            ev.created(160, "m3", "o3", 500), ev.deposit(170, "m3", "o3", 100),
            ev.buyer(200, "m4", WANG), ev.reply(210, "m4", WANG),
            ev.created(220, "m4", "o4", 88), ev.reply(230, "m4", WANG), ev.paid(240, "m4", "o4", 88),
            ev.buyer(250, "m5", WANG), ev.reply(260, "m5", WANG),
            ev.created(270, "m5", "o5", 600), ev.deposit(280, "m5", "o5", 60), ev.paid(300, "m5", "o5", 600),
            ev.deposit(310, "m6", "o6", 30), ev.paid(320, "m6", "o6", 300),
        ])
        team = api.get(shop, "summary")["team"]
        assert (team["unpaid_amount"], team["silent_unpaid_amount"]) == (299, 59.9), team
        assert (team["chased_buyers"], team["chase_paid_amount"], team["shop_sales"]) == (2, 88, 988), team
        assert (team["balance_paid_buyers"], team["balance_paid_amount"], team["silent_balance_paid_amount"]) \
            == (1, 600, 300), team
        assert api.get(shop, "live")["team"]["balance_due_buyers"] == 1

        expect(wall.locator("#tile-chase .kpi-label")).to_have_text("催付 · 未付款")
        expect(wall.locator("#kpi-unpaid")).to_have_text("¥358.90", **FRESH)
        expect(wall.locator("#sub-chase")).to_have_text("已催 2 · 挽回 ¥88.00", **FRESH)
        expect(wall.locator("#tile-balance")).to_be_visible(**FRESH)
        expect(wall.locator("#kpi-balance-due")).to_have_text("1", **FRESH)
        expect(wall.locator("#sub-balance")).to_have_text("今日已付 ¥900.00", **FRESH)

        for lang, label in (("zh", "催付"), ("en", "Chasing")):
            if lang == "en":
                wall.goto(f"{stack.api_url}/wall?shop={shop}&token={stack.viewer_token}&lang=en")
                expect(wall.locator("#sub-chase")).to_have_text("2 chased · ¥88.00 back", **FRESH)
                expect(wall.locator("#sub-balance")).to_have_text("¥900.00 paid today", **FRESH)
                expect(wall.locator("#tile-balance")).to_be_visible(**FRESH)
            for width, height in WALL_SIZES:
                wall.set_viewport_size({"width": width, "height": height})
                time.sleep(0.8)  # charts and fitted text follow the resize
                assert_fits(wall, f"the wall ({lang}) at {width}x{height}")
                for tile in ("#tile-chase", "#tile-balance"):
                    expect(wall.locator(tile)).to_be_in_viewport()
                assert label in wall.locator("#tile-chase .kpi-label").inner_text()
                screenshot(wall, f"wall-money-{lang}-{width}x{height}")
        problems.assert_none()
    finally:
        wall_ctx.close()

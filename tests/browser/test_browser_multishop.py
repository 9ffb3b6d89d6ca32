"""The multi-shop 作战大屏 (/multishop, issue 17), headless Chromium against the real local stack.

Hand-worked set of three shops, day D (Asia/Shanghai), t0 = 10:00, default settings (every agent presale):
  A: b1 writes to 小王 at 0 s, answered at 10 s, orders ¥300 at 60 s and pays at 70 s; b2 writes at 100 s,
     answered at 110 s, never orders → inquiry 2, paid 1, sales ¥300.00, SLA 2 of 2, nobody waiting;
  B: b1 writes to 小李 at 0 s, answered at 20 s, pays ¥120.50 at 80 s; b2 writes at 300 s and waits
     (no reply) → inquiry 2, paid 1, sales ¥120.50, 1 waiting;
  C: no events → zeros, null ratios.
Totals: sales ¥420.50, 询单转化率 2 / 4 = 50.0 %, waiting 1. The board lists A, B, C by sales; a click on a
column head sorts by it; a click on a shop opens its own wall. The wall fits, with no scrollbar or
clipped text, at 1920×1080 and 3840×2160, in 中文 and English, with 3 shops and with 100 (screenshots
in tests/artifacts/, copied into docs/screens/).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.browser_helpers import (
    WALL_SIZES,
    Events,
    assert_fits,
    assert_live,
    ingest,
    new_page,
    screenshot,
    sync_api,
    today_at,
)
from tests.client import Api

pytestmark = [pytest.mark.browser, pytest.mark.integration]

expect = sync_api.expect
FRESH = {"timeout": 10_000}

SORT_BUTTONS_CLIPPED_JS = """() => [...document.querySelectorAll('button.sort')]
  .filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => b.textContent)"""


def set_url(stack, shops: list[str], lang: str | None = None) -> str:
    url = f"{stack.api_url}/multishop?shops={','.join(shops)}&token={stack.viewer_token}"
    return url + (f"&lang={lang}" if lang else "")


@pytest.fixture(scope="module")
def shops(api: Api) -> list[str]:
    run = uuid.uuid4().hex[:8]
    a, b, c = (f"ms-{run}-{name}" for name in ("a", "b", "c"))
    ev = Events(a, today_at(10))
    ingest(api, a, [
        ev.buyer(0, "b1", "小王"), ev.reply(10, "b1", "小王"),
        ev.created(60, "b1", "o1", 300), ev.paid(70, "b1", "o1", 300),
        ev.buyer(100, "b2", "小王"), ev.reply(110, "b2", "小王"),
    ])
    ev = Events(b, today_at(10))
    ingest(api, b, [
        ev.buyer(0, "b1", "小李"), ev.reply(20, "b1", "小李"),
        ev.created(70, "b1", "o1", 120.5), ev.paid(80, "b1", "o1", 120.5),
        ev.buyer(300, "b2", "小李"),
    ])
    return [a, b, c]


def open_set(browser: Any, stack, shops: list[str], size: tuple[int, int] = (1920, 1080),
             lang: str | None = None) -> tuple[Any, Any, Any]:
    context, page, problems = new_page(browser, *size)
    page.goto(set_url(stack, shops, lang))
    assert_live(page)
    return context, page, problems


def test_rest_totals_are_recomputed_from_the_shops(api: Api, stack, shops: list[str]) -> None:
    response = api.http.get("/api/v1/shop-set", params={"shops": ",".join(shops)},
                            headers={"Authorization": f"Bearer {stack.viewer_token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["shops"] == shops
    totals = body["totals"]
    assert (totals["sales"], totals["inquiry_buyers"], totals["paid_buyers"]) == (420.5, 4, 2), totals
    assert totals["inquiry_pay_rate"] == 0.5 and totals["waiting_buyers"] == 1
    rows = {r["shop_id"]: r for r in body["rows"]}
    for shop in shops:  # each row is the shop's own team figures, as its own wall has them
        team = api.get(shop, "summary")["team"]
        assert (rows[shop]["sales"], rows[shop]["inquiry_pay_rate"]) == (team["sales"], team["inquiry_pay_rate"])
    assert rows[shops[2]]["inquiry_pay_rate"] is None


def test_the_set_wall_shows_totals_sorts_and_opens_a_shop(browser, stack, shops: list[str]) -> None:
    a, b, c = shops
    context, page, problems = open_set(browser, stack, shops)
    try:
        expect(page.locator("#kpi-inquiry-pay-rate")).to_have_text("50.0%", **FRESH)
        expect(page.locator("#kpi-sales")).to_have_text("¥420.50", **FRESH)
        expect(page.locator("#kpi-queue-waiting")).to_have_text("0 · 1")
        expect(page.locator("#set-name")).to_have_text("3 家店铺")
        rows = page.locator("a.ms-row")
        expect(rows).to_have_count(3)
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.shop)") == [a, b, c]  # by sales, largest first
        expect(rows.nth(1).locator(".money")).to_have_text("¥120.50")
        # a click on 店铺 sorts by shop id (A→Z), a second one flips it
        head = page.locator("button.sort[data-sort='shop_id']").first
        head.click()
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.shop)") == [a, b, c]
        head.click()
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.shop)") == [c, b, a]
        assert "sort=-shop_id" in page.url
        # the waiting shop first when sorted by waiting
        page.locator("button.sort[data-sort='waiting_buyers']").first.click()
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.shop)")[0] == b
        # a click on a shop opens its own wall, with the same token
        page.locator(f"a.ms-row[data-shop='{b}']").click()
        page.wait_for_url(re.compile(rf"/wall\?shop={b}&token="))
        assert_live(page)
        expect(page.locator("#shop-name")).to_have_text(b)
        expect(page.locator("#kpi-sales")).to_have_text("¥120.50", **FRESH)
        problems.assert_none()
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", WALL_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_set_wall_fits_at_1080p_and_4k(browser, stack, shops: list[str], size: tuple[int, int],
                                           lang: str) -> None:
    many = shops + [f"ms-empty-{i:02d}" for i in range(97)]  # 100 shops: the most a set may hold
    for name, members in (("3", shops), ("100", many)):
        context, page, problems = open_set(browser, stack, members, size, lang)
        try:
            expect(page.locator("a.ms-row")).to_have_count(len(members), **FRESH)
            expect(page.locator("#kpi-sales")).to_have_text("¥420.50", **FRESH)
            page.wait_for_timeout(300)  # the count-up and the fitting settle
            screenshot(page, f"multishop-{name}-{size[0]}x{size[1]}-{lang}")
            assert_fits(page, f"multishop {name} shops {size} {lang}")
            assert page.evaluate(SORT_BUTTONS_CLIPPED_JS) == [], f"clipped column heads ({name}, {size}, {lang})"
            # every row inside the board (no row hidden below its panel)
            hidden = page.evaluate("""() => { const b = document.getElementById('board').getBoundingClientRect();
              return [...document.querySelectorAll('a.ms-row')].filter(r => {
                const x = r.getBoundingClientRect(); return x.bottom > b.bottom + 1 || x.right > b.right + 1;
              }).length; }""")
            assert hidden == 0, f"{hidden} rows outside the board ({name}, {size}, {lang})"
            problems.assert_none()
        finally:
            context.close()

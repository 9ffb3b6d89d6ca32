"""Helpers for the browser tests (tests/browser/test_browser.py): headless Debian Chromium through Playwright,
event builders for hand-made scenarios, and a collector of page errors and CSP violations."""

from __future__ import annotations

import itertools
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.required import import_required

# Playwright's sync API: a missing Playwright skips the importing module, or fails it under CI=true.
sync_api = import_required("playwright.sync_api",
                           "Playwright is not installed (a dev dependency: pip install -e '.[dev]')")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def today_at(hour: int, minute: int = 0) -> int:
    """Epoch ms of hour:minute today in Asia/Shanghai (at most a day ahead: ingest accepts it)."""
    now = datetime.now(SHANGHAI)
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment - now > timedelta(hours=23):
        moment -= timedelta(days=1)
    return int(moment.timestamp() * 1000)


@dataclass
class Events:
    """Builds events of one shop with ts = t0 + offset seconds and unique event ids."""

    shop: str
    t0: int
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _ids: itertools.count = field(default_factory=itertools.count)

    def _event(self, type_: str, at_s: float, **fields: Any) -> dict[str, Any]:
        return {"event_id": f"{self._run}-{next(self._ids)}", "shop_id": self.shop, "type": type_,
                "ts": self.t0 + int(at_s * 1000), **fields}

    def buyer(self, at_s: float, buyer: str, agent: str | None, text: str = "请问有货吗") -> dict[str, Any]:
        return self._event("chat.message", at_s, buyer_id=buyer, agent_id=agent, sender="buyer", text=text)

    def reply(self, at_s: float, buyer: str, agent: str) -> dict[str, Any]:
        return self._event("chat.message", at_s, buyer_id=buyer, agent_id=agent, sender="agent", text="有的亲")

    def created(self, at_s: float, buyer: str, order: str, amount: float, items: int = 1) -> dict[str, Any]:
        return self._event("order.created", at_s, buyer_id=buyer, order_id=order, amount=amount, items=items)

    def paid(self, at_s: float, buyer: str, order: str, amount: float, items: int = 1) -> dict[str, Any]:
        return self._event("order.paid", at_s, buyer_id=buyer, order_id=order, amount=amount, items=items)

    def deposit(self, at_s: float, buyer: str, order: str, amount: float) -> dict[str, Any]:
        return self._event("order.deposit_paid", at_s, buyer_id=buyer, order_id=order, amount=amount)

    def queued(self, at_s: float, buyer: str) -> dict[str, Any]:
        return self._event("chat.queued", at_s, buyer_id=buyer)

    def status(self, at_s: float, agent: str, status: str) -> dict[str, Any]:
        return self._event("agent.status", at_s, agent_id=agent, status=status)


class PageProblems:
    """Uncaught page errors and Content-Security-Policy violations seen by a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.errors.append(f"csp: {text}")

    def assert_none(self) -> None:
        assert not self.errors, "\n".join(self.errors)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const clipped = [];
  for (const el of document.querySelectorAll(
      '.kpi-value, .kpi-label, .kpi-sub, .board-row > span, .panel-title, .meta > *, .brand > *')) {
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 2) {
      clipped.push((el.id || el.className) + ': ' + el.textContent.slice(0, 40));
    }
  }
  return {scroll: [doc.scrollWidth, doc.clientWidth, doc.scrollHeight, doc.clientHeight], clipped};
}"""

WALL_SIZES = [(1920, 1080), (3840, 2160)]  # a wall is a 1080p or a 4K screen


def assert_fits(page: Any, what: str) -> None:
    """Nothing scrolls and no text is clipped on the page as it is now (OVERFLOW_JS)."""
    layout = page.evaluate(OVERFLOW_JS)
    scroll_w, client_w, scroll_h, client_h = layout["scroll"]
    assert scroll_w <= client_w and scroll_h <= client_h, f"{what} scrolls: {layout}"
    assert layout["clipped"] == [], f"clipped text on {what}: {layout}"


def new_page(browser: Any, width: int = 1920, height: int = 1080) -> tuple[Any, Any, PageProblems]:
    """A fresh browser context (Shanghai time, zh-CN) and page, with its problems collected."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = context.new_page()
    return context, page, PageProblems(page)


def page_url(stack: Any, name: str, shop: str, token: str | None = None) -> str:
    """The wall's or console's URL for a shop (the viewer token unless another is given; "" for none)."""
    token = stack.viewer_token if token is None else token
    return f"{stack.api_url}/{name}?shop={shop}" + (f"&token={token}" if token else "")


def ingest(api: Any, shop: str, events: list[dict[str, Any]]) -> None:
    """Send events through ingest (all accepted) and wait until the pipeline processed them."""
    response = api.ingest(events)
    assert response.status_code == 202, response.text
    assert response.json()["rejected"] == [], response.text
    api.wait_processed(shop)


def assert_live(page: Any, timeout_ms: float = 15_000) -> None:
    """The page's stream is connected (the connection indicator says live)."""
    sync_api.expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=timeout_ms)

// What both screens share: URL parameters, the access-denied screen, the connection indicator,
// the clock and "last updated".
import { connectStream } from "./connection.js";
import { clockTime } from "./format.js";
import { lang, onLangChange, t } from "./i18n.js";

export function pageParams() {
  const q = new URLSearchParams(location.search);
  const reloadAfterS = Number(q.get("reload_after_s"));
  return {
    shop: (q.get("shop") || "").trim(),
    token: (q.get("token") || "").trim(),
    // after an outage this long the page reloads itself (default 5 minutes; at least 1 s)
    reloadAfterMs: Number.isFinite(reloadAfterS) && reloadAfterS >= 1 ? reloadAfterS * 1000 : undefined,
  };
}

const SHOP_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Problem with the URL itself (shown before any request), or null. */
export function paramProblem({ shop, token }) {
  if (!shop || !SHOP_RE.test(shop)) return "shop";
  if (!token) return "missing";
  return null;
}

const AUTH_TEXT = {
  missing: {
    zh: "缺少访问令牌",
    en: "Access token missing",
    zhHint: "请在地址中加上 ?shop=店铺ID&token=查看令牌",
    enHint: "Open this page as …?shop=<shop id>&token=<viewer token>",
  },
  shop: {
    zh: "缺少或无效的店铺 ID",
    en: "Shop id missing or invalid",
    zhHint: "请在地址中加上 ?shop=店铺ID&token=查看令牌",
    enHint: "Open this page as …?shop=<shop id>&token=<viewer token>",
  },
  401: {
    zh: "访问令牌无效",
    en: "Invalid access token",
    zhHint: "令牌不正确或已失效，请向管理员索取新的查看令牌。",
    enHint: "The token is wrong or no longer valid; ask your administrator for a viewer token.",
  },
  403: {
    zh: "无权查看此店铺",
    en: "Not allowed to view this shop",
    zhHint: "此令牌不能查看该店铺的数据，请使用该店铺的查看令牌。",
    enHint: "This token may not read this shop; use a viewer token for it.",
  },
};

/** Replace the whole page with a clear, bilingual access message (`texts` overrides AUTH_TEXT's entries). */
export function showAccessDenied(reason, shop, texts = {}) {
  const text = texts[reason] || AUTH_TEXT[reason] || AUTH_TEXT[401];
  const el = (tag, cls, content) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = content;
    return node;
  };
  const box = el("div", "auth-box");
  box.append(
    el("div", "auth-icon", "⚠"),
    el("h1", "auth-zh", text.zh),
    el("h2", "auth-en", text.en),
    el("p", "auth-hint", text.zhHint),
    el("p", "auth-hint auth-hint-en", text.enHint),
  );
  if (shop) box.append(el("p", "auth-shop", `店铺 / Shop: ${shop}`));
  if (typeof reason === "number") box.append(el("p", "auth-code", `HTTP ${reason}`));
  const screen = el("div", "auth-screen");
  screen.id = "auth-error";
  screen.dataset.reason = String(reason);
  screen.setAttribute("role", "alert");
  screen.append(box);
  document.body.replaceChildren(screen);
  document.body.classList.add("auth-failed");
  document.title = `${text.zh} · ${text.en}`;
}

/** The connection indicator: a coloured dot and a word; data-state for styling and tests. */
export function connectionIndicator(el) {
  let last = { state: "connecting", attempt: 0 };
  let timer = null;
  function render() {
    const { state, retryAt } = last;
    el.dataset.state = state;
    let text = t(`conn_${state}`);
    if (state === "reconnecting" && retryAt) {
      const secs = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      text += secs > 0 ? ` · ${secs}s` : "…";
    }
    el.querySelector(".conn-text").textContent = text;
  }
  onLangChange(() => render());
  return {
    update(next) {
      last = next;
      clearInterval(timer);
      if (next.state === "reconnecting") timer = setInterval(render, 500);
      render();
    },
    render,
  };
}

/** A clock in the shop's time zone, and "last updated" (time of the newest frame). */
export function clockAndUpdated(clockEl, updatedEl, getZone) {
  let updatedAt = null;
  function tick() {
    const zone = getZone();
    if (clockEl) clockEl.textContent = clockTime(Date.now(), zone);
    if (updatedEl) {
      if (updatedAt === null) {
        updatedEl.textContent = t("never");
      } else {
        const ago = Math.max(0, Math.round((Date.now() - updatedAt) / 1000));
        const agoText = lang() === "zh" ? `${ago} 秒前` : `${ago}s ago`;
        updatedEl.textContent = `${t("last_updated")} ${clockTime(updatedAt, zone)} (${agoText})`;
        updatedEl.classList.toggle("stale", ago > 30);
      }
    }
  }
  tick();
  setInterval(tick, 1000);
  onLangChange(tick);
  return {
    touch() {
      updatedAt = Date.now();
      tick();
    },
    tick,
  };
}

/** Run `fn` at most once every `ms` (trailing call kept). */
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn();
      }, wait);
    }
  };
}

/**
 * The screen's WebSocket (connection.js) wired the same way on both screens: the indicator follows
 * it, auth failures show the access screen, and each frame refreshes "last updated" before onFrame
 * gets it, unless the page already shows the access screen.
 */
export function connectScreenStream({ api, params, conn, clock, authFailed, isFailed, onFrame }) {
  return connectStream({
    url: api.streamUrl(),
    onState: (s) => conn.update(s),
    onAuthError: authFailed,
    checkAuth: () => api.live().then(() => 200, (err) => err.status),
    reloadAfterMs: params.reloadAfterMs,
    onFrame(frame) {
      if (isFailed()) return;
      clock.touch();
      onFrame(frame);
    },
  });
}

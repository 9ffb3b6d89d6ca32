// The multi-shop 作战大屏's logic, without the DOM (tested in web/test/shopset.test.js): the page's URL
// parameters, the board's columns and sorting, how many board columns a set needs, and the link from a
// shop's row into its own wall. Figures come from GET/WS /api/v1/shop-set (streams/core/shop_sets.py):
// totals across the set and one row per shop, exactly as each shop's own wall has them.
import { agentLevel, SLA_AMBER, SLA_RED, WAIT_AMBER_S, WAIT_RED_S } from "./metrics.js";

export const MAX_SHOPS = 100;
const SHOP_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** The board's columns: key = the row's field (or "rank"), label = i18n key, kind = format.js kind. */
export const BOARD_COLUMNS = [
  { key: "rank", label: "board_rank", kind: "rank" },
  { key: "shop_id", label: "ms_shop", kind: "text" },
  { key: "sales", label: "fig_sales", kind: "money", r: true },
  { key: "inquiry_pay_rate", label: "board_conv", kind: "pct", r: true },
  { key: "sla_rate", label: "board_sla", kind: "pct", r: true },
  { key: "queued_now", label: "ms_queued", kind: "count", r: true },
  { key: "waiting_buyers", label: "ms_waiting", kind: "count", r: true },
  { key: "longest_wait_s", label: "board_wait", kind: "secs", r: true },
  { key: "alerts_firing", label: "ms_alerts", kind: "count", r: true },
];
const SORTABLE = new Set(BOARD_COLUMNS.filter((c) => c.key !== "rank").map((c) => c.key));
// Where a click on a column starts: names A→Z, figures largest first (the worst wait, the most alerts)
const FIRST_DIRECTION = { shop_id: "asc" };

/**
 * ?shops=a,b,c (optional: the token's shops), ?token=, ?sort=key or -key (descending), ?reload_after_s.
 * The shops in the order given, duplicates dropped.
 */
export function setParams(search) {
  const q = new URLSearchParams(search);
  const raw = q.get("shops");
  const shops = raw === null ? null : [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))];
  return { shops, token: (q.get("token") || "").trim(), sort: parseSort(q.get("sort")) };
}

/** Problem with the URL itself (shown before any request), or null. */
export function setProblem({ shops, token }) {
  if (shops !== null && (!shops.length || shops.length > MAX_SHOPS || !shops.every((s) => SHOP_RE.test(s)))) {
    return "shops";
  }
  if (!token) return "missing";
  return null;
}

export function parseSort(text) {
  const value = (text || "").trim();
  const desc = value.startsWith("-");
  const key = desc ? value.slice(1) : value;
  if (!SORTABLE.has(key)) return { key: "sales", dir: "desc" };
  return { key, dir: desc ? "desc" : "asc" };
}

/** The sort after a click on a column: the same column flips, another starts at its usual direction. */
export function nextSort(current, key) {
  if (!SORTABLE.has(key)) return current;
  if (current.key === key) return { key, dir: current.dir === "desc" ? "asc" : "desc" };
  return { key, dir: FIRST_DIRECTION[key] ?? "desc" };
}

/** Rows sorted by one column; a missing value (null ratio) always last; ties by shop id. */
export function sortRows(rows, { key, dir }) {
  const sign = dir === "desc" ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const xMissing = x === null || x === undefined;
    const yMissing = y === null || y === undefined;
    if (xMissing !== yMissing) return xMissing ? 1 : -1;
    if (!xMissing && x !== y) {
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      if (order) return sign * order;
    }
    return a.shop_id.localeCompare(b.shop_id);
  });
}

/** "bad" | "warn" | "" for a shop: the agents' wait/SLA colours, and red while an alert fires. */
export function shopLevel(row) {
  if ((row.alerts_firing ?? 0) > 0) return "bad";
  return agentLevel(row);
}

/** "bad" | "warn" | "good" | "" for a totals tile (tile = "sla" or "wait"). */
export function tileLevel(tile, totals) {
  if (!totals) return "";
  if (tile === "sla") {
    const sla = totals.sla_rate;
    if (sla === null || sla === undefined) return "";
    return sla < SLA_RED ? "bad" : sla < SLA_AMBER ? "warn" : "good";
  }
  if (tile === "wait") {
    const wait = Math.max(totals.longest_wait_s ?? 0, totals.longest_queue_wait_s ?? 0);
    if (wait > WAIT_RED_S) return "bad";
    return wait > WAIT_AMBER_S || totals.waiting_buyers > 0 || totals.queued_now > 0 ? "warn" : "good";
  }
  if (tile === "alerts") return totals.alerts_firing > 0 ? "bad" : "good";
  return "";
}

/**
 * How the board lays out `count` shops in a panel of `heightPx` with rows at least `minRowPx` high:
 * the fewest columns in which every shop gets a row (a header row on top of each column).
 */
export function boardLayout(count, heightPx, minRowPx) {
  const perColumn = Math.max(1, Math.floor(heightPx / minRowPx) - 1);
  const columns = Math.max(1, Math.ceil(Math.max(count, 1) / perColumn));
  return { columns, perColumn: Math.ceil(Math.max(count, 1) / columns) };
}

/** The shop's own wall, with the same token (the set's token reads every shop of the set) and language. */
export function shopWallUrl(shop, token, lang) {
  const q = new URLSearchParams({ shop, token });
  if (lang) q.set("lang", lang);
  return `/wall?${q}`;
}

/** The set's REST URL (the token goes in a header) and stream URL (the token in the query, as browsers must). */
export function setUrls(shops, token, origin = { protocol: "http:", host: "localhost" }) {
  const set = shops === null ? "" : `shops=${encodeURIComponent(shops.join(","))}`;
  const wsProto = origin.protocol === "https:" ? "wss:" : "ws:";
  const tokenQuery = `token=${encodeURIComponent(token)}`;
  return {
    rest: `/api/v1/shop-set${set ? `?${set}` : ""}`,
    stream: `${wsProto}//${origin.host}/api/v1/shop-set/stream?${set ? `${set}&` : ""}${tokenQuery}`,
  };
}

// The multi-shop 作战大屏 /multishop?shops=a,b,c&token=… (shops omitted: every shop the token lists).
// Totals across the set (sales, 询单转化率 and the 3-minute rate from the summed numerators and
// denominators, load, alerts firing) and a board with one row per shop, sortable by a click on a column
// (?sort=-sales, the default; ?sort=shop_id …), each row a link into the shop's own /wall.
// Data: GET /api/v1/shop-set for the first paint, then WS /api/v1/shop-set/stream (snapshot, updates
// at most every 0.5 s, each shop's alert frames, heartbeats). Logic without the DOM: shopset.js.
import "./styles/common.css";
import "./styles/wall.css";
import "./styles/multishop.css";
import { describeAlert } from "./alerts.js";
import { connectStream } from "./connection.js";
import { countUp } from "./countup.js";
import { fit, fitTable } from "./fit.js";
import { count, dateLong, money, percent, seconds } from "./format.js";
import { applyI18n, lang, onLangChange, t, tf } from "./i18n.js";
import { SLA_RED, WAIT_AMBER_S } from "./metrics.js";
import { clockAndUpdated, connectionIndicator, showAccessDenied } from "./page.js";
import {
  BOARD_COLUMNS,
  boardLayout,
  nextSort,
  setParams,
  setProblem,
  setUrls,
  shopLevel,
  shopWallUrl,
  sortRows,
  tileLevel,
} from "./shopset.js";

const TIME_ZONE = "Asia/Shanghai";
const MAX_ALERTS = 30;
const MIN_ROW_REM = 1.1; // a board row is never lower than this: more shops → more columns (100: 3 at 16:9)

const SET_TEXT = {
  missing: {
    zh: "缺少访问令牌",
    en: "Access token missing",
    zhHint: "请在地址中加上 ?shops=店铺A,店铺B&token=查看令牌",
    enHint: "Open this page as …?shops=<shop a>,<shop b>&token=<viewer token>",
  },
  shops: {
    zh: "店铺列表无效",
    en: "Invalid list of shops",
    zhHint: "?shops= 为逗号分隔的店铺 ID，最多 100 家",
    enHint: "?shops= takes shop ids separated by commas, at most 100",
  },
  403: {
    zh: "无权查看其中的店铺",
    en: "Not allowed to view a shop of this set",
    zhHint: "此令牌不能查看所列的全部店铺，请去掉无权查看的店铺或使用覆盖它们的令牌。",
    enHint: "This token may not read every shop listed; drop the others or use a token that covers them.",
  },
  422: {
    zh: "店铺列表无效",
    en: "Invalid list of shops",
    zhHint: "?shops= 为逗号分隔的店铺 ID，最多 100 家；令牌可查看所有店铺时必须列出店铺。",
    enHint: "?shops= takes up to 100 shop ids separated by commas; a token for every shop must list them.",
  },
};

const $ = (id) => document.getElementById(id);
const params = setParams(location.search);
const problem = setProblem(params);
const state = { shops: params.shops, totals: null, rows: [], sort: params.sort, alerts: [], alertKeys: new Set() };
let failed = false;

if (problem) {
  showAccessDenied(problem, params.shops?.join(",") ?? "", SET_TEXT);
} else {
  start();
}

function authFailed(status) {
  if (failed) return;
  failed = true;
  showAccessDenied(status, (state.shops ?? params.shops ?? []).join(","), SET_TEXT);
}

async function fetchSet(urls) {
  const response = await fetch(urls.rest, {
    headers: { Authorization: `Bearer ${params.token}`, Accept: "application/json" },
    cache: "no-store",
  });
  if (!response.ok) {
    const err = new Error(`HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return response.json();
}

function start() {
  applyI18n();
  const urls = setUrls(params.shops, params.token, location);
  const sales = countUp($("kpi-sales"), (v) => money(v), () => fit($("kpi-sales")));
  const conn = connectionIndicator($("conn"));
  const clock = clockAndUpdated($("clock"), $("updated"), () => TIME_ZONE);

  function apply(body) {
    if (Array.isArray(body.shops)) state.shops = body.shops;
    if (body.totals) state.totals = body.totals;
    if (Array.isArray(body.rows)) state.rows = body.rows;
  }

  function renderAll() {
    renderHeader();
    renderKpis(sales);
    renderBoard();
    fitAll();
  }

  fetchSet(urls).then(
    (body) => {
      if (failed) return;
      if (!state.totals) apply(body);
      renderAll();
      clock.touch();
    },
    (err) => {
      if (err.status === 401 || err.status === 403 || err.status === 422) authFailed(err.status);
    },
  );

  connectStream({
    url: urls.stream,
    onState: (s) => conn.update(s),
    onAuthError: authFailed,
    checkAuth: () => fetchSet(urls).then(() => 200, (err) => err.status ?? 0),
    reloadAfterMs: reloadAfterMs(),
    onFrame(frame) {
      if (failed) return;
      clock.touch();
      if (frame.type === "snapshot" || frame.type === "update") {
        apply(frame);
        renderAll();
      } else if (frame.type === "alert" && addAlert(frame)) {
        renderTicker();
      }
    },
  });

  onLangChange(() => {
    renderAll();
    renderTicker();
    sales.refresh();
  });
  window.addEventListener("resize", renderAll);
  renderTicker();
}

function reloadAfterMs() {
  const s = Number(new URLSearchParams(location.search).get("reload_after_s"));
  return Number.isFinite(s) && s >= 1 ? s * 1000 : undefined;
}

// ---------------------------------------------------------------------------------------- header, KPIs

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

function renderHeader() {
  const n = state.shops?.length ?? state.rows.length;
  setText("set-name", tf("ms_shops_count", count(n)));
  document.title = `${t("app")} · ${t("ms_title")} · ${tf("ms_shops_count", n)}`;
  const days = new Set(state.rows.map((r) => r.day).filter(Boolean));
  setText("day", days.size === 1 ? dateLong([...days][0]) : "");
}

function renderKpis(sales) {
  const s = state.totals ?? {};
  sales.set(s.sales ?? null);
  setText("kpi-shop-sales", money(s.shop_sales));
  setText("kpi-inquiry-pay-rate", percent(s.inquiry_pay_rate));
  setText("sub-conversion", tf("ms_sub_conv", count(s.inquiry_buyers), count(s.paid_buyers)));
  setText("kpi-sla-rate", percent(s.sla_rate));
  setText("sub-sla", tf("ms_sub_sla", count(s.sla_met_buyers), count(s.sla_buyers)));
  $("tile-sla").dataset.level = tileLevel("sla", state.totals);
  setText("kpi-active", count(s.active_conversations));
  setText("sub-active", tf("ms_sub_active", count(s.received_buyers)));
  setText("kpi-queue-waiting", `${count(s.queued_now)} · ${count(s.waiting_buyers)}`);
  setText("sub-wait", tf("ms_sub_wait", seconds(s.longest_wait_s), seconds(s.longest_queue_wait_s)));
  $("tile-wait").dataset.level = tileLevel("wait", state.totals);
  setText("kpi-alerts", count(s.alerts_firing));
  setText("sub-alerts", tf("ms_sub_alerts", count(state.rows.filter((r) => r.alerts_firing > 0).length)));
  $("tile-alerts").dataset.level = tileLevel("alerts", state.totals);
}

// ----------------------------------------------------------------------------------------------- board

function cell(text, cls = "") {
  const span = document.createElement("span");
  if (cls) span.className = cls;
  span.textContent = text;
  return span;
}

function formatCell(column, row, rank) {
  const v = row[column.key];
  switch (column.kind) {
    case "rank":
      return cell(String(rank), "rank");
    case "text":
      return cell(v, "shop-id");
    case "money":
      return cell(money(v), "r money");
    case "pct":
      return cell(percent(v), `r ${column.key === "sla_rate" && v !== null && v < SLA_RED ? "hot" : ""}`.trim());
    case "secs":
      return cell(seconds(v), `r ${v > WAIT_AMBER_S ? "hot" : ""}`.trim());
    default:
      return cell(count(v), `r ${v > 0 && column.key !== "queued_now" ? "hot" : ""}`.trim());
  }
}

function headerRow() {
  const div = document.createElement("div");
  div.className = "board-row board-head";
  for (const column of BOARD_COLUMNS) {
    const label = t(column.label);
    if (column.key === "rank") {
      div.append(cell(label));
      continue;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = `sort ${column.r ? "r" : ""}`.trim();
    button.dataset.sort = column.key;
    const active = state.sort.key === column.key;
    button.textContent = active ? `${label} ${state.sort.dir === "desc" ? "▼" : "▲"}` : label;
    if (active) button.classList.add("active");
    button.addEventListener("click", () => {
      state.sort = nextSort(state.sort, column.key);
      const q = new URLSearchParams(location.search);
      q.set("sort", `${state.sort.dir === "desc" ? "-" : ""}${state.sort.key}`);
      history.replaceState(null, "", `${location.pathname}?${q}`);
      renderBoard();
      fitAll();
    });
    const wrap = cell("", column.r ? "r" : "");
    wrap.append(button);
    div.append(wrap);
  }
  return div;
}

function renderBoard() {
  const board = $("board");
  const rows = sortRows(state.rows, state.sort);
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const { columns, perColumn } = boardLayout(rows.length, board.clientHeight, MIN_ROW_REM * rem);
  board.dataset.columns = String(columns);
  board.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
  const lines = Math.max(perColumn, 10) + 1; // a small set keeps rows of a readable height, not huge ones
  const tables = [];
  for (let c = 0; c < columns; c += 1) {
    const table = document.createElement("div");
    table.className = "board-table ms-table";
    table.style.gridTemplateRows = `repeat(${lines}, minmax(0, 1fr))`;
    table.append(headerRow());
    rows.slice(c * perColumn, (c + 1) * perColumn).forEach((row, i) => {
      const rank = c * perColumn + i + 1;
      const link = document.createElement("a");
      link.className = `board-row ms-row ${shopLevel(row)}`.trim();
      link.href = shopWallUrl(row.shop_id, params.token, lang());
      link.dataset.shop = row.shop_id;
      link.append(...BOARD_COLUMNS.map((column) => formatCell(column, row, rank)));
      table.append(link);
    });
    tables.push(table);
  }
  if (!rows.length) {
    const empty = document.createElement("div");
    empty.className = "board-empty";
    empty.textContent = t("ms_no_shops");
    tables[0].append(empty);
  }
  board.replaceChildren(...tables);
  setText("board-note", t("ms_board_note"));
}

// ---------------------------------------------------------------------------------------------- ticker

function addAlert(a) {
  const key = `${a.shop_id}|${a.alert_id}|${a.state ?? "firing"}`;
  if (state.alertKeys.has(key)) return false;
  state.alertKeys.add(key);
  state.alerts.unshift(a);
  state.alerts.length = Math.min(state.alerts.length, MAX_ALERTS);
  return true;
}

function renderTicker() {
  const content = $("ticker");
  const firing = (state.totals?.alerts_firing ?? 0) > 0;
  $("ticker-track").parentElement.classList.toggle("has-firing", firing);
  if (!state.alerts.length) {
    content.replaceChildren(cell(t("no_alerts"), "alert-none"));
    return;
  }
  const group = document.createElement("span");
  group.className = "ticker-group";
  for (const a of state.alerts) {
    const d = describeAlert(a, TIME_ZONE);
    const item = document.createElement("span");
    item.className = `alert-item ${d.firing ? "firing" : "resolved"} sev-${d.severity}`;
    item.append(cell(d.time, "a-time"), cell(a.shop_id ?? "", "a-shop"), cell(d.state, "a-state"), cell(d.text, "a-text"));
    group.append(item);
  }
  content.replaceChildren(group);
}

// ------------------------------------------------------------------------------------------------- fit

function fitAll() {
  for (const el of document.querySelectorAll(".fit, .kpi-label")) fit(el);
  // one font size for every column of the board, so they line up
  fitTable($("board"), ".board-row > span, button.sort");
}

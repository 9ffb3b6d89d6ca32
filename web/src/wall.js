// Wall display /wall?shop=…&token=… — no interaction: today's headline figures, per-minute trends,
// agent boards (by sales, by load), alert ticker, clock, last update and connection state.
// Data: REST for the first paint, then the WebSocket (snapshot / update / alert / heartbeat);
// /series is refetched every 12 s and on updates (at most every 5 s).
import "./styles/common.css";
import "./styles/wall.css";
import { withLiveLoad } from "./agents.js";
import { AGING_KINDS, alertKey, describeAlert } from "./alerts.js";
import { createApi } from "./api.js";
import { createTrendChart } from "./charts.js";
import { countUp } from "./countup.js";
import { fit } from "./fit.js";
import { count, dateLong, money, percent, seconds } from "./format.js";
import { applyI18n, groupName, onLangChange, t, tf } from "./i18n.js";
import {
  balancePaidToday,
  staffingLevel,
  staffingLine,
  statusAgeS,
  statusLevel,
  statusWithAge,
  unpaidNow,
} from "./liveops.js";
import { agentLevel, FIGURE_KIND, SLA_AMBER, SLA_RED, WAIT_AMBER_S, WAIT_RED_S } from "./metrics.js";
import {
  clockAndUpdated,
  connectScreenStream,
  connectionIndicator,
  pageParams,
  paramProblem,
  showAccessDenied,
  throttle,
} from "./page.js";
import { change, changeLevel, changeText, paceLevel, paceStatus, progressShare } from "./warroom.js";

const SERIES_EVERY_MS = 12000;
const PROGRESS_EVERY_MS = 10000; // GET /progress: yesterday at this minute, expected by now (they move per minute)
// The headline figures compared with the same minute yesterday (streams/core/curves.py HEADLINE_KEYS
// shown on a tile); those with a `targets` key also show the pace.
const HEADLINE_TILES = ["sales", "inquiry_pay_rate", "sla_rate", "avg_response_s", "received_buyers"];
const SERIES_MIN_GAP_MS = 5000;
const BOARD_ROWS = 10;
const MAX_ALERTS = 30;

const $ = (id) => document.getElementById(id);

const params = pageParams();
const problem = paramProblem(params);

const state = {
  timeZone: "Asia/Shanghai",
  slaS: 180,
  day: null,
  team: null,
  agents: [],
  live: { agents: [], team: null, groups: {}, now: null },
  alerts: [],
  alertKeys: new Set(),
  series: null,
  progress: null, // GET /progress
};

if (problem) {
  showAccessDenied(problem, params.shop);
} else {
  start();
}

function start() {
  applyI18n();
  $("shop-name").textContent = params.shop;
  document.title = `${t("app")} · ${params.shop}`;

  const api = createApi(params.shop, params.token);
  const sales = countUp($("kpi-sales"), (v) => money(v), () => fit($("kpi-sales")));
  const conn = connectionIndicator($("conn"));
  const clock = clockAndUpdated($("clock"), $("updated"), () => state.timeZone);
  const charts = {
    messages: createTrendChart($("chart-messages"), {
      series: [
        { key: "buyer_messages", type: "line", area: true },
        { key: "agent_messages", type: "line", area: true },
      ],
      timeZone: () => state.timeZone,
    }),
    responses: createTrendChart($("chart-responses"), {
      series: [
        { key: "responses", type: "bar" },
        { key: "slow_responses", type: "bar" },
      ],
      timeZone: () => state.timeZone,
    }),
    avgResponse: createTrendChart($("chart-avg-response"), {
      series: [{ key: "avg_response_s", type: "line", area: true, symbols: true }],
      timeZone: () => state.timeZone,
    }),
  };
  let failed = false;

  function authFailed(status) {
    if (failed) return;
    failed = true;
    showAccessDenied(status, params.shop);
  }

  function renderAll() {
    renderKpis(sales);
    renderProgress();
    renderBoards();
    renderStaffing();
    fitAll();
  }

  function renderSeries() {
    const points = state.series?.points ?? [];
    charts.messages.update(points);
    charts.responses.update(points);
    charts.avgResponse.update(points);
  }

  async function loadSeries() {
    try {
      state.series = await api.series(null, 60);
      renderSeries();
    } catch (err) {
      if (err.isAuth) authFailed(err.status);
    }
  }
  const seriesSoon = throttle(loadSeries, SERIES_MIN_GAP_MS);
  setInterval(loadSeries, SERIES_EVERY_MS);

  async function loadProgress() {
    try {
      state.progress = await api.progress();
      renderProgress();
      fitAll();
    } catch (err) {
      if (err.isAuth) authFailed(err.status);
    }
  }
  const progressSoon = throttle(loadProgress, SERIES_MIN_GAP_MS);
  setInterval(loadProgress, PROGRESS_EVERY_MS);

  function applyFigures(body) {
    if (body.day) state.day = body.day;
    if (body.team) state.team = body.team;
    if (Array.isArray(body.agents)) state.agents = body.agents;
    if (body.live) state.live = body.live;
  }

  /** Add alerts not seen yet (newest first, at most MAX_ALERTS); true when something was added. */
  function addAlerts(list) {
    let added = false;
    for (const a of list) {
      const key = alertKey(a);
      if (state.alertKeys.has(key)) continue;
      state.alertKeys.add(key);
      state.alerts.push(a);
      added = true;
    }
    state.alerts.sort((a, b) => (b.ts ?? 0) - (a.ts ?? 0));
    state.alerts.length = Math.min(state.alerts.length, MAX_ALERTS);
    return added;
  }

  async function initialLoad() {
    const results = await Promise.allSettled([
      api.settings(),
      api.summary(),
      api.agents(),
      api.live(),
      api.alerts(MAX_ALERTS),
    ]);
    const authError = results.find((r) => r.status === "rejected" && r.reason?.isAuth);
    if (authError) {
      authFailed(authError.reason.status);
      return false;
    }
    const [settings, summary, agents, live, alerts] = results.map((r) => (r.status === "fulfilled" ? r.value : null));
    if (settings?.timezone) state.timeZone = settings.timezone;
    if (typeof settings?.sla_s === "number") state.slaS = settings.sla_s;
    // The stream may already have delivered newer figures: REST fills only what is still empty.
    if (!state.team && summary) applyFigures(summary);
    if (!state.agents.length && agents) state.agents = agents.agents ?? [];
    if (!state.live.team && live) state.live = live;
    if (alerts) addAlerts(alerts);
    renderAll();
    renderTicker();
    clock.touch();
    return true;
  }

  initialLoad().then((ok) => {
    if (!ok) return;
    loadSeries();
    loadProgress();
    connectScreenStream({
      api,
      params,
      conn,
      clock,
      authFailed,
      isFailed: () => failed,
      onFrame(frame) {
        if (frame.type === "snapshot" || frame.type === "update") {
          applyFigures(frame);
          renderAll();
          ageTicker();
          if (frame.type === "update") {
            seriesSoon();
            progressSoon();
          } else loadSeries();
        } else if (frame.type === "alert" && addAlerts([frame])) {
          renderTicker(); // only on news: a rebuild restarts the scrolling
        }
      },
    });
  });

  onLangChange(() => {
    renderAll();
    renderTicker();
    sales.refresh();
    for (const c of Object.values(charts)) c.refresh();
  });
  window.addEventListener("resize", fitAll);
}

// ------------------------------------------------------------------------------------------ KPIs

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

function level(id, value) {
  $(id).dataset.level = value;
}

function renderKpis(sales) {
  const team = state.team ?? {};
  const live = state.live?.team ?? {};
  $("day").textContent = dateLong(state.day);
  sales.set(team.sales ?? null);
  setText("kpi-shop-sales", money(team.shop_sales));
  setText("kpi-silent-share", percent(team.silent_share));

  setText("kpi-inquiry-pay-rate", percent(team.inquiry_pay_rate));
  setText("sub-conversion", tf("sub_conv", count(team.inquiry_buyers), count(team.paid_buyers)));

  setText("kpi-sla-rate", percent(team.sla_rate));
  setText("sub-sla", tf("sub_sla", count(team.sla_met_buyers), count(team.sla_buyers)));
  const sla = team.sla_rate;
  level("tile-sla", sla === null || sla === undefined ? "" : sla < SLA_RED ? "bad" : sla < SLA_AMBER ? "warn" : "good");

  setText("kpi-avg-response", seconds(team.avg_response_s));
  setText("sub-avg-response", tf("sub_resp", count(team.responses), count(team.slow_responses)));

  setText("kpi-active", count(live.active_conversations));
  setText("sub-active", tf("sub_active", count(team.received_buyers)));

  // the robot→human queue (转人工, nobody's buyers yet) beside the conversations agents hold
  setText("kpi-queued", count(live.queued_now));
  const queueWait = live.longest_queue_wait_s;
  setText("sub-queue", tf("sub_queue", seconds(queueWait)));
  level(
    "tile-queue",
    queueWait === undefined || queueWait === null
      ? ""
      : queueWait > WAIT_RED_S ? "bad" : queueWait > WAIT_AMBER_S || live.queued_now > 0 ? "warn" : "good",
  );

  // 催付: what is unpaid now (with and without an order agent), whom agents chased, what came back today
  const unpaid = unpaidNow(team);
  setText("kpi-unpaid", money(unpaid));
  setText("sub-chase", tf("sub_chase", count(team.chased_buyers), money(team.chase_paid_amount)));
  level("tile-chase", unpaid === null ? "" : unpaid > 0 ? "warn" : "good");

  // 尾款 only while presale balances are due: the buyers due now, and the balances paid today (credited
  // and silent: every one the shop took today).
  const due = live.balance_due_buyers;
  $("tile-balance").hidden = !(due > 0);
  setText("kpi-balance-due", count(due));
  setText("sub-balance", tf("sub_balance", money(balancePaidToday(team))));

  setText("kpi-waiting", count(live.waiting_buyers));
  const agentsWaiting = (state.live?.agents ?? []).filter((a) => a.waiting_buyers > 0).length;
  setText("sub-waiting", tf("sub_waiting", count(agentsWaiting)));
  level("tile-waiting", live.waiting_buyers > 0 ? "warn" : "good");

  const longest = live.longest_wait_s;
  setText("kpi-longest-wait", seconds(longest));
  const who = [...(state.live?.agents ?? [])].sort((a, b) => b.longest_wait_s - a.longest_wait_s)[0];
  setText("sub-longest-wait", who && who.longest_wait_s > 0 ? who.agent_id : t("nobody_waiting"));
  level(
    "tile-longest-wait",
    longest === undefined || longest === null ? "" : longest > WAIT_RED_S ? "bad" : longest > WAIT_AMBER_S ? "warn" : "good",
  );
}

/** Each headline tile: ▲ / ▼ against the same minute yesterday, and progress and pace against its
 * target, from the live value (frames) and GET /progress's references (warroom.js). */
function renderProgress() {
  const team = state.team ?? {};
  const figures = state.progress?.figures ?? {};
  const paces = state.progress?.pace ?? {};
  for (const key of HEADLINE_TILES) {
    const value = team[key];
    const ratio = change(value, figures[key]?.yesterday);
    const vs = $(`vs-${key}`);
    const chg = document.createElement("span");
    chg.className = `chg ${changeLevel(key, ratio)}`.trim();
    chg.textContent = changeText(ratio);
    vs.replaceChildren(chg, document.createTextNode(t("vs_yesterday")));
    vs.title = figures[key]?.yesterday === undefined || figures[key]?.yesterday === null ? t("no_yesterday") : "";
    const paceEl = $(`pace-${key}`);
    const bar = $(`bar-${key}`);
    if (!paceEl) continue;
    const pace = paces[key];
    paceEl.hidden = !pace;
    bar.hidden = !pace;
    if (!pace) continue;
    const kind = FIGURE_KIND[key];
    const status = paceStatus(value, pace.expected);
    const level = paceLevel(status);
    paceEl.className = `${paceEl.className.replace(/ ?(good|warn|bad)\b/g, "")} ${level}`.trim();
    paceEl.textContent = tf(
      key === "sales" ? "pace_line" : "pace_short", // the hero is wide; the other tiles show the bar for progress
      byKindShort(kind, pace.target),
      percent(typeof value === "number" ? value / pace.target : null),
      byKindShort(kind, pace.expected),
      status ? t(`pace_${status}`) : "—",
    );
    paceEl.dataset.status = status ?? "";
    bar.dataset.level = level;
    bar.querySelector("i").style.width = `${progressShare(value, pace.target) * 100}%`;
    bar.querySelector("b").style.left = `calc(${progressShare(pace.expected, pace.target) * 100}% - 0.1rem)`;
  }
}

function byKindShort(kind, v) {
  return kind === "pct" ? percent(v) : kind === "money" ? money(v) : count(v);
}

// ----------------------------------------------------------------------------------------- boards

function cell(text, cls = "") {
  const span = document.createElement("span");
  if (cls) span.className = cls;
  span.textContent = text;
  return span;
}

function row(cells, cls = "") {
  const div = document.createElement("div");
  div.className = `board-row ${cls}`.trim();
  div.append(...cells);
  return div;
}

/** Status and time in status ("挂起 8 分钟"), aged by the frame's "now" (liveops.js). */
function statusCell(agent) {
  const age = statusAgeS(agent, state.live?.now);
  const lvl = statusLevel(agent.status, age);
  return cell(statusWithAge(agent.status, age), `status s-${agent.status || "unknown"}${lvl ? ` lvl-${lvl}` : ""}`);
}

function renderBoards() {
  // an agent seen only live has sold nothing today: ranked (and shown) with ¥0.00
  const agents = withLiveLoad(state.agents, state.live?.agents, { sales: 0, sla_rate: null });
  const total = agents.length;

  const bySales = [...agents].sort(
    (a, b) => (b.sales ?? 0) - (a.sales ?? 0) || (b.inquiry_pay_rate ?? -1) - (a.inquiry_pay_rate ?? -1) || a.agent_id.localeCompare(b.agent_id),
  );
  const salesBoard = $("board-sales");
  salesBoard.classList.add("board-sales");
  const salesRows = [
    row(
      [
        cell(t("board_rank")),
        cell(t("board_agent")),
        cell(t("group")),
        cell(t("fig_sales"), "r"),
        cell(t("board_conv"), "r"),
        cell(t("board_sla"), "r"),
      ],
      "board-head",
    ),
    ...bySales.slice(0, BOARD_ROWS).map((a, i) => {
      const lvl = agentLevel(a);
      return row(
        [
          cell(String(i + 1), "rank"),
          cell(a.agent_id, "agent"),
          cell(groupName(a.group), "group"),
          cell(money(a.sales), "r money"),
          cell(percent(a.inquiry_pay_rate), "r"),
          cell(percent(a.sla_rate), `r ${a.sla_rate !== null && a.sla_rate < SLA_RED ? "hot" : ""}`),
        ],
        `${lvl} rank-${i + 1}`,
      );
    }),
  ];
  if (!total) salesRows.push(emptyRow());
  salesBoard.replaceChildren(...salesRows);
  setText("board-sales-note", total > BOARD_ROWS ? `${BOARD_ROWS} / ${total} ${t("agents_count")}` : total ? `${total} ${t("agents_count")}` : "");

  const byLoad = [...agents].sort(
    (a, b) =>
      (b.waiting_buyers ?? 0) - (a.waiting_buyers ?? 0) ||
      (b.longest_wait_s ?? 0) - (a.longest_wait_s ?? 0) ||
      (b.active_conversations ?? 0) - (a.active_conversations ?? 0) ||
      a.agent_id.localeCompare(b.agent_id),
  );
  const loadBoard = $("board-load");
  loadBoard.classList.add("board-load");
  const loadRows = [
    row(
      [
        cell(t("board_agent")),
        cell(t("status_title")),
        cell(t("board_active"), "r"),
        cell(t("board_waiting"), "r"),
        cell(t("board_wait"), "r"),
        cell(t("board_sla"), "r"),
      ],
      "board-head",
    ),
    ...byLoad.slice(0, BOARD_ROWS).map((a) => {
      const lvl = agentLevel(a);
      const wait = a.longest_wait_s ?? 0;
      return row(
        [
          cell(a.agent_id, "agent"),
          statusCell(a),
          cell(count(a.active_conversations), "r"),
          cell(count(a.waiting_buyers), `r ${a.waiting_buyers > 0 ? "hot" : ""}`),
          cell(seconds(wait), `r ${wait > WAIT_AMBER_S ? "hot" : ""}`),
          cell(percent(a.sla_rate), `r ${a.sla_rate !== null && a.sla_rate < SLA_RED ? "hot" : ""}`),
        ],
        lvl,
      );
    }),
  ];
  if (!total) loadRows.push(emptyRow());
  loadBoard.replaceChildren(...loadRows);
  const red = agents.filter((a) => agentLevel(a) === "bad").length;
  setText("board-load-note", red ? `⚠ ${red}` : "");
}

function renderStaffing() {
  const groups = state.live?.groups ?? {};
  const names = Object.keys(groups).sort();
  const items = names.map((g) => {
    const span = cell(staffingLine(g, groups[g], state.slaS), `staff-group ${staffingLevel(groups[g])}`.trim());
    span.dataset.group = g;
    return span;
  });
  $("staffing").replaceChildren(...(items.length ? items : [cell(t("no_staffing"), "staff-none")]));
}

function emptyRow() {
  const div = document.createElement("div");
  div.className = "board-empty";
  div.textContent = t("no_agents");
  return div;
}

// ----------------------------------------------------------------------------------------- ticker

/** The newest transition of each alert (state.alerts is newest first). */
function newestTransitions() {
  const newest = new Map();
  for (const a of state.alerts) if (!newest.has(a.alert_id)) newest.set(a.alert_id, a);
  return newest;
}

/** Ticker texts that age (a firing wait): updated in place on every frame, so the scrolling goes on. */
let agingTexts = [];

function tickerNow() {
  return state.live?.now;
}

function renderTicker() {
  const track = $("ticker-track");
  const content = $("ticker");
  const newestByAlert = newestTransitions();
  agingTexts = [];
  const items = state.alerts.map((a) => {
    const ages = newestByAlert.get(a.alert_id) === a && AGING_KINDS.has(a.kind);
    const d = describeAlert(a, state.timeZone, ages ? tickerNow() : undefined);
    const item = document.createElement("span");
    item.className = `alert-item ${d.firing ? "firing" : "resolved"} sev-${d.severity}`;
    const text = cell(d.text, "a-text");
    if (ages) agingTexts.push([text, a]);
    item.append(cell(d.time, "a-time"), cell(d.state, "a-state"), text);
    return item;
  });
  // Red while any alert's newest transition is "firing" (a later "resolved" clears it).
  const newest = new Map();
  for (const [id, a] of newestByAlert) newest.set(id, a.state || "firing");
  const anyFiring = [...newest.values()].includes("firing");
  track.parentElement.classList.toggle("has-firing", anyFiring);
  content.classList.remove("scrolling");
  if (!items.length) {
    content.replaceChildren(cell(t("no_alerts"), "alert-none"));
    return;
  }
  const group = document.createElement("span");
  group.className = "ticker-group";
  group.append(...items);
  content.replaceChildren(group);
  if (group.scrollWidth > track.clientWidth) {
    // Too long for one line: scroll it, two copies back to back for a seamless loop.
    const copy = group.cloneNode(true);
    copy.setAttribute("aria-hidden", "true");
    content.append(copy);
    const copies = copy.querySelectorAll(".a-text");
    const originals = [...group.querySelectorAll(".a-text")];
    agingTexts = agingTexts.flatMap(([el, a]) => [[el, a], [copies[originals.indexOf(el)], a]]);
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    content.style.animationDuration = `${Math.max(20, group.scrollWidth / (rem * 6))}s`;
    content.classList.add("scrolling");
  }
}

// ------------------------------------------------------------------------------------------- fit

/** Age the firing waits of the ticker to the frame's "now", in place. */
function ageTicker() {
  const now = tickerNow();
  for (const [el, a] of agingTexts) el.textContent = describeAlert(a, state.timeZone, now).text;
}

function fitAll() {
  // tile labels too: eight tiles leave English names like "3-min response rate" little room
  for (const el of document.querySelectorAll(".fit, .kpi-label")) fit(el);
}

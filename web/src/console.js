// Supervisor console /console?shop=…&token=… — per-agent table with every per-agent figure of
// metrics.md plus the live load; sort (click a header), group filter, search, day picker (today is
// live from the WebSocket, past days come from GET /agents?day=), drill-down per agent with
// per-minute charts (GET /series?agent_id=&minutes=), CSV export identical to the table; the 待催付
// list (GET /unpaid-orders: open unpaid orders, oldest first) refreshed at most every few seconds.
// Periods (GET /period): a day, the week or month around it, or a range ≤ 92 days: counts summed over
// the days, ratios from the summed parts; every agent's KPI score (绩效得分) with the formula beside it.
import "./styles/common.css";
import "./styles/console.css";
import { withLiveLoad } from "./agents.js";
import { createApi } from "./api.js";
import { createTrendChart } from "./charts.js";
import { downloadCsv, toCsv } from "./csv.js";
import { byKind, DASH, money, seconds } from "./format.js";
import { applyI18n, groupName, lang, onLangChange, statusName, t, tf, toggleLang } from "./i18n.js";
import {
  AGENT_METRICS,
  agentLevel,
  FIGURE_KIND,
  LIVE_METRICS,
  SERIES_METRICS,
  SLA_AMBER,
  SLA_RED,
  WAIT_AMBER_S,
  WAIT_RED_S,
} from "./metrics.js";
import {
  clockAndUpdated,
  connectScreenStream,
  connectionIndicator,
  pageParams,
  paramProblem,
  showAccessDenied,
  throttle,
} from "./page.js";

const SERIES_EVERY_MS = 12000;
const UNPAID_EVERY_MS = 5000;
const SERIES_MIN_GAP_MS = 5000;
const PERIOD_MIN_GAP_MS = 5000; // scores of a period that includes today follow the live figures
const SLIDING_KEYS = SERIES_METRICS.map((m) => [m.key, m.kind]);

// Headline figures first, then the rest in the order of metrics.md.
const HEADLINE = ["sales", "inquiry_pay_rate", "sla_rate", "avg_response_s"];
const COLUMNS = [
  { key: "agent_id", zh: "客服", en: "Agent", kind: "text" },
  { key: "group", zh: "分组", en: "Group", kind: "group" },
  { key: "score", zh: "绩效得分", en: "KPI score", kind: "score" },
  ...LIVE_METRICS.map((m) => ({ ...m, live: true })),
  ...HEADLINE.map((key) => AGENT_METRICS.find((m) => m.key === key)),
  ...AGENT_METRICS.filter((m) => !HEADLINE.includes(m.key)),
];

const $ = (id) => document.getElementById(id);
const params = pageParams();
const problem = paramProblem(params);

const state = {
  timeZone: "Asia/Shanghai",
  today: null, // the shop's current day (from the server)
  day: null, // the day shown; null = today (live)
  live: { agents: [], team: null },
  todayAgents: [],
  todaySummary: null,
  pastAgents: [],
  pastSummary: null,
  settingsGroups: [],
  sort: { key: "sales", dir: -1 },
  group: "",
  search: "",
  drill: { agent: null, minutes: 60, series: null },
  unpaid: null, // GET /unpaid-orders
  periodKind: "day", // "day" | "week" | "month" | "range"
  period: null, // GET /period of the selection (for a day: only the scores and the formula are used)
  periodError: null,
  periodKey: null, // the query of the /period request in flight (a later selection wins)
};

if (problem) {
  showAccessDenied(problem, params.shop);
} else {
  start();
}

// ---------------------------------------------------------------------------------------- helpers

const isPeriod = () => state.periodKind !== "day";
const isToday = () => !isPeriod() && (state.day === null || state.day === state.today);
const colTitle = (c) => (lang() === "zh" ? c.zh : c.en);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatCell(col, row) {
  if (col.live && !isToday()) return DASH;
  const v = row[col.key];
  switch (col.kind) {
    case "text":
      return v ?? DASH;
    case "group":
      return groupName(v);
    case "status":
      return statusName(v);
    case "score":
      return typeof v === "number" ? v.toFixed(1) : DASH;
    default:
      return byKind(col.kind, v, state.timeZone);
  }
}

/** Rows of the selected day: figures merged with the live load (today only). */
function dayRows() {
  if (isPeriod()) return (state.period?.agents ?? []).map((a) => ({ ...a }));
  const rows = isToday() ? withLiveLoad(state.todayAgents, state.live?.agents) : state.pastAgents.map((a) => ({ ...a }));
  const scores = Object.fromEntries((state.period?.agents ?? []).map((a) => [a.agent_id, a.score]));
  for (const r of rows) r.score = scores[r.agent_id] ?? null;
  return rows;
}

function visibleRows() {
  const search = state.search.trim().toLowerCase();
  const rows = dayRows().filter(
    (r) => (!state.group || r.group === state.group) && (!search || String(r.agent_id).toLowerCase().includes(search)),
  );
  const { key, dir } = state.sort;
  const col = COLUMNS.find((c) => c.key === key) ?? COLUMNS[0];
  const text = col.kind === "text" || col.kind === "group" || col.kind === "status";
  rows.sort((a, b) => {
    const va = col.live && !isToday() ? null : a[key];
    const vb = col.live && !isToday() ? null : b[key];
    const na = va === null || va === undefined;
    const nb = vb === null || vb === undefined;
    if (na || nb) return na && nb ? a.agent_id.localeCompare(b.agent_id) : na ? 1 : -1; // nulls last
    const diff = text ? String(va).localeCompare(String(vb), "zh-CN") : va - vb;
    return diff * dir || a.agent_id.localeCompare(b.agent_id);
  });
  return rows;
}

/** The figures of the total line: the team, or the selected group (summary of the day). */
function totalRow() {
  const summary = isPeriod() ? state.period : isToday() ? state.todaySummary : state.pastSummary;
  if (!summary) return null;
  const figures = state.group ? summary.groups?.[state.group] : summary.team;
  if (!figures) return null;
  const row = { ...figures, agent_id: state.group ? `${groupName(state.group)} · ${t("team_line")}` : t("team_line") };
  row.group = state.group || "";
  if (isToday()) {
    const agents = (state.live?.agents ?? []).filter((a) => !state.group || a.group === state.group);
    row.status = "";
    row.active_conversations = agents.reduce((s, a) => s + (a.active_conversations ?? 0), 0);
    row.waiting_buyers = agents.reduce((s, a) => s + (a.waiting_buyers ?? 0), 0);
    row.longest_wait_s = agents.reduce((m, a) => Math.max(m, a.longest_wait_s ?? 0), 0);
    // the robot→human queue belongs to no agent or group: the team's live figures
    if (!state.group) {
      row.queued_now = state.live?.team?.queued_now;
      row.longest_queue_wait_s = state.live?.team?.longest_queue_wait_s;
    }
  }
  return row;
}

function totalCell(col, row) {
  if (col.key === "group") return state.group ? groupName(state.group) : t("all_groups");
  if (col.key === "status" || col.key === "score") return DASH;
  return formatCell(col, row);
}

// ------------------------------------------------------------------------------------------ start

function start() {
  applyI18n();
  $("shop-name").textContent = params.shop;
  document.title = `${t("app")} · ${t("console_title")} · ${params.shop}`;

  const api = createApi(params.shop, params.token);
  const conn = connectionIndicator($("conn"));
  const clock = clockAndUpdated($("clock"), $("updated"), () => state.timeZone);
  let failed = false;

  function authFailed(status) {
    if (failed) return;
    failed = true;
    showAccessDenied(status, params.shop);
  }
  const handle = (err) => {
    if (err?.isAuth) authFailed(err.status);
    else console.warn("kefu-pulse:", err);
  };

  const render = throttle(() => {
    if (failed) return;
    renderControls();
    renderSummary();
    renderTable();
    renderDrillFigures();
  }, 250);

  // ------------------------------------------------------------------ controls
  $("lang-toggle").addEventListener("click", () => toggleLang());
  $("day-picker").addEventListener("change", (e) => selectDay(e.target.value || null));
  $("today-btn").addEventListener("click", () => {
    state.periodKind = "day";
    $("period-kind").value = "day";
    selectDay(null);
  });
  $("period-kind").addEventListener("change", (e) => {
    state.periodKind = e.target.value;
    if (state.periodKind === "range" && !$("period-end").value) $("period-end").value = $("day-picker").value;
    selectDay($("day-picker").value || null);
  });
  $("period-end").addEventListener("change", () => loadPeriod());
  $("group-filter").addEventListener("change", (e) => {
    state.group = e.target.value;
    render();
  });
  $("search").addEventListener("input", (e) => {
    state.search = e.target.value;
    render();
  });
  $("export-csv").addEventListener("click", exportCsv);
  $("table-head").addEventListener("click", (e) => {
    const th = e.target.closest("th[data-key]");
    if (!th) return;
    const key = th.dataset.key;
    const col = COLUMNS.find((c) => c.key === key);
    const textual = col.kind === "text" || col.kind === "group" || col.kind === "status";
    state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: textual ? 1 : -1 };
    render();
  });
  $("table-body").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-agent]");
    if (tr) openDrill(tr.dataset.agent);
  });
  $("table-body").addEventListener("keydown", (e) => {
    const tr = e.target.closest("tr[data-agent]");
    if (tr && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      openDrill(tr.dataset.agent);
    }
  });
  $("drill-close").addEventListener("click", () => $("drill").close());
  $("drill").addEventListener("close", () => {
    state.drill.agent = null;
  });
  $("drill-minutes").addEventListener("change", (e) => {
    state.drill.minutes = Number(e.target.value);
    loadDrillSeries();
  });

  /** GET /period of the selection; for a single day only its scores are used (the figures stay live). */
  async function loadPeriod() {
    const day = state.day ?? state.today;
    if (!day) return;
    const query =
      state.periodKind === "range" ? { start: $("day-picker").value || day, end: $("period-end").value || day } : { kind: state.periodKind, day };
    const key = JSON.stringify(query);
    state.periodKey = key;
    try {
      const body = await api.period(query);
      if (state.periodKey !== key) return; // the selection changed meanwhile
      state.period = body;
      state.periodError = null;
    } catch (err) {
      if (state.periodKey !== key) return;
      state.period = null;
      state.periodError = err.isAuth ? null : err.message;
      handle(err);
    }
    render();
  }
  const periodSoon = throttle(loadPeriod, PERIOD_MIN_GAP_MS);

  async function selectDay(day) {
    state.day = !day || day === state.today ? null : day;
    $("day-picker").value = state.day ?? state.today ?? "";
    state.period = null;
    state.periodError = null;
    loadPeriod();
    if (!isToday() && !isPeriod()) {
      state.pastAgents = [];
      state.pastSummary = null;
      render();
      const requested = state.day;
      try {
        const [agents, summary] = await Promise.all([api.agents(requested), api.summary(requested)]);
        if (state.day !== requested) return; // the user picked another day meanwhile
        state.pastAgents = agents.agents ?? [];
        state.pastSummary = summary;
      } catch (err) {
        handle(err);
      }
    }
    render();
  }

  function exportCsv() {
    const header = COLUMNS.map(colTitle);
    const rows = visibleRows().map((r) => COLUMNS.map((c) => formatCell(c, r)));
    const total = totalRow();
    if (total) rows.push(COLUMNS.map((c) => totalCell(c, total)));
    const day = isPeriod() && state.period ? `${state.period.start}_${state.period.end}` : isToday() ? state.today : state.day;
    downloadCsv(`kefu-pulse_${params.shop}_${day ?? "today"}.csv`, toCsv(header, rows));
  }

  // ------------------------------------------------------------------ drill-down
  const drillCharts = {
    messages: createTrendChart($("drill-chart-messages"), {
      series: [
        { key: "buyer_messages", type: "line", area: true },
        { key: "agent_messages", type: "line", area: true },
        { key: "new_consult_buyers", type: "line" },
      ],
      timeZone: () => state.timeZone,
      interactive: true,
    }),
    responses: createTrendChart($("drill-chart-responses"), {
      series: [
        { key: "responses", type: "bar" },
        { key: "slow_responses", type: "bar" },
      ],
      timeZone: () => state.timeZone,
      interactive: true,
    }),
    avg: createTrendChart($("drill-chart-avg"), {
      series: [{ key: "avg_response_s", type: "line", area: true, symbols: true }],
      timeZone: () => state.timeZone,
      interactive: true,
      valueFormat: seconds,
    }),
    paid: createTrendChart($("drill-chart-paid"), {
      series: [{ key: "paid_amount", type: "bar" }],
      timeZone: () => state.timeZone,
      interactive: true,
      valueFormat: money,
    }),
  };

  function openDrill(agent) {
    state.drill.agent = agent;
    state.drill.series = null;
    $("drill-agent").textContent = agent;
    renderDrillFigures();
    renderDrillSeries();
    if (!$("drill").open) $("drill").showModal();
    loadDrillSeries();
  }

  async function loadDrillSeries() {
    const { agent, minutes } = state.drill;
    if (!agent) return;
    try {
      const series = await api.series(agent, minutes);
      if (state.drill.agent !== agent || state.drill.minutes !== minutes) return;
      state.drill.series = series;
      renderDrillSeries();
    } catch (err) {
      handle(err);
    }
  }
  const drillSoon = throttle(loadDrillSeries, SERIES_MIN_GAP_MS);
  setInterval(loadDrillSeries, SERIES_EVERY_MS);

  function renderDrillSeries() {
    const points = state.drill.series?.points ?? [];
    for (const c of Object.values(drillCharts)) c.update(points);
    const sliding = state.drill.series?.sliding ?? {};
    const table = el("table", "sliding");
    const head = el("tr");
    head.append(el("th", "", ""), ...SLIDING_KEYS.map(([k]) => el("th", "", t(`series_${k}`))));
    table.append(head);
    for (const span of ["last_5m", "last_15m", "last_60m"]) {
      const tr = el("tr");
      tr.append(el("th", "", t(span)), ...SLIDING_KEYS.map(([k, kind]) => el("td", "num", byKind(kind, sliding[span]?.[k]))));
      table.append(tr);
    }
    $("drill-sliding").replaceChildren(table);
  }

  // ------------------------------------------------------------------ data
  function applyToday(body) {
    if (body.day) {
      const dayChanged = state.today !== null && state.today !== body.day;
      state.today = body.day;
      if (dayChanged && state.day === null) $("day-picker").value = body.day;
    }
    if (body.team) state.todaySummary = { day: body.day, team: body.team, groups: body.groups ?? {} };
    if (Array.isArray(body.agents)) state.todayAgents = body.agents;
    if (body.live) state.live = body.live;
  }

  const loadUnpaid = throttle(async () => {
    try {
      state.unpaid = await api.unpaidOrders();
      renderUnpaid();
    } catch (err) {
      handle(err);
    }
  }, UNPAID_EVERY_MS);

  async function initialLoad() {
    const results = await Promise.allSettled([api.settings(), api.summary(), api.agents(), api.live()]);
    const authError = results.find((r) => r.status === "rejected" && r.reason?.isAuth);
    if (authError) {
      authFailed(authError.reason.status);
      return false;
    }
    const [settings, summary, agents, live] = results.map((r) => (r.status === "fulfilled" ? r.value : null));
    if (settings?.timezone) state.timeZone = settings.timezone;
    state.settingsGroups = Object.values(settings?.groups ?? {});
    if (!state.todaySummary && summary) applyToday(summary);
    if (!state.todayAgents.length && agents) state.todayAgents = agents.agents ?? [];
    if (!state.live.team && live) state.live = live;
    if (state.today) {
      $("day-picker").value = state.today;
      $("day-picker").max = state.today;
    }
    clock.touch();
    render();
    loadUnpaid();
    loadPeriod();
    return true;
  }

  initialLoad().then((ok) => {
    if (!ok) return;
    connectScreenStream({
      api,
      params,
      conn,
      clock,
      authFailed,
      isFailed: () => failed,
      onFrame(frame) {
        if (frame.type === "snapshot" || frame.type === "update") {
          applyToday(frame);
          if (state.today) $("day-picker").max = state.today;
          render();
          loadUnpaid();
          if (!state.period || state.period.end >= (state.today ?? "")) periodSoon(); // scores move with today
          if (state.drill.agent) drillSoon();
        }
      },
    });
  });

  onLangChange(() => {
    document.title = `${t("app")} · ${t("console_title")} · ${params.shop}`;
    render();
    renderUnpaid();
    renderDrillSeries();
    for (const c of Object.values(drillCharts)) c.refresh();
  });
}

// ---------------------------------------------------------------------------------------- render

function renderUnpaid() {
  const body = state.unpaid;
  if (!body) return;
  $("unpaid-total").textContent = `${t("unpaid_total")} ${body.total} · ${money(body.total_amount)}`;
  const rows = body.orders.map((o) => {
    const tr = el("tr");
    tr.dataset.order = o.order_id;
    tr.append(
      el("td", "", o.order_id),
      el("td", "", o.buyer_id),
      el("td", "", o.order_agent ?? t("unpaid_silent")),
      el("td", "num", seconds(o.age_s)),
      el("td", "num", money(o.amount)),
      el("td", "", o.chased ? t("yes") : t("no")),
    );
    return tr;
  });
  if (!rows.length) {
    const td = el("td", "", t("unpaid_none"));
    td.colSpan = 6;
    const tr = el("tr", "unpaid-empty");
    tr.append(td);
    rows.push(tr);
  }
  $("unpaid-body").replaceChildren(...rows);
}

function renderControls() {
  const groups = new Set(state.settingsGroups);
  for (const r of [...state.todayAgents, ...state.pastAgents, ...(state.live?.agents ?? [])]) if (r.group) groups.add(r.group);
  for (const g of Object.keys(state.todaySummary?.groups ?? {})) groups.add(g);
  const select = $("group-filter");
  const wanted = ["", ...[...groups].sort()];
  const current = [...select.options].map((o) => `${o.value}|${o.textContent}`);
  const next = wanted.map((g) => `${g}|${g ? groupName(g) : t("all_groups")}`);
  if (current.join() !== next.join()) {
    select.replaceChildren(
      ...wanted.map((g) => {
        const o = el("option", "", g ? groupName(g) : t("all_groups"));
        o.value = g;
        return o;
      }),
    );
  }
  select.value = state.group;
  const note = $("day-note");
  note.hidden = isToday() && !state.periodError;
  note.classList.toggle("error", Boolean(state.periodError));
  if (state.periodError) note.textContent = tf("period_error", state.periodError);
  else if (isPeriod()) note.textContent = state.period ? tf("period_note", state.period.start, state.period.end, state.period.days) : "";
  else note.textContent = isToday() ? "" : `${t("past_day_note")} · ${t("live_na")}`;
  $("today-btn").disabled = isToday();
  $("period-kind").value = state.periodKind;
  $("period-end-wrap").hidden = state.periodKind !== "range";
  const kpi = state.period?.kpi;
  $("kpi-formula").textContent = kpi ? `${t("kpi_formula")} ${lang() === "zh" ? kpi.formula_zh : kpi.formula_en}` : "";
}

// The tiles of the total line: [figure key, shown only for "team" (not a group), "live" (today) or
// "team_live" (both), label when not the figure's own name]. Formats come from the catalogue.
const SUMMARY_TILES = [
  ["sales"],
  ["shop_sales", "team"],
  ["silent_share", "team"],
  ["inquiry_pay_rate"],
  ["sla_rate"],
  ["avg_response_s"],
  ["received_buyers"],
  ["active_conversations", "live"],
  ["waiting_buyers", "live", "kpi_waiting"],
  ["longest_wait_s", "live"],
  ["queued_now", "team_live"],
  ["longest_queue_wait_s", "team_live"],
  ["robot_buyers", "team"],
  ["to_human_buyers", "team"],
  ["queue_wait_avg_s", "team"],
  ["queue_abandoned_buyers", "team"],
  ["after_hours_buyers"],
];

function renderSummary() {
  const total = totalRow() ?? {};
  const tiles = [];
  for (const [key, only, label = `fig_${key}`] of SUMMARY_TILES) {
    if ((only === "team" || only === "team_live") && state.group) continue;
    if ((only === "live" || only === "team_live") && !isToday()) continue;
    const tile = el("div", "tile");
    tile.dataset.key = key;
    const value = el("div", "tile-value num", byKind(FIGURE_KIND[key], total[key]));
    value.id = `sum-${key.replace(/_/g, "-")}`;
    tile.append(el("div", "tile-label", t(label)), value);
    if (key === "sla_rate" && typeof total.sla_rate === "number") {
      tile.dataset.level = total.sla_rate < SLA_RED ? "bad" : "good";
    }
    if (key === "longest_wait_s" && total.longest_wait_s > WAIT_RED_S) tile.dataset.level = "bad";
    tiles.push(tile);
  }
  $("summary").replaceChildren(...tiles);
}

function renderTable() {
  const headRow = $("table-head");
  headRow.replaceChildren(
    ...COLUMNS.map((c, i) => {
      const th = el("th", `${c.kind === "text" || c.kind === "group" || c.kind === "status" ? "" : "num"}${i === 0 ? " sticky" : ""}`);
      th.dataset.key = c.key;
      th.title = `${c.zh} · ${c.en} (${c.key})`;
      th.append(el("span", "", colTitle(c)));
      if (state.sort.key === c.key) {
        th.classList.add("sorted");
        th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
        th.append(el("span", "sort-mark", state.sort.dir > 0 ? "▲" : "▼"));
      }
      return th;
    }),
  );

  const rows = visibleRows();
  const all = dayRows().length;
  $("count-note").textContent =
    rows.length === all ? `${all} ${t("agents_count")}` : `${t("rows_shown")} ${rows.length} / ${all} ${t("agents_count")}`;
  $("table-body").replaceChildren(
    ...rows.map((r) => {
      const tr = el("tr");
      tr.dataset.agent = r.agent_id;
      tr.tabIndex = 0;
      const lvl = agentLevel(isToday() ? r : { ...r, longest_wait_s: 0 });
      if (lvl) tr.classList.add(lvl);
      tr.append(
        ...COLUMNS.map((c, i) => {
          const td = el("td", `${c.kind === "text" || c.kind === "group" || c.kind === "status" ? "" : "num"}${i === 0 ? " sticky" : ""}`, formatCell(c, r));
          td.dataset.key = c.key;
          if (c.kind === "status" && isToday()) td.classList.add("status", `s-${r.status || "unknown"}`);
          const heat = cellHeat(c.key, r);
          if (heat) td.classList.add(heat);
          return td;
        }),
      );
      return tr;
    }),
  );
  if (!rows.length) {
    const tr = el("tr", "empty");
    const td = el("td", "", t("no_agents"));
    td.colSpan = COLUMNS.length;
    tr.append(td);
    $("table-body").append(tr);
  }

  const total = totalRow();
  const foot = $("table-foot");
  if (!total) {
    foot.replaceChildren();
    return;
  }
  const tr = el("tr", "total");
  tr.append(
    ...COLUMNS.map((c, i) => {
      const td = el("td", `${c.kind === "text" || c.kind === "group" || c.kind === "status" ? "" : "num"}${i === 0 ? " sticky" : ""}`, totalCell(c, total));
      td.dataset.key = c.key;
      return td;
    }),
  );
  foot.replaceChildren(tr);
}

/** "hot" (red) / "warm" (amber) for the cells that make a row red or amber (metrics.js thresholds). */
function cellHeat(key, row) {
  if (key === "sla_rate" && typeof row.sla_rate === "number") {
    return row.sla_rate < SLA_RED ? "hot" : row.sla_rate < SLA_AMBER ? "warm" : "";
  }
  if (key === "longest_wait_s" && isToday()) {
    const wait = row.longest_wait_s ?? 0;
    return wait > WAIT_RED_S ? "hot" : wait > WAIT_AMBER_S ? "warm" : "";
  }
  return "";
}

function renderDrillFigures() {
  const agent = state.drill.agent;
  if (!agent) return;
  const row = dayRows().find((r) => r.agent_id === agent) ?? { agent_id: agent };
  $("drill-group").textContent = groupName(row.group);
  const keys = [
    "sales",
    "inquiry_pay_rate",
    "sla_rate",
    "avg_response_s",
    "first_response_avg_s",
    "received_buyers",
    "responses",
    "slow_responses",
    "satisfaction_rate",
  ];
  const tiles = keys.map((key) => {
    const col = COLUMNS.find((c) => c.key === key);
    const tile = el("div", "tile");
    tile.append(el("div", "tile-label", colTitle(col)), el("div", "tile-value num", formatCell(col, row)));
    return tile;
  });
  if (isToday()) {
    for (const col of LIVE_METRICS) {
      const tile = el("div", "tile live");
      tile.append(el("div", "tile-label", colTitle(col)), el("div", "tile-value num", formatCell(col, row)));
      tiles.push(tile);
    }
  }
  $("drill-figures").replaceChildren(...tiles);
}

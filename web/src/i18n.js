// Chinese by default, English on request (toggle, or ?lang=en in the URL for a kiosk); the choice is
// remembered in localStorage.
// Static text in the HTML carries data-i18n="key" and is filled in by applyI18n().
// The names of the figures come from the metric catalogue (streams/core/catalogue.py, generated into
// catalogue.generated.js): fig_<key> is a figure's name, series_<key> its shorter name in charts.
import { FIGURES } from "./catalogue.generated.js";
import { SHOPSET_STRINGS } from "./shopset-strings.js";
import { WARROOM_STRINGS } from "./warroom.strings.js";

const STORAGE_KEY = "kefu-pulse.lang";
const LANGS = ["zh", "en"];

function figureStrings(lang) {
  const strings = {};
  for (const f of FIGURES) {
    strings[`fig_${f.key}`] = lang === "zh" ? f.zh : f.en;
    if (f.chartZh) strings[`series_${f.key}`] = lang === "zh" ? f.chartZh : f.chartEn;
  }
  return strings;
}

const STRINGS = {
  zh: {
    ...figureStrings("zh"),
    ...SHOPSET_STRINGS.zh,
    ...WARROOM_STRINGS.zh,
    app: "客服脉搏",
    wall_title: "实时客服看板",
    console_title: "客服主管控制台",
    today: "今天",
    day: "统计日",
    group: "分组",
    all_groups: "全部分组",
    search: "搜索客服",
    export_csv: "导出 CSV",
    lang_toggle: "English",
    last_updated: "更新于",
    never: "尚未更新",
    conn_connecting: "连接中",
    conn_live: "实时",
    conn_reconnecting: "重连中",
    conn_offline: "连接中断",
    conn_reloading: "正在重新加载",
    kpi_waiting: "未回复", // the wall's tile: 排队/未回复 at agents, not the robot→human queue (排队中)
    chart_messages: "消息量 / 分钟",
    chart_responses: "响应次数 / 分钟",
    chart_avg_response: "平均响应时长 (秒) / 分钟",
    chart_paid: "付款金额 / 分钟",
    board_sales: "销售排行",
    board_load: "接待压力",
    board_agent: "客服",
    board_rank: "#",
    no_agents: "暂无客服数据",
    alerts: "告警",
    no_alerts: "暂无告警",
    alert_firing: "告警",
    alert_resolved: "已恢复",
    alert_team: "团队",
    alert_kind_buyer_waiting: "买家等待过久",
    alert_kind_slow_response: "慢响应",
    alert_kind_avg_response: "平均响应时长过高",
    alert_kind_sla_rate: "3分钟人工响应率过低",
    alert_kind_waiting_buyers: "排队人数过多",
    alert_kind_active_conversations: "接待量过高",
    alert_kind_queue_waiting: "转人工排队人数过多",
    alert_kind_queue_wait: "转人工排队过久",
    alert_kind_agent_away: "挂起过久",
    alert_kind_staffing: "人手不足",
    alert_threshold: "阈值",
    status_online: "在线",
    status_busy: "忙碌",
    status_away: "挂起", // 千牛's word; the figure away_s is 挂起时长
    status_offline: "离线",
    status_unknown: "未知",
    group_presale: "售前",
    group_aftersale: "售后",
    agents_count: "位客服",
    rows_shown: "显示",
    drill_title: "客服明细",
    drill_minutes: "时间范围",
    drill_close: "关闭",
    last_5m: "近 5 分钟",
    last_15m: "近 15 分钟",
    last_60m: "近 60 分钟",
    minutes_60: "1 小时",
    minutes_180: "3 小时",
    minutes_720: "12 小时",
    minutes_1440: "24 小时",
    past_day_note: "历史日期：数据为当日统计，不随实时推送更新",
    unpaid_title: "待催付",
    unpaid_total: "未付款订单",
    unpaid_order: "订单号",
    unpaid_buyer: "买家",
    unpaid_agent: "下单客服",
    unpaid_age: "已等待",
    unpaid_amount: "金额",
    unpaid_chased: "已催付",
    unpaid_silent: "静默",
    unpaid_none: "暂无未付款订单",
    yes: "是",
    no: "否",
    live_na: "实时接待数据仅对今天显示",
    loading: "加载中…",
    load_failed: "数据加载失败，稍后自动重试",
    team_line: "团队合计",
    sub_conv: "询单 {0} · 付款 {1}",
    sub_sla: "达标 {0} / {1} 人",
    sub_resp: "响应 {0} 次 · 慢响应 {1}",
    sub_active: "今日接待 {0} 人",
    sub_waiting: "{0} 位客服有买家排队",
    nobody_waiting: "无人等待",
    status_title: "状态",
    board_conv: "询单转化",
    board_sla: "3分钟率",
    board_active: "接待",
    board_waiting: "排队",
    board_wait: "最长等待",
    sub_queue: "最长排队 {0}",
    kpi_chase: "催付 · 未付款",
    sub_chase: "已催 {0} · 挽回 {1}",
    kpi_balance: "尾款 · 待付人数",
    sub_balance: "今日已付 {0}",
    staffing: "人手预估",
    staff_predicted: "预计{0}响应率 {1}",
    staff_needed: "需增派 {0} 人",
    staff_enough: "人手充足",
    no_staffing: "暂无分组数据",
  },
  en: {
    ...figureStrings("en"),
    ...SHOPSET_STRINGS.en,
    ...WARROOM_STRINGS.en,
    app: "Kefu Pulse",
    wall_title: "Live customer-service wall",
    console_title: "Supervisor console",
    today: "Today",
    day: "Day",
    group: "Group",
    all_groups: "All groups",
    search: "Search agent",
    export_csv: "Export CSV",
    lang_toggle: "中文",
    last_updated: "Updated",
    never: "not yet updated",
    conn_connecting: "Connecting",
    conn_live: "Live",
    conn_reconnecting: "Reconnecting",
    conn_offline: "Disconnected",
    conn_reloading: "Reloading",
    kpi_waiting: "Unanswered",
    chart_messages: "Messages / min",
    chart_responses: "Responses / min",
    chart_avg_response: "Avg response (s) / min",
    chart_paid: "Paid amount / min",
    board_sales: "Top sales",
    board_load: "Load now",
    board_agent: "Agent",
    board_rank: "#",
    no_agents: "No agents yet",
    alerts: "Alerts",
    no_alerts: "No alerts",
    alert_firing: "Alert",
    alert_resolved: "Resolved",
    alert_team: "Team",
    alert_kind_buyer_waiting: "Buyer waiting too long",
    alert_kind_slow_response: "Slow response",
    alert_kind_avg_response: "Avg response too slow",
    alert_kind_sla_rate: "3-min response rate too low",
    alert_kind_waiting_buyers: "Too many buyers waiting",
    alert_kind_active_conversations: "Too many active chats",
    alert_kind_queue_waiting: "Too many buyers queuing",
    alert_kind_queue_wait: "Queued too long",
    alert_kind_agent_away: "Away too long",
    alert_kind_staffing: "Understaffed",
    alert_threshold: "threshold",
    status_online: "Online",
    status_busy: "Busy",
    status_away: "Away",
    status_offline: "Offline",
    status_unknown: "Unknown",
    group_presale: "Presale",
    group_aftersale: "After-sale",
    agents_count: "agents",
    rows_shown: "shown",
    drill_title: "Agent detail",
    drill_minutes: "Range",
    drill_close: "Close",
    last_5m: "Last 5 min",
    last_15m: "Last 15 min",
    last_60m: "Last 60 min",
    minutes_60: "1 hour",
    minutes_180: "3 hours",
    minutes_720: "12 hours",
    minutes_1440: "24 hours",
    past_day_note: "Past day: figures of that day, not updated live",
    unpaid_title: "Unpaid orders to chase",
    unpaid_total: "Unpaid orders",
    unpaid_order: "Order",
    unpaid_buyer: "Buyer",
    unpaid_agent: "Order agent",
    unpaid_age: "Age",
    unpaid_amount: "Amount",
    unpaid_chased: "Chased",
    unpaid_silent: "silent",
    unpaid_none: "No unpaid orders",
    yes: "yes",
    no: "no",
    live_na: "Live load is shown for today only",
    loading: "Loading…",
    load_failed: "Could not load the figures; retrying",
    team_line: "Team total",
    sub_conv: "{0} inquiries · {1} paid",
    sub_sla: "{0} of {1} buyers in 3 min",
    sub_resp: "{0} responses · {1} slow",
    sub_active: "{0} buyers received today",
    sub_waiting: "{0} agents with buyers waiting",
    nobody_waiting: "nobody waiting",
    status_title: "Status",
    board_conv: "Conv.",
    board_sla: "3-min",
    board_active: "Active",
    board_waiting: "Waiting",
    board_wait: "Longest wait",
    sub_queue: "longest {0}",
    kpi_chase: "Chasing · unpaid",
    sub_chase: "{0} chased · {1} back",
    kpi_balance: "Balances due",
    sub_balance: "{0} paid today",
    staffing: "Staffing",
    staff_predicted: "predicted {0} response rate {1}",
    staff_needed: "{0} more agents needed",
    staff_enough: "enough agents",
    no_staffing: "No groups yet",
  },
};

function stored() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function fromUrl() {
  const value = new URLSearchParams(location.search).get("lang");
  if (!LANGS.includes(value)) return null;
  try {
    localStorage.setItem(STORAGE_KEY, value);
  } catch {
    // storage disabled
  }
  return value;
}

let current = fromUrl() ?? (LANGS.includes(stored()) ? stored() : "zh");
const listeners = new Set();

export function lang() {
  return current;
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // private mode / disabled storage: the choice lasts for this page only
  }
  applyI18n();
  for (const fn of listeners) fn(next);
}

export function toggleLang() {
  setLang(current === "zh" ? "en" : "zh");
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function t(key) {
  return STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
}

/** t() with {0}, {1}… replaced by the arguments. */
export function tf(key, ...args) {
  return t(key).replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}

/** Label of a group id: known ones translated, others shown as configured. */
export function groupName(group) {
  if (!group) return "—";
  const key = `group_${group}`;
  return key in STRINGS.zh ? t(key) : group;
}

export function statusName(status) {
  const key = `status_${status || "unknown"}`;
  return key in STRINGS.zh ? t(key) : status;
}

export function applyI18n(root = document) {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}

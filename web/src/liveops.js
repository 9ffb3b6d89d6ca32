// Live operations on the wall (issue 15): an agent's time in status and the staffing now-cast line.
// Pure text/level functions (unit-tested in web/test/liveops.test.js); the wall only places them.
// Invariants:
// - time in status = the frame's `now` − status_since_ts (the server's clock, never the browser's:
//   with KEFU_CLOCK=event "now" is the watermark, and a wall must agree with /live);
// - an unknown start or a start after `now` shows the status alone, never a negative time;
// - the staffing figures are shown as the API sends them (predicted_sla_rate rounded to whole percent).
import { DASH } from "./format.js";
import { groupName, lang, statusName, t, tf } from "./i18n.js";

// An agent away (挂起) at least this long is shown red on the wall (a supervisor's "where is she?").
export const AWAY_RED_S = 300;
export const AWAY_AMBER_S = 120;

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** Seconds an agent has been in their status at `nowMs`; null when unknown. */
export function statusAgeS(agent, nowMs) {
  const since = agent?.status_since_ts;
  if (!isNum(since) || !isNum(nowMs) || nowMs < since) return null;
  return (nowMs - since) / 1000;
}

/** A coarse duration for the board: 45 秒 · 8 分钟 · 1 小时 5 分 (en: 45 s · 8 min · 1 h 5 min). Floors. */
export function durationShort(s) {
  if (!isNum(s) || s < 0) return DASH;
  const zh = lang() === "zh";
  const total = Math.floor(s);
  if (total < 60) return zh ? `${total} 秒` : `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  if (h === 0) return zh ? `${m} 分钟` : `${m} min`;
  return zh ? `${h} 小时 ${m} 分` : `${h} h ${m} min`;
}

/** "挂起 8 分钟" / "Away 8 min"; the status alone when the time is unknown. */
export function statusWithAge(status, ageS) {
  const name = statusName(status);
  return ageS === null || ageS === undefined ? name : `${name} ${durationShort(ageS)}`;
}

/** "bad" | "warn" | "" for an agent's status cell: only being away (挂起) long is flagged. */
export function statusLevel(status, ageS) {
  if (status !== "away" || !isNum(ageS)) return "";
  if (ageS >= AWAY_RED_S) return "bad";
  if (ageS >= AWAY_AMBER_S) return "warn";
  return "";
}

/** The SLA target's duration in a label: 3分钟 / 90秒 (en: 3-min / 90-s). */
export function slaLabel(slaS) {
  const s = isNum(slaS) && slaS > 0 ? slaS : 180;
  const zh = lang() === "zh";
  if (s % 60 === 0) return zh ? `${s / 60}分钟` : `${s / 60}-min`;
  return zh ? `${s}秒` : `${s}-s`;
}

/** "售前: 预计3分钟响应率 78 % · 需增派 3 人" (or "· 人手充足" when no agent is needed). */
export function staffingLine(group, nowcast, slaS) {
  const rate = isNum(nowcast?.predicted_sla_rate) ? `${Math.round(nowcast.predicted_sla_rate * 100)} %` : DASH;
  const needed = nowcast?.agents_needed;
  const tail = isNum(needed) && needed > 0 ? tf("staff_needed", needed) : t("staff_enough");
  return `${groupName(group)}: ${tf("staff_predicted", slaLabel(slaS), rate)} · ${tail}`;
}

/** "bad" when the group needs more agents, "" otherwise. */
export function staffingLevel(nowcast) {
  return isNum(nowcast?.agents_needed) && nowcast.agents_needed > 0 ? "bad" : "";
}

/**
 * The wall's 催付 "unpaid now" ¥: the team's unpaid_amount (orders with an order agent) plus
 * silent_unpaid_amount (orders with none) — disjoint sets, so the sum counts each order once.
 * Summed in fen so 0.1 + 0.2 stays 0.3; null until either figure is known.
 */
export function unpaidNow(team) {
  return sumYuan([team?.unpaid_amount, team?.silent_unpaid_amount]);
}

/**
 * The wall's 尾款 "paid today" ¥: the team's balance_paid_amount (balances credited to an agent) plus
 * silent_balance_paid_amount (balances credited to nobody) — disjoint, so every balance paid today
 * counts once (docs/metric-rules.md). In fen; null until either figure is known.
 */
export function balancePaidToday(team) {
  return sumYuan([team?.balance_paid_amount, team?.silent_balance_paid_amount]);
}

/** The known yuan amounts summed exactly (in fen); null when none is known. */
function sumYuan(amounts) {
  const parts = amounts.filter((v) => typeof v === "number");
  return parts.length ? parts.reduce((sum, v) => sum + Math.round(v * 100), 0) / 100 : null;
}

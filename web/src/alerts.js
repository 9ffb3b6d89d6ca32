// Alert frames / GET /alerts items → one line of text for the ticker. Only rule, agent, value and
// threshold are shown (alerts carry no buyer ids, and none would be shown if they did).
import { clockTime, count, percent, seconds } from "./format.js";
import { t } from "./i18n.js";

const SECONDS_KINDS = new Set(["buyer_waiting", "slow_response", "avg_response", "queue_wait", "agent_away"]);
// Kinds whose value is a wait that keeps growing while the alert fires: the ticker ages it from the
// server's "now" (frames carry it), so a firing 买家等待过久 reads the wait as it is, not as it was.
export const AGING_KINDS = new Set(["buyer_waiting", "queue_wait", "agent_away"]);

function value(kind, v) {
  if (v === null || v === undefined) return "—";
  if (SECONDS_KINDS.has(kind)) return seconds(v);
  if (kind === "sla_rate") return percent(v);
  return count(v);
}

/** Stable identity of an alert state change (alert_id + state), for de-duplication. */
export function alertKey(a) {
  return `${a.alert_id ?? `${a.rule_id}|${a.agent_id}|${a.ts}`}|${a.state ?? "firing"}`;
}

/** The alert's value at `nowMs`: a firing wait (AGING_KINDS) grows from its transition's ts; others as sent. */
export function valueAt(a, nowMs) {
  const firing = (a.state || "firing") !== "resolved";
  if (!firing || !AGING_KINDS.has(a.kind) || typeof a.value !== "number" || typeof a.ts !== "number"
      || typeof nowMs !== "number") {
    return a.value;
  }
  return a.value + Math.max(0, nowMs - a.ts) / 1000;
}

/** Parts of a ticker item: {time, state, text, firing, severity}; `nowMs` (optional) ages a firing wait
 * (pass it only for an alert's newest transition: an older "firing" one is history). */
export function describeAlert(a, timeZone, nowMs) {
  const kind = a.kind || "";
  const kindText = t(`alert_kind_${kind}`) === `alert_kind_${kind}` ? kind || a.rule_id || "?" : t(`alert_kind_${kind}`);
  const subject = a.agent_id || a.group || t("alert_team");
  const firing = (a.state || "firing") !== "resolved";
  const ts = typeof a.ts === "number" ? a.ts : Date.parse(a.ts);
  const threshold = a.threshold !== undefined && a.threshold !== null ? ` (${t("alert_threshold")} ${value(kind, a.threshold)})` : "";
  return {
    time: Number.isFinite(ts) ? clockTime(ts, timeZone).slice(0, 5) : "",
    state: firing ? t("alert_firing") : t("alert_resolved"),
    text: `${subject} · ${kindText} ${value(kind, valueAt(a, nowMs))}${threshold}`,
    firing,
    severity: a.severity || "warning",
  };
}

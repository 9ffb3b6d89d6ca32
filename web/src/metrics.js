// The figures of the screens, from the metric catalogue (streams/core/catalogue.py, generated into
// catalogue.generated.js): API key, Chinese and English name, and `kind` = how format.js byKind formats it.
import { FIGURES } from "./catalogue.generated.js";

const inScope = (scope) =>
  FIGURES.filter((f) => f.scopes.includes(scope)).map(({ key, zh, en, format }) => ({ key, zh, en, kind: format }));

// Every per-agent figure of the day (the API keys of streams/core/figures.py AGENT_KEYS), in API order.
export const AGENT_METRICS = inScope("agent");

// Live load (接待压力) per agent at "now".
export const LIVE_METRICS = inScope("live");

// The format (format.js byKind kind) of every figure, by key.
export const FIGURE_KIND = Object.fromEntries(FIGURES.map((f) => [f.key, f.format]));

// Per-minute series figures (/series points and sliding windows), in API order.
export const SERIES_METRICS = inScope("series");

// Colour thresholds shared by the wall and the console.
export const WAIT_RED_S = 120; // a buyer waits longer than this → red
export const WAIT_AMBER_S = 60;
export const SLA_RED = 0.9; // 3-minute response rate below this → red (Tmall asks ≥ 90 %)
export const SLA_AMBER = 0.95;

/** "bad" | "warn" | "" for an agent (figures + live load merged). */
export function agentLevel(row) {
  const wait = row.longest_wait_s ?? 0;
  const sla = row.sla_rate;
  if (wait > WAIT_RED_S || (sla !== null && sla !== undefined && sla < SLA_RED)) return "bad";
  if (wait > WAIT_AMBER_S || (sla !== null && sla !== undefined && sla < SLA_AMBER)) return "warn";
  return "";
}

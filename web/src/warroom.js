// War-room logic of the screens, pure: the ▲ / ▼ change against the same minute yesterday and the pace
// against a target, recomputed from the live value of a frame and the reference values of
// GET /progress (yesterday's value at this minute, the value expected by now).
import { FIGURES } from "./catalogue.generated.js";
import { DASH } from "./format.js";

const HIGHER_IS_BETTER = Object.fromEntries(FIGURES.map((f) => [f.key, f.higherIsBetter]));
export const NEAR_SHARE = 0.95; // streams/core/pace.py: within 5 % below the expected value is "near"

/** (value − before) ÷ |before|; null when either is missing or before is 0 (as streams/core/curves.py). */
export function change(value, before) {
  if (typeof value !== "number" || typeof before !== "number" || before === 0) return null;
  return (value - before) / Math.abs(before);
}

/** "▲ 12.5%", "▼ 3.0%", "— 0.0%" for no change, DASH when there is nothing to compare. */
export function changeText(ratio) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return DASH;
  const mark = ratio > 0 ? "▲" : ratio < 0 ? "▼" : "—";
  return `${mark} ${(Math.abs(ratio) * 100).toFixed(1)}%`;
}

/** "good" / "bad" / "" (neutral): up is good for a figure where higher is better, bad where lower is. */
export function changeLevel(key, ratio) {
  const better = HIGHER_IS_BETTER[key];
  if (ratio === null || ratio === undefined || ratio === 0 || better === null || better === undefined) return "";
  return ratio > 0 === better ? "good" : "bad";
}

/** "ahead" / "near" / "behind" of a live value against the expected one; null without a value. */
export function paceStatus(value, expected) {
  if (typeof value !== "number" || typeof expected !== "number") return null;
  if (value >= expected) return "ahead";
  return value >= expected * NEAR_SHARE ? "near" : "behind";
}

/** The colour level of a pace status on the tiles. */
export function paceLevel(status) {
  return { ahead: "good", near: "warn", behind: "bad" }[status] ?? "";
}

/** Progress 0–1 (capped for the bar) of a live value against its target. */
export function progressShare(value, target) {
  if (typeof value !== "number" || !(target > 0)) return 0;
  return Math.min(Math.max(value / target, 0), 1);
}

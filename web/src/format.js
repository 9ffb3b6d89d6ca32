// Number, money, ratio and duration formats for the screens and the CSV export (one source, so the
// export shows exactly what the table shows). The API sends exact figures; rounding happens here.
//   money   zh: ¥9,876.50 · ¥1.23万 (≥ 10,000) · ¥1.23亿 (≥ 100,000,000)   en: ¥12,345.60
//   ratio   93.5% (1 decimal); null (denominator 0) → "—"
//   seconds 42.3 秒 · 1 分 5 秒 · 1 小时 2 分      en: 42.3 s · 1 min 5 s · 1 h 2 min
import { lang } from "./i18n.js";

export const DASH = "—";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

const grouped = (v, digits) =>
  v.toLocaleString(lang() === "zh" ? "zh-CN" : "en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });

export function count(v) {
  return isNum(v) ? grouped(v, 0) : DASH;
}

export function money(v) {
  if (!isNum(v)) return DASH;
  if (lang() === "zh") {
    const abs = Math.abs(v);
    if (abs >= 1e8) return `¥${grouped(v / 1e8, 2)}亿`;
    if (abs >= 1e4) return `¥${grouped(v / 1e4, 2)}万`;
  }
  return `¥${grouped(v, 2)}`;
}

export function percent(v) {
  return isNum(v) ? `${(v * 100).toFixed(1)}%` : DASH;
}

export function decimal(v, digits = 2) {
  return isNum(v) ? grouped(v, digits) : DASH;
}

export function seconds(v) {
  if (!isNum(v)) return DASH;
  const zh = lang() === "zh";
  if (v < 59.95) return zh ? `${v.toFixed(1)} 秒` : `${v.toFixed(1)} s`;
  const total = Math.round(v);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return zh ? `${h} 小时 ${m} 分` : `${h} h ${m} min`;
  return zh ? `${m} 分 ${s} 秒` : `${m} min ${s} s`;
}

/** Format a figure by its kind (see metrics.js). */
export function byKind(kind, v, timeZone) {
  switch (kind) {
    case "clock": // an epoch-ms instant: the time of day (in the shop's zone when given, else the browser's)
      return isNum(v) ? clockTime(v, timeZone) : DASH;
    case "money":
      return money(v);
    case "pct":
      return percent(v);
    case "secs":
      return seconds(v);
    case "ratio":
      return decimal(v, 2);
    default:
      return count(v);
  }
}

// ---------------------------------------------------------------------------------------- time

const formatters = new Map();
function dtf(timeZone, options) {
  const key = `${timeZone}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) {
    let f;
    try {
      f = new Intl.DateTimeFormat("en-GB", { timeZone, hourCycle: "h23", ...options });
    } catch {
      f = new Intl.DateTimeFormat("en-GB", { hourCycle: "h23", ...options }); // unknown zone: local
    }
    formatters.set(key, f);
  }
  return formatters.get(key);
}

export function clockTime(ms, timeZone) {
  return dtf(timeZone, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(ms);
}

export function minuteLabel(ms, timeZone) {
  return dtf(timeZone, { hour: "2-digit", minute: "2-digit" }).format(ms);
}

/** YYYY-MM-DD of an instant in a time zone. */
export function dayOf(ms, timeZone) {
  const parts = dtf(timeZone, { year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(ms);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

export function dateLong(day) {
  if (!day) return "";
  const [y, m, d] = day.split("-").map(Number);
  return lang() === "zh" ? `${y}年${m}月${d}日` : day;
}

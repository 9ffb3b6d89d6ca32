// format.js: every formatter in both languages, the "—" for values that are not finite numbers (a
// ratio whose denominator is 0 arrives as null), and the boundaries where a format switches
// (万 / 亿, seconds → minutes → hours).
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  byKind,
  clockTime,
  count,
  DASH,
  dateLong,
  dayOf,
  decimal,
  minuteLabel,
  money,
  percent,
  seconds,
} from "../src/format.js";
import { setLang } from "../src/i18n.js";

const NOT_NUMBERS = [null, undefined, NaN, Infinity, -Infinity, "12", "", true, {}];

beforeEach(() => setLang("zh"));
afterEach(() => setLang("zh"));

describe("DASH", () => {
  test("is the em dash shown for a missing figure", () => {
    expect(DASH).toBe("—");
  });
});

describe("count", () => {
  test("groups thousands in both languages", () => {
    expect(count(1234567)).toBe("1,234,567");
    setLang("en");
    expect(count(1234567)).toBe("1,234,567");
  });

  test("zero, negatives and fractions (rounded to a whole number)", () => {
    expect(count(0)).toBe("0");
    expect(count(-1234)).toBe("-1,234");
    expect(count(2.5)).toBe("3");
    expect(count(2.4)).toBe("2");
  });

  test.each(NOT_NUMBERS)("%s → —", (v) => {
    expect(count(v)).toBe(DASH);
  });
});

describe("money (yuan)", () => {
  test("zh: plain below 10,000 yuan, 万 from 10,000, 亿 from 100,000,000", () => {
    expect(money(0)).toBe("¥0.00");
    expect(money(9876.5)).toBe("¥9,876.50");
    expect(money(9999.99)).toBe("¥9,999.99");
    expect(money(10000)).toBe("¥1.00万");
    expect(money(12345.6)).toBe("¥1.23万");
    expect(money(98765432.1)).toBe("¥9,876.54万");
    expect(money(1e8)).toBe("¥1.00亿");
    expect(money(123456789)).toBe("¥1.23亿");
  });

  test("zh: the unit is chosen by magnitude, so a negative amount is scaled too", () => {
    expect(money(-12345.6)).toBe("¥-1.23万");
    expect(money(-50)).toBe("¥-50.00");
  });

  test("en: always the full amount with two decimals", () => {
    setLang("en");
    expect(money(0)).toBe("¥0.00");
    expect(money(12345.6)).toBe("¥12,345.60");
    expect(money(123456789)).toBe("¥123,456,789.00");
    expect(money(0.005)).toBe("¥0.01");
  });

  test.each(NOT_NUMBERS)("%s → —", (v) => {
    expect(money(v)).toBe(DASH);
    setLang("en");
    expect(money(v)).toBe(DASH);
  });
});

describe("percent (a ratio 0..1)", () => {
  test("one decimal, the same in both languages", () => {
    expect(percent(0.935)).toBe("93.5%");
    expect(percent(1)).toBe("100.0%");
    expect(percent(0)).toBe("0.0%");
    expect(percent(0.12345)).toBe("12.3%");
    setLang("en");
    expect(percent(0.935)).toBe("93.5%");
  });

  test("no thousands separator above 100 %", () => {
    expect(percent(12.5)).toBe("1250.0%");
  });

  test.each(NOT_NUMBERS)("%s (e.g. a null ratio: denominator 0) → —", (v) => {
    expect(percent(v)).toBe(DASH);
  });
});

describe("decimal", () => {
  test("two decimals by default, grouped", () => {
    expect(decimal(1.5)).toBe("1.50");
    expect(decimal(1234.5678)).toBe("1,234.57");
    expect(decimal(0)).toBe("0.00");
  });

  test("the number of decimals is a parameter", () => {
    expect(decimal(2.345, 1)).toBe("2.3");
    expect(decimal(2, 0)).toBe("2");
  });

  test.each(NOT_NUMBERS)("%s → —", (v) => {
    expect(decimal(v)).toBe(DASH);
  });
});

describe("seconds (a duration)", () => {
  test("zh: seconds with one decimal below a minute, then minutes and seconds, then hours and minutes", () => {
    expect(seconds(0)).toBe("0.0 秒");
    expect(seconds(42.3)).toBe("42.3 秒");
    expect(seconds(59.94)).toBe("59.9 秒");
    expect(seconds(65)).toBe("1 分 5 秒");
    expect(seconds(3599)).toBe("59 分 59 秒");
    expect(seconds(3600)).toBe("1 小时 0 分");
    expect(seconds(3720)).toBe("1 小时 2 分");
    expect(seconds(90061)).toBe("25 小时 1 分");
  });

  test("en: the same steps with English units", () => {
    setLang("en");
    expect(seconds(42.3)).toBe("42.3 s");
    expect(seconds(65)).toBe("1 min 5 s");
    expect(seconds(3720)).toBe("1 h 2 min");
  });

  test("a value that would round to 60.0 s is shown as a minute, never as 60.0 秒", () => {
    expect(seconds(59.95)).toBe("1 分 0 秒");
    expect(seconds(59.99)).toBe("1 分 0 秒");
    setLang("en");
    expect(seconds(59.96)).toBe("1 min 0 s");
  });

  test("above a minute the value is rounded to whole seconds, carrying into the next unit", () => {
    expect(seconds(119.6)).toBe("2 分 0 秒");
    expect(seconds(3599.6)).toBe("1 小时 0 分");
  });

  test.each(NOT_NUMBERS)("%s → —", (v) => {
    expect(seconds(v)).toBe(DASH);
  });
});

describe("byKind", () => {
  test("dispatches each kind of metrics.js to its formatter", () => {
    expect(byKind("money", 12345.6)).toBe(money(12345.6));
    expect(byKind("pct", 0.5)).toBe("50.0%");
    expect(byKind("secs", 65)).toBe("1 分 5 秒");
    expect(byKind("ratio", 1.234)).toBe("1.23");
    expect(byKind("count", 1234)).toBe("1,234");
    // 2024-11-10 16:00:05 UTC: 00:00:05 in Shanghai
    expect(byKind("clock", Date.UTC(2024, 10, 10, 16, 0, 5), "Asia/Shanghai")).toBe("00:00:05");
  });

  test("an unknown kind is formatted as a count", () => {
    expect(byKind("something-else", 1234.4)).toBe("1,234");
    expect(byKind(undefined, 7)).toBe("7");
  });

  test.each(["money", "pct", "secs", "ratio", "count", "clock"])("%s: a null figure → —", (kind) => {
    expect(byKind(kind, null)).toBe(DASH);
  });
});

describe("clock, minute and day of an instant in the shop's time zone", () => {
  // 2024-11-10 16:00:05 UTC is 2024-11-11 00:00:05 in Shanghai (UTC+8): the start of Double 11.
  const midnightShanghai = Date.UTC(2024, 10, 10, 16, 0, 5);

  test("clockTime is HH:MM:SS on a 24-hour clock (00, not 24, after midnight)", () => {
    expect(clockTime(midnightShanghai, "Asia/Shanghai")).toBe("00:00:05");
    expect(clockTime(midnightShanghai, "UTC")).toBe("16:00:05");
  });

  test("minuteLabel is HH:MM", () => {
    expect(minuteLabel(midnightShanghai, "Asia/Shanghai")).toBe("00:00");
    expect(minuteLabel(Date.UTC(2024, 0, 1, 13, 7, 59), "UTC")).toBe("13:07");
  });

  test("dayOf is the calendar day in that zone", () => {
    expect(dayOf(midnightShanghai, "Asia/Shanghai")).toBe("2024-11-11");
    expect(dayOf(midnightShanghai, "UTC")).toBe("2024-11-10");
    expect(dayOf(Date.UTC(2024, 0, 5, 12), "UTC")).toBe("2024-01-05");
  });

  test("an unknown time zone falls back to the browser's own zone instead of throwing", () => {
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(dayOf(midnightShanghai, "Not/A_Zone")).toBe(dayOf(midnightShanghai, local));
    expect(clockTime(midnightShanghai, "Not/A_Zone")).toBe(clockTime(midnightShanghai, local));
  });
});

describe("dateLong", () => {
  test("zh: 年月日 without leading zeros", () => {
    expect(dateLong("2024-11-11")).toBe("2024年11月11日");
    expect(dateLong("2024-01-05")).toBe("2024年1月5日");
  });

  test("en: the ISO day as it is", () => {
    setLang("en");
    expect(dateLong("2024-01-05")).toBe("2024-01-05");
  });

  test.each(["", null, undefined])("%s → empty", (v) => {
    expect(dateLong(v)).toBe("");
  });
});

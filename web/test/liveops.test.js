// liveops.js: time in status from the frame's "now", the away levels, and the staffing line, in both
// languages, with the boundaries where a format or a colour switches.
import { afterEach, describe, expect, test } from "vitest";
import { DASH } from "../src/format.js";
import { setLang } from "../src/i18n.js";
import {
  AWAY_AMBER_S,
  AWAY_RED_S,
  durationShort,
  slaLabel,
  staffingLevel,
  staffingLine,
  statusAgeS,
  statusLevel,
  statusWithAge,
} from "../src/liveops.js";
import { balancePaidToday, unpaidNow } from "../src/liveops.js";

afterEach(() => setLang("zh"));

describe("statusAgeS", () => {
  test("now − status_since_ts in seconds", () => {
    expect(statusAgeS({ status_since_ts: 1_000_000 }, 1_000_000 + 500_000)).toBe(500);
    expect(statusAgeS({ status_since_ts: 1_000_000 }, 1_000_000)).toBe(0);
  });
  test("unknown start, unknown now or a start after now: null (never a negative time)", () => {
    expect(statusAgeS({ status_since_ts: null }, 5)).toBeNull();
    expect(statusAgeS({}, 5)).toBeNull();
    expect(statusAgeS(undefined, 5)).toBeNull();
    expect(statusAgeS({ status_since_ts: 10 }, null)).toBeNull();
    expect(statusAgeS({ status_since_ts: 10 }, 9)).toBeNull();
  });
});

describe("durationShort", () => {
  test("zh: seconds, whole minutes (floored), hours and minutes", () => {
    expect(durationShort(0)).toBe("0 秒");
    expect(durationShort(59.9)).toBe("59 秒");
    expect(durationShort(60)).toBe("1 分钟");
    expect(durationShort(8 * 60 + 59)).toBe("8 分钟");
    expect(durationShort(3599)).toBe("59 分钟");
    expect(durationShort(3600)).toBe("1 小时 0 分");
    expect(durationShort(3600 + 5 * 60 + 30)).toBe("1 小时 5 分");
  });
  test("en", () => {
    setLang("en");
    expect(durationShort(45)).toBe("45 s");
    expect(durationShort(500)).toBe("8 min");
    expect(durationShort(3900)).toBe("1 h 5 min");
  });
  test("not a number or negative: —", () => {
    for (const v of [null, undefined, NaN, Infinity, "12", -1]) expect(durationShort(v)).toBe(DASH);
  });
});

describe("statusWithAge and statusLevel", () => {
  test("挂起 8 分钟; the status alone when the time is unknown", () => {
    expect(statusWithAge("away", 500)).toBe("挂起 8 分钟");
    expect(statusWithAge("online", 30)).toBe("在线 30 秒");
    expect(statusWithAge("busy", null)).toBe("忙碌");
    setLang("en");
    expect(statusWithAge("away", 500)).toBe("Away 8 min");
  });
  test("only away is flagged: amber from AWAY_AMBER_S, red from AWAY_RED_S", () => {
    expect(statusLevel("away", AWAY_AMBER_S - 1)).toBe("");
    expect(statusLevel("away", AWAY_AMBER_S)).toBe("warn");
    expect(statusLevel("away", AWAY_RED_S - 1)).toBe("warn");
    expect(statusLevel("away", AWAY_RED_S)).toBe("bad");
    expect(statusLevel("busy", 10 * AWAY_RED_S)).toBe("");
    expect(statusLevel("offline", 10 * AWAY_RED_S)).toBe("");
    expect(statusLevel("away", null)).toBe("");
  });
});

describe("staffing line", () => {
  const nowcast = { predicted_sla_rate: 0.7812, agents_needed: 3 };
  test("the issue's example, zh and en", () => {
    expect(staffingLine("presale", nowcast, 180)).toBe("售前: 预计3分钟响应率 78 % · 需增派 3 人");
    setLang("en");
    expect(staffingLine("presale", nowcast, 180)).toBe("Presale: predicted 3-min response rate 78 % · 3 more agents needed");
  });
  test("no agent needed; unknown groups as configured; a missing rate is —", () => {
    expect(staffingLine("aftersale", { predicted_sla_rate: 0.995, agents_needed: 0 }, 180)).toBe(
      "售后: 预计3分钟响应率 100 % · 人手充足",
    );
    expect(staffingLine("vip", { predicted_sla_rate: null, agents_needed: 0 }, 180)).toBe("vip: 预计3分钟响应率 — · 人手充足");
  });
  test("the SLA duration follows the shop's sla_s", () => {
    expect(slaLabel(180)).toBe("3分钟");
    expect(slaLabel(90)).toBe("90秒");
    expect(slaLabel(undefined)).toBe("3分钟");
    setLang("en");
    expect(slaLabel(60)).toBe("1-min");
    expect(slaLabel(45)).toBe("45-s");
  });
  test("red only when the group needs agents", () => {
    expect(staffingLevel({ agents_needed: 2 })).toBe("bad");
    expect(staffingLevel({ agents_needed: 0 })).toBe("");
    expect(staffingLevel(undefined)).toBe("");
  });
});

describe("unpaidNow (wall 催付 tile)", () => {
  test("adds agent-ordered and silent unpaid amounts, exactly in fen", () => {
    expect(unpaidNow({ unpaid_amount: 0.1, silent_unpaid_amount: 0.2 })).toBe(0.3);
    expect(unpaidNow({ unpaid_amount: 299, silent_unpaid_amount: 59.9 })).toBe(358.9);
  });
  test("uses the figure that is known and is null when neither is", () => {
    expect(unpaidNow({ unpaid_amount: 12.5 })).toBe(12.5);
    expect(unpaidNow({ silent_unpaid_amount: 0 })).toBe(0);
    expect(unpaidNow({})).toBeNull();
    expect(unpaidNow(null)).toBeNull();
  });
});

describe("balancePaidToday (wall 尾款 tile)", () => {
  test("adds the credited and silent balances paid today, exactly in fen", () => {
    expect(balancePaidToday({ balance_paid_amount: 0.1, silent_balance_paid_amount: 0.2 })).toBe(0.3);
    expect(balancePaidToday({ balance_paid_amount: 500, silent_balance_paid_amount: 0 })).toBe(500);
  });
  test("ignores other sales and is null when neither figure is known", () => {
    expect(balancePaidToday({ shop_sales: 88, balance_paid_amount: 0 })).toBe(0);
    expect(balancePaidToday({ shop_sales: 88 })).toBeNull();
    expect(balancePaidToday(undefined)).toBeNull();
  });
});

// warroom.js: the ▲ / ▼ change against the same minute yesterday and the pace against a target, with the
// boundaries where a mark or a colour switches (the same rules as streams/core/curves.py and pace.py).
import { afterEach, describe, expect, test } from "vitest";
import { DASH } from "../src/format.js";
import { setLang, t, tf } from "../src/i18n.js";
import { change, changeLevel, changeText, NEAR_SHARE, paceLevel, paceStatus, progressShare } from "../src/warroom.js";

afterEach(() => setLang("zh"));

describe("change against yesterday", () => {
  test("relative to yesterday's value, null without one", () => {
    expect(change(150, 100)).toBeCloseTo(0.5);
    expect(change(0.45, 0.5)).toBeCloseTo(-0.1);
    expect(change(10, 0)).toBeNull();
    expect(change(null, 5)).toBeNull();
    expect(change(5, undefined)).toBeNull();
  });
  test("marks and one decimal", () => {
    expect(changeText(0.5)).toBe("▲ 50.0%");
    expect(changeText(-0.034)).toBe("▼ 3.4%");
    expect(changeText(0)).toBe("— 0.0%");
    expect(changeText(null)).toBe(DASH);
  });
  test("up is good where higher is better, bad where lower is, neutral for volumes", () => {
    expect(changeLevel("sales", 0.1)).toBe("good");
    expect(changeLevel("sla_rate", -0.1)).toBe("bad");
    expect(changeLevel("avg_response_s", 0.1)).toBe("bad"); // slower than yesterday
    expect(changeLevel("avg_response_s", -0.1)).toBe("good");
    expect(changeLevel("received_buyers", 0.3)).toBe(""); // a volume: neither
    expect(changeLevel("sales", 0)).toBe("");
  });
});

describe("pace", () => {
  test("ahead at the expected value, near within 5 % below, behind further", () => {
    expect(paceStatus(250, 250)).toBe("ahead");
    expect(paceStatus(250 * NEAR_SHARE, 250)).toBe("near");
    expect(paceStatus(250 * NEAR_SHARE - 0.01, 250)).toBe("behind");
    expect(paceStatus(null, 250)).toBeNull();
    expect([paceLevel("ahead"), paceLevel("near"), paceLevel("behind"), paceLevel(null)]).toEqual(["good", "warn", "bad", ""]);
  });
  test("the bar is capped at the target", () => {
    expect(progressShare(150, 1000)).toBeCloseTo(0.15);
    expect(progressShare(1500, 1000)).toBe(1);
    expect(progressShare(null, 1000)).toBe(0);
    expect(progressShare(10, 0)).toBe(0);
  });
  test("the pace line in both languages", () => {
    expect(tf("pace_line", "¥1,000.00", "15.0%", "¥250.00", t("pace_behind"))).toBe(
      "目标 ¥1,000.00 · 完成 15.0% · 应达 ¥250.00 · 落后",
    );
    setLang("en");
    expect(tf("pace_short", "90.0%", "", "90.0%", t("pace_ahead"))).toBe("Target 90.0% · ahead");
    expect(t("vs_yesterday")).toBe("vs yesterday");
  });
});

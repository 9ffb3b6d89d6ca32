// alerts.js: a ticker line names its subject (agent, group, or the team) and shows the value in the
// kind's unit — the live-operations kinds (issue 15) included.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { describeAlert, valueAt } from "../src/alerts.js";
import { setLang } from "../src/i18n.js";

beforeEach(() => setLang("zh"));
afterEach(() => setLang("zh"));

const base = { alert_id: "s:r:x:1", rule_id: "r", shop_id: "s", state: "firing", severity: "warning", ts: 0 };

describe("describeAlert", () => {
  test("an agent_away alert names the agent and shows seconds", () => {
    const line = describeAlert({ ...base, kind: "agent_away", agent_id: "A", value: 30, threshold: 20 });
    expect(line.text).toBe("A · 挂起过久 30.0 秒 (阈值 20.0 秒)");
  });

  test("a staffing alert names its group; a queue alert the team", () => {
    const staffing = describeAlert({ ...base, kind: "staffing", agent_id: null, group: "presale", value: 3, threshold: 0 });
    expect(staffing.text.startsWith("presale · 人手不足 3")).toBe(true);
    const queue = describeAlert({ ...base, kind: "queue_wait", agent_id: null, group: null, value: 45, threshold: 40 });
    expect(queue.text).toBe("团队 · 转人工排队过久 45.0 秒 (阈值 40.0 秒)");
  });
});

describe("a firing wait ages on the ticker (issue 18: screens age between events)", () => {
  const fired = { alert_id: "s:r:a1:1", kind: "buyer_waiting", state: "firing", agent_id: "小李", value: 3, threshold: 3,
                  ts: 1_000_000 };

  test("the value grows with the server's now after the transition", () => {
    expect(valueAt(fired, 1_000_000)).toBe(3);
    expect(valueAt(fired, 1_004_500)).toBe(7.5);
    expect(valueAt(fired, 999_000)).toBe(3); // a "now" before the transition never lowers it
  });

  test("without a now, resolved, or a kind that is not a wait, the value is as sent", () => {
    expect(valueAt(fired, undefined)).toBe(3);
    expect(valueAt({ ...fired, state: "resolved" }, 1_004_500)).toBe(3);
    expect(valueAt({ ...fired, kind: "slow_response" }, 1_004_500)).toBe(3);
    expect(valueAt({ ...fired, kind: "waiting_buyers", value: 4 }, 1_004_500)).toBe(4);
  });

  test("the ticker text shows the aged wait", () => {
    setLang("zh");
    expect(describeAlert(fired, "Asia/Shanghai", 1_007_000).text).toContain("10.0 秒");
    expect(describeAlert(fired, "Asia/Shanghai").text).toContain("3.0 秒");
  });
});

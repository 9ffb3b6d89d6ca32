// metrics.js, through what it exports: every per-agent figure and live-load column has a unique key,
// a 中文 and an English label and a format kind that format.js knows; and agentLevel colours an agent
// red/amber by the shared thresholds (strictly beyond them; a null 3-minute rate never colours).
import { describe, expect, test } from "vitest";
import { byKind, DASH } from "../src/format.js";
import {
  AGENT_METRICS,
  agentLevel,
  LIVE_METRICS,
  SLA_AMBER,
  SLA_RED,
  WAIT_AMBER_S,
  WAIT_RED_S,
} from "../src/metrics.js";

const HAN = /\p{Script=Han}/u;
const FORMAT_KINDS = ["count", "pct", "secs", "ratio", "money", "clock"];
const ALL = [...AGENT_METRICS, ...LIVE_METRICS];

describe("the figure catalogue of the screens", () => {
  test("has every per-agent figure and the live load", () => {
    expect(AGENT_METRICS.length).toBeGreaterThanOrEqual(34);
    expect(LIVE_METRICS.map((m) => m.key)).toEqual(
      expect.arrayContaining(["status", "active_conversations", "waiting_buyers", "longest_wait_s"]),
    );
    // The figures the console shows first and the wall's headline must be in it.
    const keys = AGENT_METRICS.map((m) => m.key);
    expect(keys).toEqual(expect.arrayContaining(["sales", "inquiry_pay_rate", "sla_rate", "avg_response_s"]));
  });

  test("keys are unique across per-agent and live columns (one column, one CSV header each)", () => {
    const keys = ALL.map((m) => m.key);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const k of keys) expect(k).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  test.each(ALL.map((m) => [m.key, m]))("%s has a 中文 and an English label", (_key, m) => {
    expect(m.zh).toMatch(HAN);
    expect(m.en.trim()).not.toBe("");
    expect(m.en).not.toMatch(HAN);
  });

  test("labels are unique per language (the CSV header and the column headers tell figures apart)", () => {
    for (const lang of ["zh", "en"]) {
      const labels = ALL.map((m) => m[lang]);
      expect(labels.filter((l, i) => labels.indexOf(l) !== i), lang).toEqual([]);
    }
  });

  test.each(AGENT_METRICS.map((m) => [m.key, m.kind]))("%s is formatted as a known kind (%s)", (_key, kind) => {
    expect(FORMAT_KINDS).toContain(kind);
  });

  test("the kinds follow the key's unit: _rate → pct, _s → secs, money figures → money", () => {
    for (const m of AGENT_METRICS) {
      if (m.key.endsWith("_rate")) expect(m.kind, m.key).toBe("pct");
      if (m.key.endsWith("_s")) expect(m.kind, m.key).toBe("secs");
    }
    const kindOf = Object.fromEntries(AGENT_METRICS.map((m) => [m.key, m.kind]));
    for (const k of ["sales", "refund_amount", "avg_buyer_value", "avg_item_price"]) expect(kindOf[k], k).toBe("money");
  });

  test("live columns: the status is text, the load numbers are formatted", () => {
    for (const m of LIVE_METRICS) {
      if (m.key === "status") expect(m.kind).toBe("status");
      else expect(FORMAT_KINDS).toContain(m.kind);
    }
  });

  test("a null figure of any kind is shown as —", () => {
    for (const m of ALL.filter((x) => x.kind !== "status")) expect(byKind(m.kind, null), m.key).toBe(DASH);
  });
});

describe("agentLevel (red / amber row colour)", () => {
  test("the thresholds: wait 120 s / 60 s, 3-minute rate 90 % / 95 % (Tmall asks ≥ 90 %)", () => {
    expect([WAIT_RED_S, WAIT_AMBER_S, SLA_RED, SLA_AMBER]).toEqual([120, 60, 0.9, 0.95]);
  });

  test.each([
    [{}, ""],
    [{ longest_wait_s: 0, sla_rate: 1 }, ""],
    [{ longest_wait_s: WAIT_AMBER_S }, ""], // at the threshold: not yet
    [{ longest_wait_s: WAIT_AMBER_S + 0.1 }, "warn"],
    [{ longest_wait_s: WAIT_RED_S }, "warn"],
    [{ longest_wait_s: WAIT_RED_S + 0.1 }, "bad"],
    [{ sla_rate: SLA_AMBER }, ""],
    [{ sla_rate: 0.9499 }, "warn"],
    [{ sla_rate: SLA_RED }, "warn"],
    [{ sla_rate: 0.8999 }, "bad"],
    [{ sla_rate: 0 }, "bad"],
    [{ sla_rate: null, longest_wait_s: 10 }, ""], // no buyer to judge yet: no colour
    [{ sla_rate: undefined }, ""],
    [{ longest_wait_s: null, sla_rate: 0.97 }, ""], // no live load (a past day): wait counts as 0
    [{ longest_wait_s: 61, sla_rate: 0.5 }, "bad"], // the worse of the two wins
    [{ longest_wait_s: 121, sla_rate: 0.97 }, "bad"],
    [{ longest_wait_s: 30, sla_rate: 0.93 }, "warn"],
  ])("%o → %j", (row, level) => {
    expect(agentLevel(row)).toBe(level);
  });
});

// shopset.js: the multi-shop wall's URL, sorting (nulls last, ties by shop id), column clicks, colours,
// how many board columns a set needs, and the link into a shop's own wall.
import { describe, expect, test } from "vitest";
import {
  boardLayout,
  MAX_SHOPS,
  nextSort,
  parseSort,
  setParams,
  setProblem,
  setUrls,
  shopLevel,
  shopWallUrl,
  sortRows,
  tileLevel,
} from "../src/shopset.js";

const rows = [
  { shop_id: "b", sales: 200, inquiry_pay_rate: 0.2, longest_wait_s: 0, alerts_firing: 0, sla_rate: 0.99 },
  { shop_id: "a", sales: 200, inquiry_pay_rate: null, longest_wait_s: 75, alerts_firing: 0, sla_rate: 0.99 },
  { shop_id: "c", sales: 50.5, inquiry_pay_rate: 0.5, longest_wait_s: 130, alerts_firing: 2, sla_rate: null },
];
const ids = (list) => list.map((r) => r.shop_id);

describe("URL", () => {
  test("shops in the order given, duplicates and blanks dropped; omitted means the token's shops", () => {
    expect(setParams("?shops=b,a,,b, c&token=t").shops).toEqual(["b", "a", "c"]);
    expect(setParams("?token=t").shops).toBeNull();
    expect(setParams("?token=%20t%20").token).toBe("t");
  });

  test("problems before any request", () => {
    expect(setProblem({ shops: ["a"], token: "" })).toBe("missing");
    expect(setProblem({ shops: null, token: "t" })).toBeNull();
    expect(setProblem({ shops: [], token: "t" })).toBe("shops");
    expect(setProblem({ shops: ["a b"], token: "t" })).toBe("shops");
    const many = Array.from({ length: MAX_SHOPS + 1 }, (_, i) => `s${i}`);
    expect(setProblem({ shops: many, token: "t" })).toBe("shops");
    expect(setProblem({ shops: many.slice(0, MAX_SHOPS), token: "t" })).toBeNull();
  });

  test("REST without the token (it goes in a header), the stream with it", () => {
    const u = setUrls(["a", "b"], "to ken", { protocol: "https:", host: "h:1" });
    expect(u.rest).toBe("/api/v1/shop-set?shops=a%2Cb");
    expect(u.stream).toBe("wss://h:1/api/v1/shop-set/stream?shops=a%2Cb&token=to%20ken");
    expect(setUrls(null, "t").rest).toBe("/api/v1/shop-set");
    expect(setUrls(null, "t").stream).toBe("ws://localhost/api/v1/shop-set/stream?token=t");
  });

  test("a row opens the shop's own wall with the same token and language", () => {
    expect(shopWallUrl("shop-1", "t&x", "en")).toBe("/wall?shop=shop-1&token=t%26x&lang=en");
    expect(shopWallUrl("s", "t")).toBe("/wall?shop=s&token=t");
  });
});

describe("sorting", () => {
  test("?sort=: -key descending, key ascending, unknown → sales descending", () => {
    expect(parseSort("-alerts_firing")).toEqual({ key: "alerts_firing", dir: "desc" });
    expect(parseSort("shop_id")).toEqual({ key: "shop_id", dir: "asc" });
    expect(parseSort("rank")).toEqual({ key: "sales", dir: "desc" });
    expect(parseSort(null)).toEqual({ key: "sales", dir: "desc" });
  });

  test("ties by shop id; a missing ratio is last in either direction", () => {
    expect(ids(sortRows(rows, { key: "sales", dir: "desc" }))).toEqual(["a", "b", "c"]);
    expect(ids(sortRows(rows, { key: "sales", dir: "asc" }))).toEqual(["c", "a", "b"]);
    expect(ids(sortRows(rows, { key: "inquiry_pay_rate", dir: "desc" }))).toEqual(["c", "b", "a"]);
    expect(ids(sortRows(rows, { key: "inquiry_pay_rate", dir: "asc" }))).toEqual(["b", "c", "a"]);
    expect(ids(sortRows(rows, { key: "shop_id", dir: "desc" }))).toEqual(["c", "b", "a"]);
    expect(ids(rows)).toEqual(["b", "a", "c"]); // not sorted in place
  });

  test("a click flips the column sorted on, another column starts at its usual direction", () => {
    const bySales = { key: "sales", dir: "desc" };
    expect(nextSort(bySales, "sales")).toEqual({ key: "sales", dir: "asc" });
    expect(nextSort(bySales, "longest_wait_s")).toEqual({ key: "longest_wait_s", dir: "desc" });
    expect(nextSort(bySales, "shop_id")).toEqual({ key: "shop_id", dir: "asc" });
    expect(nextSort(bySales, "rank")).toBe(bySales);
  });
});

describe("colours", () => {
  test("a shop is red while an alert fires, else by its waits and SLA as an agent is", () => {
    expect(shopLevel(rows[2])).toBe("bad");
    expect(shopLevel(rows[1])).toBe("warn"); // waits 75 s > 60 s
    expect(shopLevel(rows[0])).toBe("");
    expect(shopLevel({ ...rows[0], sla_rate: 0.85 })).toBe("bad");
  });

  test("tiles", () => {
    expect(tileLevel("sla", { sla_rate: null })).toBe("");
    expect(tileLevel("sla", { sla_rate: 0.89 })).toBe("bad");
    expect(tileLevel("sla", { sla_rate: 0.93 })).toBe("warn");
    expect(tileLevel("sla", { sla_rate: 0.95 })).toBe("good");
    expect(tileLevel("wait", { longest_wait_s: 0, longest_queue_wait_s: 121, waiting_buyers: 0, queued_now: 1 })).toBe("bad");
    expect(tileLevel("wait", { longest_wait_s: 10, longest_queue_wait_s: 0, waiting_buyers: 1, queued_now: 0 })).toBe("warn");
    expect(tileLevel("wait", { longest_wait_s: 0, longest_queue_wait_s: 0, waiting_buyers: 0, queued_now: 0 })).toBe("good");
    expect(tileLevel("alerts", { alerts_firing: 1 })).toBe("bad");
    expect(tileLevel("alerts", null)).toBe("");
  });
});

describe("board layout", () => {
  test("the fewest columns that give every shop a row, header rows included", () => {
    // 700 px at rows ≥ 20 px: 35 lines = 34 shops per column
    expect(boardLayout(10, 700, 20)).toEqual({ columns: 1, perColumn: 10 });
    expect(boardLayout(34, 700, 20)).toEqual({ columns: 1, perColumn: 34 });
    expect(boardLayout(35, 700, 20)).toEqual({ columns: 2, perColumn: 18 });
    expect(boardLayout(100, 700, 20)).toEqual({ columns: 3, perColumn: 34 });
    expect(boardLayout(0, 700, 20)).toEqual({ columns: 1, perColumn: 1 });
    expect(boardLayout(5, 0, 20)).toEqual({ columns: 5, perColumn: 1 }); // not laid out yet: still finite
  });
});

// i18n.js, through its exported functions only (its string table is private and may be generated):
// the language choice (default 中文, ?lang= in the URL, localStorage), t/tf, the group and status
// names, applyI18n on the page, and that every text key the screens use exists in both 中文 and
// English (a key missing in English falls back to Chinese, so it would go unnoticed on the screen).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, test, vi } from "vitest";

const STORAGE_KEY = "kefu-pulse.lang";
const HAN = /\p{Script=Han}/u;

/** A freshly imported i18n.js: it reads the URL and localStorage once, when imported. */
async function freshI18n({ search = "", stored = null } = {}) {
  history.replaceState(null, "", `/console.html${search}`);
  if (stored !== null) localStorage.setItem(STORAGE_KEY, stored);
  vi.resetModules();
  return import("../src/i18n.js");
}

beforeEach(() => {
  localStorage.clear();
  history.replaceState(null, "", "/");
});

describe("language choice", () => {
  test("中文 by default", async () => {
    const i18n = await freshI18n();
    expect(i18n.lang()).toBe("zh");
    expect(i18n.t("app")).toBe("客服脉搏");
  });

  test("the language stored earlier is used", async () => {
    const i18n = await freshI18n({ stored: "en" });
    expect(i18n.lang()).toBe("en");
    expect(i18n.t("app")).toBe("Kefu Pulse");
  });

  test("?lang=en wins over the stored choice and is remembered (a kiosk URL)", async () => {
    const i18n = await freshI18n({ search: "?shop=s1&lang=en", stored: "zh" });
    expect(i18n.lang()).toBe("en");
    expect(localStorage.getItem(STORAGE_KEY)).toBe("en");
  });

  test("an unknown ?lang= or stored value is ignored", async () => {
    expect((await freshI18n({ search: "?lang=fr" })).lang()).toBe("zh");
    expect((await freshI18n({ stored: "fr" })).lang()).toBe("zh");
    expect((await freshI18n({ search: "?lang=fr", stored: "en" })).lang()).toBe("en");
  });

  test("setLang switches, stores the choice and tells the listeners once", async () => {
    const i18n = await freshI18n();
    const seen = [];
    i18n.onLangChange((next) => seen.push(next));
    i18n.setLang("en");
    i18n.setLang("en"); // no change: no second call
    i18n.setLang("de"); // not a language of the screens: ignored
    expect(i18n.lang()).toBe("en");
    expect(localStorage.getItem(STORAGE_KEY)).toBe("en");
    expect(seen).toEqual(["en"]);
  });

  test("toggleLang goes 中文 → English → 中文", async () => {
    const i18n = await freshI18n();
    i18n.toggleLang();
    expect(i18n.lang()).toBe("en");
    i18n.toggleLang();
    expect(i18n.lang()).toBe("zh");
    expect(localStorage.getItem(STORAGE_KEY)).toBe("zh");
  });

  test("a browser that refuses localStorage still switches languages", async () => {
    const i18n = await freshI18n();
    const setItem = vi.spyOn(Storage.prototype, "setItem").mockImplementation(() => {
      throw new DOMException("denied", "SecurityError");
    });
    try {
      i18n.setLang("en");
      expect(i18n.lang()).toBe("en");
    } finally {
      setItem.mockRestore();
    }
  });
});

describe("t, tf, groupName, statusName", () => {
  test("an unknown key is shown as the key itself", async () => {
    const i18n = await freshI18n();
    expect(i18n.t("no_such_key")).toBe("no_such_key");
  });

  test("tf fills {0}, {1}… in the order of the arguments; a missing one is empty", async () => {
    const i18n = await freshI18n();
    expect(i18n.tf("sub_sla", "9", "10")).toBe("达标 9 / 10 人");
    i18n.setLang("en");
    expect(i18n.tf("sub_sla", "9", "10")).toBe("9 of 10 buyers in 3 min");
    expect(i18n.tf("sub_conv", "1,234")).toBe("1,234 inquiries ·  paid");
  });

  test("groupName translates the known groups and shows others as configured", async () => {
    const i18n = await freshI18n();
    expect(i18n.groupName("presale")).toBe("售前");
    expect(i18n.groupName("aftersale")).toBe("售后");
    expect(i18n.groupName("vip-team")).toBe("vip-team");
    expect(i18n.groupName("")).toBe("—");
    expect(i18n.groupName(null)).toBe("—");
    i18n.setLang("en");
    expect(i18n.groupName("presale")).toBe("Presale");
  });

  test("statusName translates the agent statuses; none is 未知, an unexpected one is shown as is", async () => {
    const i18n = await freshI18n();
    expect(i18n.statusName("online")).toBe("在线");
    expect(i18n.statusName(undefined)).toBe("未知");
    expect(i18n.statusName("")).toBe("未知");
    expect(i18n.statusName("meeting")).toBe("meeting");
    i18n.setLang("en");
    expect(i18n.statusName("busy")).toBe("Busy");
  });
});

describe("applyI18n", () => {
  test("fills data-i18n texts and placeholders and sets <html lang>, again on a language switch", async () => {
    document.body.innerHTML = `
      <h1 data-i18n="console_title">?</h1>
      <input id="q" data-i18n-placeholder="search">`;
    const i18n = await freshI18n();
    i18n.applyI18n();
    expect(document.querySelector("h1").textContent).toBe("客服主管控制台");
    expect(document.getElementById("q").placeholder).toBe("搜索客服");
    expect(document.documentElement.lang).toBe("zh-CN");

    i18n.setLang("en");
    expect(document.querySelector("h1").textContent).toBe("Supervisor console");
    expect(document.getElementById("q").placeholder).toBe("Search agent");
    expect(document.documentElement.lang).toBe("en");
  });
});

// ------------------------------------------------------------------ every key in both languages

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const read = (path) => readFileSync(join(WEB, path), "utf8");
const SOURCES = readdirSync(join(WEB, "src"))
  .filter((f) => f.endsWith(".js"))
  .map((f) => read(`src/${f}`));
const PAGES = readdirSync(WEB)
  .filter((f) => f.endsWith(".html"))
  .map((f) => read(f));

const matches = (texts, re) => texts.flatMap((text) => [...text.matchAll(re)].map((m) => m[1]));

/** Keys the screens pass to t()/tf() literally, or name in data-i18n / data-i18n-placeholder. */
const LITERAL_KEYS = new Set([
  ...matches(SOURCES, /\bt[f]?\(\s*["']([a-z0-9_]+)["']/g),
  ...matches(PAGES, /data-i18n(?:-placeholder)?="([a-z0-9_]+)"/g),
]);

/** Keys built at run time (`series_${key}`, `conn_${state}`…) from values the API or code sends. */
const BUILT_KEYS = [
  ...["connecting", "live", "reconnecting", "reloading", "offline"].map((s) => `conn_${s}`), // connection.js states
  ...["online", "busy", "away", "offline", "unknown"].map((s) => `status_${s}`), // agent statuses
  ...["presale", "aftersale"].map((g) => `group_${g}`), // groups with a translated name
  // alert kinds (streams/alerts/rules.py KINDS)
  ...["buyer_waiting", "slow_response", "avg_response", "sla_rate", "waiting_buyers", "active_conversations",
    "queue_waiting", "queue_wait", "agent_away", "staffing"].map((k) => `alert_kind_${k}`),
  // GET /series point keys (streams SERIES_KEYS), drawn as chart series and the console's sliding table
  ...["buyer_messages", "agent_messages", "new_consult_buyers", "responses", "avg_response_s", "slow_responses",
    "paid_amount"].map((k) => `series_${k}`),
];

// The language toggle names the other language, so its English text is Chinese.
const ENGLISH_MAY_BE_CHINESE = new Set(["lang_toggle"]);

describe("every text key the screens use has 中文 and English", async () => {
  const i18n = await freshI18n();
  const textIn = (language, key) => {
    i18n.setLang(language);
    return i18n.t(key);
  };

  // Any other string literal of the sources that is a key (e.g. kept in a table, then passed to t()).
  const otherKeys = matches(SOURCES, /["']([a-z][a-z0-9]*_[a-z0-9_]+)["']/g).filter(
    (k) => textIn("zh", k) !== k,
  );
  const keys = [...new Set([...LITERAL_KEYS, ...BUILT_KEYS, ...otherKeys])].sort();

  test("the scan found the screens' keys", () => {
    expect(LITERAL_KEYS.size).toBeGreaterThan(30);
    expect(keys).toContain("fig_shop_sales"); // a figure label built from the catalogue
  });

  test.each(keys)("%s", (key) => {
    const zh = textIn("zh", key);
    const en = textIn("en", key);
    expect(zh, "no 中文 text").not.toBe(key);
    expect(zh.trim(), "empty 中文 text").not.toBe("");
    expect(en.trim(), "empty English text").not.toBe("");
    if (!ENGLISH_MAY_BE_CHINESE.has(key)) expect(en, "no English text (falls back to 中文)").not.toMatch(HAN);
  });
});

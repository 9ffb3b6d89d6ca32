// csv.js: the export Excel opens as-is — a UTF-8 byte-order mark, CRLF line ends, RFC 4180 quoting
// (fields with a comma, quote, CR or LF, or leading/trailing blanks, are quoted; quotes doubled),
// and the cells exactly as given (the table's formatted text; Chinese unquoted).
import { afterEach, describe, expect, test, vi } from "vitest";
import { downloadCsv, toCsv } from "../src/csv.js";

const BOM = "\uFEFF";

/** The rows of a CSV text (after the BOM), split on CRLF, without the trailing empty line. */
const lines = (csv) => csv.slice(1).split("\r\n").slice(0, -1);

describe("toCsv", () => {
  test("starts with one BOM, header first, CRLF after every line including the last", () => {
    const csv = toCsv(["客服", "客服销售额"], [["alice", "¥1.23万"], ["bob", "—"]]);
    expect(csv).toBe(`${BOM}客服,客服销售额\r\nalice,¥1.23万\r\nbob,—\r\n`);
    expect(csv.lastIndexOf(BOM)).toBe(0);
  });

  test("no rows: the header line alone", () => {
    expect(toCsv(["a", "b"], [])).toBe(`${BOM}a,b\r\n`);
  });

  test("Chinese text and the formatted units need no quoting", () => {
    expect(lines(toCsv(["分组"], [["售前"], ["3分钟人工响应率"], ["1 分 5 秒"], ["93.5%"]]))).toEqual([
      "分组",
      "售前",
      "3分钟人工响应率",
      "1 分 5 秒",
      "93.5%",
    ]);
  });

  test("a comma (e.g. a grouped number) makes the field quoted", () => {
    expect(lines(toCsv(["销售额"], [["¥9,876.50"]]))).toEqual(["销售额", '"¥9,876.50"']);
  });

  test("quotes are doubled inside a quoted field", () => {
    expect(lines(toCsv(["name"], [['say "hi"']]))).toEqual(["name", '"say ""hi"""']);
    expect(lines(toCsv(["name"], [['"']]))).toEqual(["name", '""""']);
  });

  test("a newline or carriage return stays inside one quoted field", () => {
    const csv = toCsv(["note"], [["line 1\nline 2"], ["a\r\nb"], ["c\rd"]]);
    expect(csv).toBe(`${BOM}note\r\n"line 1\nline 2"\r\n"a\r\nb"\r\n"c\rd"\r\n`);
  });

  test("leading or trailing blanks are kept by quoting; inner blanks are not quoted", () => {
    expect(lines(toCsv(["x"], [[" lead"], ["trail "], ["\ttab"], ["in side"]]))).toEqual([
      "x",
      '" lead"',
      '"trail "',
      '"\ttab"',
      "in side",
    ]);
  });

  test("header cells are escaped the same way", () => {
    expect(lines(toCsv(["a,b", 'c"d'], []))).toEqual(['"a,b","c""d"']);
  });

  test("numbers are written as JavaScript prints them; null and undefined as empty cells", () => {
    expect(lines(toCsv(["n", "m", "e", "u"], [[1234.5, 0, null, undefined], [-3, 1e21, "", 0.1]]))).toEqual([
      "n,m,e,u",
      "1234.5,0,,",
      "-3,1e+21,,0.1",
    ]);
  });

  test("every row keeps its number of columns", () => {
    const csv = toCsv(["a", "b", "c"], [["1", "x,y", 'q"'], ["", "", ""]]);
    expect(lines(csv)).toEqual(["a,b,c", '1,"x,y","q"""', ",,"]);
  });
});

describe("downloadCsv", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  test("saves the exact text as a UTF-8 CSV file under the given name, then frees the blob URL", async () => {
    vi.useFakeTimers();
    let blob = null;
    let clicked = null;
    vi.spyOn(URL, "createObjectURL").mockImplementation((b) => {
      blob = b;
      return "blob:kefu-test";
    });
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function () {
      clicked = { href: this.href, download: this.download, attached: document.body.contains(this) };
    });

    const text = toCsv(["客服", "销售额"], [["alice", "¥9,876.50"]]);
    downloadCsv("kefu-2024-11-11.csv", text);

    expect(clicked).toEqual({ href: "blob:kefu-test", download: "kefu-2024-11-11.csv", attached: true });
    expect(document.querySelectorAll("a").length).toBe(0); // the link is removed after the click
    expect(blob.type).toBe("text/csv;charset=utf-8");
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // the BOM, UTF-8 encoded
    expect(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)).toBe(text);

    expect(revoke).not.toHaveBeenCalled(); // still needed while the browser starts the download
    vi.advanceTimersByTime(10000);
    expect(revoke).toHaveBeenCalledWith("blob:kefu-test");
  });
});

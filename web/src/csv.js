// CSV export: exactly the rows and columns the table shows, with the same formatted values.
// UTF-8 with a byte-order mark and CRLF line ends, so Excel opens the Chinese text correctly.

const BOM = "\uFEFF";

function field(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** @param {string[]} header @param {string[][]} rows */
export function toCsv(header, rows) {
  return BOM + [header, ...rows].map((r) => r.map(field).join(",")).join("\r\n") + "\r\n";
}

export function downloadCsv(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

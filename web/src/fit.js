// Text that must fit its box on a wall (no scrollbars, no clipped figures): shrink the font until it does.

/** Shrink the font of a .fit element until its text fits (long numbers, English labels); at most to half. */
export function fit(el) {
  el.style.fontSize = "";
  let size = parseFloat(getComputedStyle(el).fontSize);
  const min = size * 0.5;
  // strictly wider: a text a fraction of a pixel too wide already shows an ellipsis
  while (el.scrollWidth > el.clientWidth && size > min) {
    size *= 0.92;
    el.style.fontSize = `${size}px`;
  }
}

/**
 * Shrink a whole table's font (one size for all its cells, so columns stay aligned) until no cell
 * overflows, at most to `minScale`: one layout per step, not one per cell (a 100-shop board has 900
 * cells). Cells must size their text relative to the table (em, not rem).
 */
export function fitTable(table, cellSelector, minScale = 0.6) {
  table.style.fontSize = "";
  const base = parseFloat(getComputedStyle(table).fontSize);
  let size = base;
  const cells = [...table.querySelectorAll(cellSelector)];
  while (size > base * minScale && cells.some((c) => c.scrollWidth > c.clientWidth)) {
    size *= 0.92;
    table.style.fontSize = `${size}px`;
  }
}

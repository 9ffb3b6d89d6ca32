// Animated count-up of a number shown with a formatter (the headline sales figure on the wall).
// Ends on the exact formatted target within DURATION_MS; data-value holds the exact target.

const DURATION_MS = 800;
const reduceMotion = () => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

/** @param {(v: number) => string} format  @param {() => void} [after] called once the target is shown */
export function countUp(el, format, after = () => {}) {
  let shown = null; // value currently on screen
  let target = null;
  let frame = null;

  function paint(v, final = true) {
    el.textContent = format(v);
    if (final) after();
  }

  return {
    set(value) {
      el.dataset.value = value === null || value === undefined ? "" : String(value);
      if (typeof value !== "number" || !Number.isFinite(value)) {
        cancelAnimationFrame(frame);
        shown = null;
        target = null;
        paint(value);
        return;
      }
      if (value === target) {
        paint(value); // the format may have changed (language)
        return;
      }
      target = value;
      const from = shown ?? 0;
      cancelAnimationFrame(frame);
      if (reduceMotion() || from === value || document.hidden) {
        shown = value;
        paint(value);
        return;
      }
      const start = performance.now();
      const step = (now) => {
        const k = Math.min(1, (now - start) / DURATION_MS);
        const eased = 1 - (1 - k) ** 3;
        shown = k >= 1 ? value : from + (value - from) * eased;
        paint(k >= 1 ? value : Math.round(shown * 100) / 100, k >= 1);
        if (k < 1) frame = requestAnimationFrame(step);
      };
      frame = requestAnimationFrame(step);
    },
    refresh() {
      paint(target ?? shown);
    },
  };
}

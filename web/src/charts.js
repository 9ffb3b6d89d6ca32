// Per-minute trend charts (Apache ECharts, only the parts we use, canvas renderer). Sizes follow the
// root font size, which follows the viewport, so the charts stay readable on 1080p and 4K walls.
// Tooltips use ECharts' richText mode (drawn on the canvas): no HTML with inline styles, so the
// strict CSP (style-src 'self') holds.
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { minuteLabel } from "./format.js";
import { t } from "./i18n.js";

echarts.use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export const COLORS = {
  buyer_messages: "#4da3ff",
  agent_messages: "#36d399",
  new_consult_buyers: "#a78bfa",
  responses: "#36d399",
  slow_responses: "#ff6b6b",
  avg_response_s: "#fbbf24",
  paid_amount: "#f472b6",
};

const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;

/**
 * @param {HTMLElement} el
 * @param {object} o
 * @param {{key: string, type: "line"|"bar", area?: boolean, symbols?: boolean}[]} o.series  keys of /series points
 * @param {() => string} o.timeZone
 * @param {boolean} [o.interactive]  tooltips (console) or none (wall)
 * @param {(v: number) => string} [o.valueFormat]
 */
export function createTrendChart(el, { series, timeZone, interactive = false, valueFormat }) {
  const chart = echarts.init(el, null, { renderer: "canvas" });
  let points = [];

  function option() {
    const r = rem();
    const font = Math.round(r * 0.8);
    const labels = points.map((p) => minuteLabel(p.minute, timeZone()));
    return {
      backgroundColor: "transparent",
      animation: interactive,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: r * 0.5, right: r * 0.8, top: r * 2, bottom: r * 0.3, containLabel: true },
      legend: {
        top: 0,
        right: 0,
        itemWidth: r,
        itemHeight: r * 0.6,
        itemGap: r * 0.8,
        textStyle: { color: "#b8c4d9", fontSize: font },
        data: series.map((s) => t(`series_${s.key}`)),
      },
      tooltip: interactive
        ? {
            trigger: "axis",
            renderMode: "richText",
            backgroundColor: "#1b2435",
            borderColor: "#3a4660",
            textStyle: { color: "#e6edf7", fontSize: font },
            valueFormatter: valueFormat ? (v) => (v === null || v === undefined ? "—" : valueFormat(v)) : undefined,
          }
        : { show: false },
      xAxis: {
        type: "category",
        data: labels,
        boundaryGap: series.some((s) => s.type === "bar"),
        axisLine: { lineStyle: { color: "#3a4660" } },
        axisTick: { show: false },
        axisLabel: { color: "#8c9ab3", fontSize: font, hideOverlap: true, margin: r * 0.6 },
      },
      yAxis: {
        type: "value",
        minInterval: 1,
        splitNumber: 3,
        splitLine: { lineStyle: { color: "#243047" } },
        axisLabel: {
          color: "#8c9ab3",
          fontSize: font,
          margin: r * 0.6,
          formatter: (v) => (Math.abs(v) >= 10000 ? `${+(v / 10000).toFixed(1)}万` : `${v}`),
        },
      },
      series: series.map((s) => ({
        name: t(`series_${s.key}`),
        type: s.type,
        data: points.map((p) => p[s.key] ?? null),
        connectNulls: false,
        // minutes without a value (no response that minute) break the line: dots keep lone values visible
        showSymbol: Boolean(s.symbols),
        symbol: "circle",
        symbolSize: r * 0.4,
        smooth: false,
        barMaxWidth: r * 0.9,
        lineStyle: { width: Math.max(2, r * 0.14) },
        itemStyle: { color: COLORS[s.key] },
        areaStyle: s.area ? { opacity: 0.15 } : undefined,
      })),
    };
  }

  const observer = new ResizeObserver(() => {
    chart.resize();
    chart.setOption(option(), { notMerge: true });
  });
  observer.observe(el);

  return {
    update(nextPoints) {
      points = nextPoints || [];
      chart.setOption(option(), { notMerge: true, lazyUpdate: true });
    },
    /** Re-render labels (after a language switch). */
    refresh() {
      chart.setOption(option(), { notMerge: true });
    },
    dispose() {
      observer.disconnect();
      chart.dispose();
    },
  };
}

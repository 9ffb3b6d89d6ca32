// Every per-agent figure of shared/spec/metrics.md (the API keys of streams/core/figures.py AGENT_KEYS),
// with its Chinese and English name and how it is formatted (format.js byKind).

export const AGENT_METRICS = [
  ["consult_buyers", "咨询人数", "Consulting buyers", "count"],
  ["received_buyers", "接待人数", "Buyers received", "count"],
  ["filtered_buyers", "接待过滤人数", "Buyers filtered", "count"],
  ["buyer_messages", "买家消息数", "Buyer messages", "count"],
  ["agent_messages", "客服消息数", "Agent messages", "count"],
  ["qa_ratio", "答问比", "Answer/question ratio", "ratio"],
  ["replied_buyers", "回复人数", "Buyers replied", "count"],
  ["reply_rate", "回复率", "Reply rate", "pct"],
  ["responses", "响应次数", "Responses", "count"],
  ["avg_response_s", "平均响应时长", "Avg response time", "secs"],
  ["first_response_avg_s", "平均首次响应时长", "Avg first response", "secs"],
  ["slow_responses", "慢响应次数", "Slow responses", "count"],
  ["sla_buyers", "3分钟考核人数", "3-min SLA buyers", "count"],
  ["sla_met_buyers", "3分钟达标人数", "3-min SLA met", "count"],
  ["sla_rate", "3分钟人工响应率", "3-min response rate", "pct"],
  ["unreplied_buyers", "未回复人数", "Buyers unreplied", "count"],
  ["inquiry_buyers", "询单人数", "Inquiry buyers", "count"],
  ["ordered_buyers", "下单人数", "Ordering buyers", "count"],
  ["paid_buyers", "付款人数", "Paying buyers", "count"],
  ["inquiry_order_rate", "询单→下单转化率", "Inquiry→order rate", "pct"],
  ["order_pay_rate", "下单→付款转化率", "Order→payment rate", "pct"],
  ["inquiry_pay_rate", "询单转化率", "Inquiry conversion", "pct"],
  ["lost_buyers", "询单流失人数", "Inquiries lost", "count"],
  ["sales", "客服销售额", "CS sales", "money"],
  ["sales_buyers", "成交人数", "Buyers who paid", "count"],
  ["sales_items", "成交件数", "Items sold", "count"],
  ["avg_buyer_value", "客单价", "Avg order value", "money"],
  ["items_per_buyer", "客件数", "Items per buyer", "ratio"],
  ["avg_item_price", "件均价", "Avg item price", "money"],
  ["refunds", "退款笔数", "Refunds", "count"],
  ["refund_amount", "退款金额", "Refund amount", "money"],
  ["ratings", "评价数", "Ratings", "count"],
  ["satisfied_ratings", "满意数", "Satisfied ratings", "count"],
  ["satisfaction_rate", "满意率", "Satisfaction rate", "pct"],
].map(([key, zh, en, kind]) => ({ key, zh, en, kind }));

// Live load (接待压力) per agent at "now".
export const LIVE_METRICS = [
  { key: "status", zh: "状态", en: "Status", kind: "status" },
  { key: "active_conversations", zh: "当前接待", en: "Active chats", kind: "count" },
  { key: "waiting_buyers", zh: "排队/未回复", en: "Waiting", kind: "count" },
  { key: "longest_wait_s", zh: "最长等待", en: "Longest wait", kind: "secs" },
];

// Colour thresholds shared by the wall and the console.
export const WAIT_RED_S = 120; // a buyer waits longer than this → red
export const WAIT_AMBER_S = 60;
export const SLA_RED = 0.9; // 3-minute response rate below this → red (Tmall asks ≥ 90 %)
export const SLA_AMBER = 0.95;

/** "bad" | "warn" | "" for an agent (figures + live load merged). */
export function agentLevel(row) {
  const wait = row.longest_wait_s ?? 0;
  const sla = row.sla_rate;
  if (wait > WAIT_RED_S || (sla !== null && sla !== undefined && sla < SLA_RED)) return "bad";
  if (wait > WAIT_AMBER_S || (sla !== null && sla !== undefined && sla < SLA_AMBER)) return "warn";
  return "";
}

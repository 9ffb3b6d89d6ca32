// Agent rows of both screens: each agent's figures of the day (GET /agents, frame "agents") merged
// with its live load (GET /live, frame "live": status, active_conversations, waiting_buyers,
// longest_wait_s). No DOM here.

/**
 * One row per agent seen in either list, matched by agent_id: the figures, then the live keys over
 * them; the group stays the figures' group when they have one. An agent seen only live starts from
 * `liveOnly` (what a screen shows for figures it has none of yet).
 */
export function withLiveLoad(agents, liveAgents, liveOnly = {}) {
  const byId = new Map(agents.map((a) => [a.agent_id, { ...a }]));
  for (const l of liveAgents ?? []) {
    const row = byId.get(l.agent_id) ?? { ...liveOnly, agent_id: l.agent_id };
    byId.set(l.agent_id, { ...row, ...l, group: row.group ?? l.group });
  }
  return [...byId.values()];
}

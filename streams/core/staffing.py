"""Staffing now-cast (metrics.md "Staffing now-cast"): Erlang C for a group of chat agents.

Pure: a model, not a count, documented in docs/metrics.md and unit-tested on worked values.

The M/M/c queue: buyers arrive at rate λ (per second), each holds a server for a mean handling time h
(seconds), c servers. Offered load A = λ·h (Erlang). For A < c:

- Erlang C, the probability that a buyer has to wait:
  P_wait = (A^c / c! · c / (c − A)) / (Σ_{k<c} A^k / k! + A^c / c! · c / (c − A)),
  computed through the Erlang B recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)) and
  C = c·B(c) / (c − A·(1 − B(c))), which is stable for any c;
- the share of buyers answered within t: SL(t) = 1 − P_wait · e^(−(c − A)·t / h).
With A ≥ c the queue grows without bound: P_wait = 1 and SL = 0.

Chat agents serve several buyers at once: the servers are agents × concurrency (buyers one agent
handles at a time), rounded down to whole servers (a conservative reading of a fractional measured
concurrency). `agents_needed` is the fewest extra agents whose servers lift SL(sla_s) to the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_EXTRA_AGENTS = 10_000  # a bound for the search: a group needing more is reported as needing this many


def erlang_c(load: float, servers: int) -> float:
    """Probability of waiting with offered load `load` (Erlang) and `servers` servers."""
    if load <= 0:
        return 0.0
    if servers <= 0 or load >= servers:
        return 1.0
    blocking = 1.0  # Erlang B with 0 servers
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return servers * blocking / (servers - load * (1 - blocking))


def service_level(load: float, servers: int, handle_s: float, within_s: float) -> float:
    """Share of buyers answered within `within_s` seconds (Erlang C, exponential waits)."""
    if load <= 0:
        return 1.0
    if servers <= 0 or load >= servers:
        return 0.0
    return 1.0 - erlang_c(load, servers) * math.exp(-(servers - load) * within_s / handle_s)


def servers_of(agents: int, concurrency: float) -> int:
    """Whole servers of `agents` agents serving `concurrency` buyers each (rounded down)."""
    return max(0, math.floor(agents * concurrency + 1e-9))


def agents_needed(load: float, agents: int, concurrency: float, handle_s: float, sla_s: float,
                  target: float) -> int:
    """The fewest extra agents with which the share answered within sla_s reaches `target`."""
    extra = 0
    while service_level(load, servers_of(agents + extra, concurrency), handle_s, sla_s) < target:
        if extra >= MAX_EXTRA_AGENTS or concurrency <= 0:
            return MAX_EXTRA_AGENTS
        extra += 1
    return extra


@dataclass(frozen=True, slots=True)
class NowCast:
    arrival_per_s: float  # λ
    handle_s: float  # h
    servers: int  # c = floor(agents × concurrency)
    predicted_sla_rate: float  # SL(sla_s) with the agents online now
    agents_needed: int  # the fewest extra agents reaching the target (0 when already reached)


def nowcast(arrivals: int, window_s: float, handle_s: float, agents_online: int, concurrency: float,
            sla_s: float, target: float = 0.9) -> NowCast:
    """The now-cast of one group: `arrivals` new consulting buyers in the last `window_s` seconds (λ =
    arrivals ÷ window_s), handling time `handle_s`, `agents_online` agents (`online` or `busy`) each
    serving `concurrency` buyers at once."""
    rate = arrivals / window_s if window_s > 0 else 0.0
    load = rate * handle_s
    servers = servers_of(agents_online, concurrency)
    return NowCast(rate, handle_s, servers, service_level(load, servers, handle_s, sla_s),
                   agents_needed(load, agents_online, concurrency, handle_s, sla_s, target))


# ---- the now-cast of every group, from the figures the read side already has ---------------------------
ARRIVAL_WINDOW_MS = 15 * 60_000  # λ: new consulting buyers of the last 15 minutes
MIN_HANDLE_S = 30.0  # the handling-time estimate never goes below this (a floor for a noisy estimate)


def group_nowcasts(
    minute_buckets: Mapping[int, Mapping[str, Any]], live_agents: Iterable[Mapping[str, Any]],
    group_of: Callable[[str], str], now_ms: int, sla_s: float, active_window_s: float,
    max_concurrent: float | None = None, target: float = 0.9,
) -> dict[str, dict[str, Any]]:
    """Per group: λ, h, servers, predicted_sla_rate and agents_needed at now.

    - λ = the group's agents' new consulting buyers (series `new_consult_buyers`) in the minutes that
      start within the last 15 minutes ÷ 900 s (a buyer new to two agents of the group counts twice);
    - h, by Little's law on the live load: a conversation is active from its first message until
      `active_window_s` after its last, so the group's active conversations L = λ·(h + window) and
      h = L/λ − window, at least MIN_HANDLE_S;
    - agents = the group's agents `online` or `busy` now; concurrency = `max_concurrent` when given,
      else the largest number of active conversations one of them carries now (at least 1).
    `minute_buckets`: minute start → merged bucket ({"agents": {agent: counters}}); `live_agents`: the
    rows of views.live_view (agent_id, status, active_conversations).
    """
    since = now_ms - ARRIVAL_WINDOW_MS
    arrivals: dict[str, int] = {}
    for minute, bucket in minute_buckets.items():
        if since < minute <= now_ms:
            for agent, counters in bucket.get("agents", {}).items():
                group = group_of(agent)
                arrivals[group] = arrivals.get(group, 0) + counters.get("new_consult", 0)
    active: dict[str, int] = {}
    online: dict[str, int] = {}
    busiest: dict[str, int] = {}
    for row in live_agents:
        group = group_of(row["agent_id"])
        active[group] = active.get(group, 0) + row["active_conversations"]
        if row["status"] in ("online", "busy"):
            online[group] = online.get(group, 0) + 1
            busiest[group] = max(busiest.get(group, 0), row["active_conversations"])
    out = {}
    for group in sorted(set(arrivals) | set(online) | set(active)):
        rate = arrivals.get(group, 0) / (ARRIVAL_WINDOW_MS / 1000)
        handle = max(MIN_HANDLE_S, active.get(group, 0) / rate - active_window_s) if rate else MIN_HANDLE_S
        concurrency = max_concurrent if max_concurrent is not None else max(1, busiest.get(group, 0))
        load = rate * handle
        agents = online.get(group, 0)
        servers = servers_of(agents, concurrency)
        out[group] = {
            "arrival_per_min": rate * 60,
            "handle_s": handle,
            "agents_online": agents,
            "concurrency": concurrency,
            "predicted_sla_rate": service_level(load, servers, handle, sla_s),
            "agents_needed": agents_needed(load, agents, concurrency, handle, sla_s, target),
        }
    return out

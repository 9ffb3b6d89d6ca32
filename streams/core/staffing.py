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
from dataclasses import dataclass

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

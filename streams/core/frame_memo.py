"""The rows of a frame (agents_view's and live_view's per-agent rows), and a memo that rebuilds only the
rows whose inputs changed since the shop's previous frame.

A 1,200-agent shop's frame has 2 × 1,200 rows; between two frames typically a few percent of the agents
change, yet building every row took most of a frame's build (issue 16). The hub keeps one FrameMemo per
shop while the shop has screens (streams/readside/frame_cache.py) and hands it to the views.

Invariants (tests/unit/test_frame_memo.py compares memo builds with plain builds over random changes):
- a row from the memo equals, JSON for JSON, the row `agent_row` / `live_row` build from the same
  inputs; the memo only returns the very same row object again when its inputs are equal;
- `agent_row` depends on the agent's day counters, its aged open SLA count, its status history, the
  settings, the day and now. Without a status history it does not depend on now (day_figures of no
  history are zeros), so it is reused while counters and aged count are equal; with a history its
  time in status grows with now, so only the counters' figures are reused and the row is rebuilt;
- `live_row` depends on now through live_load only: the active conversations change when now reaches
  an activity ts or leaves ts + window (as next_clock_change_ms says), and the longest wait grows
  while a buyer waits. A row is reused for a later now before the next such change, never for an
  earlier now, never while a buyer waits;
- the day and the settings are part of every row's inputs: `begin` forgets every row when either
  differs from the previous frame's; rows of agents absent from a frame are forgotten at the next.
The memo holds no reference to the frame's other parts; rows are never mutated after they are built
(frames share them, and frame_delta skips rows that are the same object).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from streams.core.agent_time import day_figures
from streams.core.figures import figures, live_load, state_now
from streams.core.shop_settings import ShopSettings

# (shared and read-only: an agent without counters or status keeps one identity from frame to frame)
NO_COUNTERS: Mapping[str, int] = MappingProxyType({})
NO_STATUS: Mapping[str, Any] = MappingProxyType({})
NO_TIMES: Sequence[int] = ()


def agent_row(agent: str, counters: Mapping[str, int], aged: int, history: Sequence[Sequence[Any]] | None,
              settings: ShopSettings, day: str, now_ms: int) -> dict[str, Any]:
    """An agent's row of agents_view: its day counters' figures, then its time in status that day."""
    return {"agent_id": agent, "group": settings.group_of(agent), **figures(counters, aged),
            **day_figures(history, day, settings.timezone, now_ms)}


def live_row(agent: str, activity: Sequence[int], pending: Sequence[int], status: Mapping[str, Any],
             now_counters: Mapping[str, int], settings: ShopSettings, now_ms: int) -> dict[str, Any]:
    """An agent's row of live_view: status, live load at now, state now."""
    return {"agent_id": agent, "group": settings.group_of(agent),
            "status": status.get("status", "unknown"), "status_since_ts": status.get("ts"),
            **live_load(activity, pending, now_ms, settings.active_window_s), **state_now(now_counters)}


def _live_load_holds_until(activity: Sequence[int], now_ms: int, window_s: float) -> float:
    """The first time after now_ms at which live_load's active_conversations can change (no buyer waits)."""
    window_ms = window_s * 1000
    until = math.inf
    for ts in activity:
        for change in (ts, math.floor(ts + window_ms) + 1):
            if now_ms < change < until:
                until = change
    return until


class FrameMemo:
    """One shop's rows of its previous frame, with the inputs they were built from."""

    __slots__ = ("day", "settings", "_agents", "_agents_before", "_live", "_live_before", "built", "reused")

    def __init__(self) -> None:
        self.day: str | None = None
        self.settings: ShopSettings | None = None
        # agent → (counters, aged, row without time in status, whole row when no history else None)
        self._agents: dict[str, tuple[Mapping[str, int], int, dict[str, Any], dict[str, Any] | None]] = {}
        self._agents_before: dict[str, Any] = {}
        # agent → (activity, status, its ts, now counters, built at now, holds until, row)
        self._live: dict[str, tuple[Any, ...]] = {}
        self._live_before: dict[str, tuple[Any, ...]] = {}
        self.built = self.reused = 0  # rows built and reused (tests, bench)

    def begin(self, day: str, settings: ShopSettings) -> None:
        """Start a frame of `day` under `settings`: rows of the previous frame are candidates for reuse
        (all forgotten when the day or the settings changed)."""
        if day != self.day or settings != self.settings:
            self._agents_before, self._live_before = {}, {}
            self.day, self.settings = day, settings
        else:
            self._agents_before, self._live_before = self._agents, self._live
        self._agents, self._live = {}, {}

    def agent_row(self, agent: str, counters: Mapping[str, int], aged: int,
                  history: Sequence[Sequence[Any]] | None, settings: ShopSettings, day: str,
                  now_ms: int) -> dict[str, Any]:
        entry = self._agents_before.get(agent)
        if entry is None or entry[1] != aged or not (entry[0] is counters or entry[0] == counters):
            self.built += 1
            base = {"agent_id": agent, "group": settings.group_of(agent), **figures(counters, aged)}
            entry = (counters, aged, base, None)
        else:
            self.reused += 1
        base = entry[2]
        if history:  # time in status grows with now: rebuilt each frame (the counters' figures are reused)
            self._agents[agent] = entry
            return {**base, **day_figures(history, day, settings.timezone, now_ms)}
        whole = entry[3]
        if whole is None:  # (no history: the day figures are zeros whatever the day and now)
            whole = {**base, **day_figures(history, day, settings.timezone, now_ms)}
            entry = (entry[0], aged, base, whole)
        self._agents[agent] = entry
        return whole

    def live_row(self, agent: str, activity: Sequence[int], pending: Sequence[int], status: Mapping[str, Any],
                 now_counters: Mapping[str, int], settings: ShopSettings, now_ms: int) -> dict[str, Any]:
        state, since, times = status.get("status"), status.get("ts"), tuple(activity)
        entry = self._live_before.get(agent)
        if (entry is not None and not pending and entry[4] <= now_ms < entry[5] and entry[0] == times
                and entry[1] == state and entry[2] == since and entry[3] == now_counters):
            self.reused += 1
            self._live[agent] = entry
            return entry[6]
        self.built += 1
        row = live_row(agent, activity, pending, status, now_counters, settings, now_ms)
        # (while a buyer waits the row holds for this now only: the longest wait grows)
        holds_until = now_ms if pending else _live_load_holds_until(times, now_ms, settings.active_window_s)
        self._live[agent] = (times, state, since, dict(now_counters), now_ms, holds_until, row)
        return row

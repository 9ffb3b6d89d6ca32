"""Robot and queue (metrics.md "Robot and queue"): one buyer's robot days and queue waits.

Pure; part of a buyer's fold (streams/core/facts.py calls fold_queue for each event in timeline order),
so it is exact under late and out-of-order events the same way (refold from scratch when an event
sorts before folded ones; resume otherwise).

Rules (docs/metric-rules.md, "Robot and queue"):
- a `chat.queued` starts a wait when none is open (a second one while waiting changes nothing but
  makes the buyer a to-human buyer of its own day too);
- the wait ends with the buyer's next `chat.transfer` from the queue (`from_agent` null) or buyer
  message routed to an agent, if that comes at most `active_window_s` (of the queued event's settings)
  after the start: an ended wait, counted on the end's day;
- otherwise it was abandoned at start + window: counted once per buyer on the start's day. The wait
  still open at the end of the fold is abandoned or not depending on "now": it goes to the live facts
  (OpenQueueWait) and the read side decides;
- events of a buyer in `filter_buyers` (under the event's settings) start, end and count nothing.
Counters (team scope, day): robot_buyers, to_human, queue_waits, queue_wait_ms, queue_abandoned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from streams.core.scopes import SCOPE_TEAM_DAY


class OpenQueueWait(NamedTuple):
    """The buyer's queue wait still open after its last event: queued while now − start ≤ window."""

    start: int
    day: str  # the start's day
    window_ms: int
    abandoned_counted: bool  # the buyer already counts as abandoned on `day` (an earlier wait)

    def abandoned_at(self, now_ms: int) -> bool:
        return now_ms - self.start > self.window_ms


# A day's queue flags in QueueFold.days (bits): one dict of ints instead of a set per flag, because
# every buyer kept decoded holds a QueueFold, and a dict of str → int is not walked by the garbage
# collector where five sets are.
ROBOT_DAY = 1  # a robot message that day
UNROUTED_DAY = 2  # a buyer message not routed to an agent that day
ROBOT_BUYER_DAY = 4  # counted in robot_buyers that day
TO_HUMAN_DAY = 8  # counted in to_human that day
ABANDONED_DAY = 16  # counted in queue_abandoned that day


@dataclass(slots=True)
class QueueFold:
    wait_start: int | None = None
    wait_day: str = ""
    wait_window_ms: int = 0
    days: dict[str, int] = field(default_factory=dict)  # day → its flags (the *_DAY bits)

    def open_wait(self) -> OpenQueueWait | None:
        if self.wait_start is None:
            return None
        return OpenQueueWait(self.wait_start, self.wait_day, self.wait_window_ms,
                             bool(self.days.get(self.wait_day, 0) & ABANDONED_DAY))


Add = Callable[..., None]  # add(scope, counter name, value=1)


def fold_queue(q: QueueFold, kind: str, ts: int, day: str, agent: str | None, ref: str | None,
               internal: bool, active_window_s: float, add: Add) -> None:
    """One timeline event (already in timeline order) into the buyer's queue state."""
    if internal:
        return
    if q.wait_start is not None and ts - q.wait_start > q.wait_window_ms:
        _abandon(q, add)  # nothing ended it in time: abandoned at start + window
    days = q.days
    if kind == "queued":
        flags = days.get(day, 0)
        if not flags & TO_HUMAN_DAY:
            days[day] = flags | TO_HUMAN_DAY
            add((SCOPE_TEAM_DAY, day), "to_human")
        if q.wait_start is None:
            q.wait_start, q.wait_day, q.wait_window_ms = ts, day, int(active_window_s * 1000)
        return
    ends_wait = (kind == "transfer" and ref is None) or (kind == "buyer" and agent is not None)
    if ends_wait and q.wait_start is not None:
        add((SCOPE_TEAM_DAY, day), "queue_waits")
        add((SCOPE_TEAM_DAY, day), "queue_wait_ms", ts - q.wait_start)
        q.wait_start = None
    if kind == "robot":
        flags = days[day] = days.get(day, 0) | ROBOT_DAY
    elif kind == "buyer" and agent is None:
        flags = days[day] = days.get(day, 0) | UNROUTED_DAY
    else:
        return
    if flags & (ROBOT_DAY | UNROUTED_DAY | ROBOT_BUYER_DAY) == ROBOT_DAY | UNROUTED_DAY:
        days[day] = flags | ROBOT_BUYER_DAY
        add((SCOPE_TEAM_DAY, day), "robot_buyers")


def _abandon(q: QueueFold, add: Add) -> None:
    flags = q.days.get(q.wait_day, 0)
    if not flags & ABANDONED_DAY:
        q.days[q.wait_day] = flags | ABANDONED_DAY
        add((SCOPE_TEAM_DAY, q.wait_day), "queue_abandoned")
    q.wait_start = None

"""When a shop's next update frame may be built: the hub's pace, pure (monotonic times in, times out).

Invariants:
- never two update frames of a shop closer than MIN_UPDATE_INTERVAL_S: api.md allows an update "at
  most every 0.5 s". So a late frame's successor cannot catch up (a pace that let it, by sending two
  frames 0.25 s apart, was measured and dropped: it breaks the contract);
- a change is built at once when the shop's previous frame is at least that old;
- a change of the clock alone (a conversation leaving the active window, an SLA clock running out)
  waits until CLOCK_AFTER_CHANGE_S after the shop's last change. While changes come in, the next
  one's frame shows the clock's change too. Built at once, a clock frame takes the slot of the change
  that follows it, and with changes coming twice a second every later change then stays that late:
  `make bench`'s fan-out with delta frames measured a p50 of 529 ms so. When changes stop, a clock
  change shows at most CLOCK_AFTER_CHANGE_S after the last one (a wait's own refresh is due that long
  after a frame anyway: views.WAIT_REFRESH_MS);
- a phase lock is broken by holding one frame: when changes come one per interval and each of the last
  LOCK_FRAMES frames had to wait for the pace by about the same time (≥ LOCK_MIN_WAIT_S), the source is
  periodic at the pace's own interval and one late frame (a stall of the event loop, a long build)
  made every later one as late. The next frame then waits for the change after it, at most one more
  interval: one change shows up to 0.5 s late (inside the following one's frame), the rest at once.
  Where changes come more often than the pace allows (several partitions exporting), frames are late
  by the pace itself and nothing is held.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_UPDATE_INTERVAL_S = 0.5  # api.md: update frames "at most every 0.5 s", so never two closer than this
CLOCK_AFTER_CHANGE_S = 2 * MIN_UPDATE_INTERVAL_S
LOCK_FRAMES = 2  # frames held back alike, in a row, that show a phase lock (1 s of them)
LOCK_MIN_WAIT_S = 0.1  # a shorter lock is not worth holding a frame for
LOCK_SPREAD_S = 0.05  # "about the same time": the waits of a lock differ by at most this

NEVER = float("-inf")


@dataclass
class ShopPace:
    """One shop's pace: what changed since its last frame, and when that frame was built."""

    changed_since: float | None = None  # the first change not yet in a frame
    clock_due: float | None = None  # when the clock alone changes the shop's frame
    last_built: float = NEVER
    last_change: float = NEVER  # the last change notice
    notices: int = 0  # change notices since the last frame
    pace_waits: list[float] = field(default_factory=list)  # how long the last frames' changes waited
    hold_for_next_change: bool = False  # a phase lock was seen: the next frame waits for a newer change

    def changed(self, now: float) -> None:
        """A change notice (an exporter wrote the shop's figures)."""
        if self.changed_since is None:
            self.changed_since = now
        self.last_change = now
        self.notices += 1

    def mark_changed(self, now: float) -> None:
        """Something may have changed without a notice (pub/sub reconnected): build once more."""
        if self.changed_since is None:
            self.changed_since = now

    def due(self) -> float | None:
        """When the next frame may be built, or None: none is wanted."""
        slot = self.last_built + MIN_UPDATE_INTERVAL_S
        if self.changed_since is not None:
            if self.hold_for_next_change and self.last_change < slot:
                return slot + MIN_UPDATE_INTERVAL_S  # the change after the slot builds it at once
            return max(self.changed_since, slot)
        if self.clock_due is not None:
            return max(self.clock_due, self.last_change + CLOCK_AFTER_CHANGE_S, slot)
        return None

    def take(self, now: float) -> tuple[float | None, float | None]:
        """A frame is built now: (first change it carries or None, clock due it settles or None)."""
        since, clock_due = self.changed_since, self.clock_due
        waited_for_pace = since is not None and since < self.last_built + MIN_UPDATE_INTERVAL_S
        if since is not None and self.notices == 1 and waited_for_pace and not self.hold_for_next_change:
            self.pace_waits = [*self.pace_waits[-(LOCK_FRAMES - 1):], now - since]
        else:
            self.pace_waits = []
        self.hold_for_next_change = (len(self.pace_waits) == LOCK_FRAMES and min(self.pace_waits) >= LOCK_MIN_WAIT_S
                                     and max(self.pace_waits) - min(self.pace_waits) <= LOCK_SPREAD_S)
        if self.hold_for_next_change:
            self.pace_waits = []
        self.changed_since = self.clock_due = None
        self.notices = 0
        self.last_built = now
        return since, clock_due

    def untake(self, since: float | None, clock_due: float | None) -> None:
        """The frame taken could not be built: what it carried is due again."""
        if since is not None:
            self.changed_since = since if self.changed_since is None else min(since, self.changed_since)
        if clock_due is not None and self.clock_due is None:
            self.clock_due = clock_due

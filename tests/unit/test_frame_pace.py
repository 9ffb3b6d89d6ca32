"""api/frame_pace.py on hand-made times (no event loop): the pace's rules one by one."""

from __future__ import annotations

from api.frame_pace import CLOCK_AFTER_CHANGE_S, LOCK_FRAMES, MIN_UPDATE_INTERVAL_S, ShopPace

INTERVAL = MIN_UPDATE_INTERVAL_S


def locked(lateness: float = 0.3) -> tuple[ShopPace, float]:
    """A shop whose changes come exactly every interval, each built `lateness` after it (the pace's slot):
    LOCK_FRAMES such frames. Returns the pace and the time of the last change."""
    pace = ShopPace()
    pace.changed(0.0)
    pace.take(lateness)  # the late frame that set the phase
    change = 0.0
    for _ in range(LOCK_FRAMES):
        change += INTERVAL
        pace.changed(change)
        assert pace.due() == change + lateness
        pace.take(change + lateness)
    return pace, change


def test_a_change_is_built_at_once_when_the_last_frame_is_old_enough() -> None:
    pace = ShopPace()
    assert pace.due() is None
    pace.changed(10.0)
    assert pace.due() == 10.0
    assert pace.take(10.0) == (10.0, None)
    pace.changed(10.2)
    assert pace.due() == 10.0 + INTERVAL  # never two frames closer than the contract allows


def test_a_phase_lock_holds_one_frame_for_the_next_change() -> None:
    pace, change = locked()
    pace.changed(change + INTERVAL)  # arrives before the slot (change + 0.3 + 0.5)
    slot = change + 0.3 + INTERVAL
    assert pace.due() == slot + INTERVAL  # held: not at its slot
    pace.changed(change + 2 * INTERVAL)  # the next change, after the slot: built at once
    assert pace.due() == slot
    assert pace.take(change + 2 * INTERVAL) == (change + INTERVAL, None)
    pace.changed(change + 3 * INTERVAL)  # in phase again: at once
    assert pace.due() == change + 3 * INTERVAL


def test_a_held_frame_is_built_one_interval_late_when_no_change_follows() -> None:
    pace, change = locked()
    pace.changed(change + INTERVAL)
    assert pace.due() == change + 0.3 + 2 * INTERVAL


def test_changes_more_frequent_than_the_pace_hold_nothing() -> None:
    """Several partitions exporting: frames wait for the pace by about the same time, but several
    notices per frame are not a lock, and no frame waits longer than its slot."""
    pace = ShopPace()
    built = 0.0
    pace.changed(0.0)
    pace.take(built)
    for _ in range(3 * LOCK_FRAMES):
        for offset in (0.02, 0.2, 0.4):
            pace.changed(built + offset)
        assert pace.due() == built + INTERVAL
        built += INTERVAL
        pace.take(built)


def test_short_or_uneven_waits_are_not_a_lock() -> None:
    short, _ = locked(lateness=0.05)
    short.changed(10.0)
    assert short.due() == 10.0
    uneven = ShopPace()
    uneven.changed(0.0)
    uneven.take(0.3)
    built = 0.3
    for step, lateness in enumerate((0.3, 0.15, 0.3, 0.15, 0.3, 0.15), start=1):
        uneven.changed(built + INTERVAL - lateness)
        built += INTERVAL
        uneven.take(built)
        assert not uneven.hold_for_next_change, step


def test_a_clock_change_waits_for_a_second_after_the_last_change() -> None:
    pace = ShopPace()
    pace.changed(0.0)
    pace.take(0.0)
    pace.clock_due = 0.6
    assert pace.due() == CLOCK_AFTER_CHANGE_S
    pace.changed(0.9)  # a change carries the clock's too
    assert pace.due() == 0.9
    assert pace.take(0.9) == (0.9, 0.6)
    assert pace.due() is None


def test_a_failed_build_leaves_its_changes_due() -> None:
    pace = ShopPace()
    pace.changed(1.0)
    pace.clock_due = 1.5
    since, clock_due = pace.take(1.0)
    pace.changed(1.2)
    pace.untake(since, clock_due)
    assert (pace.changed_since, pace.clock_due) == (1.0, 1.5)

"""Robot and queue (streams/core/queue.py) through the processor, the export and the views: what the
hand-worked scenario cannot show (the live facts across exports, the clock alone changing figures)."""

from __future__ import annotations

from typing import Any

from streams.core import facts, queue
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.snapshot import export_shop, merge_live
from streams.core.views import live_view, next_clock_change_ms, summary_view
from tests.unit.test_edge_rules import DAY, DAY_MS, T, chat, kafka, processor_for

WINDOW_MS = 600_000


def queued(event_id: str, ts: int, buyer: str = "b1") -> dict[str, Any]:
    return {"event_id": event_id, "shop_id": "s", "type": "chat.queued", "ts": ts, "buyer_id": buyer}


def test_the_scope_tag_is_the_team_day_of_facts() -> None:
    assert queue.SCOPE_TEAM_DAY == facts.SCOPE_TEAM_DAY


def test_an_open_wait_outlives_the_buyers_activity_and_is_abandoned_by_the_clock_alone() -> None:
    processor, partition = processor_for("b1")
    processor.process([kafka(partition, 0, chat("m1", T, "buyer", "A"), chat("m2", T + 1000, "agent", "A"),
                             queued("q1", T + 2000))])
    tables = processor.tables.shop("s")
    before = T + 2000 + WINDOW_MS  # exactly the window: still queued
    live = merge_live([export_shop(tables, before, 600, DAY_MS).live or {}])
    assert live_view("s", live, {}, {"A"}, DEFAULT_SETTINGS, before)["team"]["queued_now"] == 1
    assert summary_view("s", DAY, {"agents": {}, "groups": {}, "team": {}}, live, before)["team"][
        "queue_abandoned_buyers"] == 0
    assert next_clock_change_ms(live, DAY, DEFAULT_SETTINGS, before - 5000) == before - 4000  # wait grows
    assert next_clock_change_ms(live, DAY, DEFAULT_SETTINGS, before) == before + 1  # abandoned then
    # 20 minutes on, the activity has left the window; two exports later the wait is still there
    later = T + 20 * 60_000
    for _ in range(2):
        tables.dirty_live = True
        live = merge_live([export_shop(tables, later, 600, DAY_MS).live or {}])
    assert live_view("s", live, {}, {"A"}, DEFAULT_SETTINGS, later)["team"]["queued_now"] == 0
    assert summary_view("s", DAY, {"agents": {}, "groups": {}, "team": {}}, live, later)["team"][
        "queue_abandoned_buyers"] == 1


def test_an_abandoned_wait_ended_late_is_counted_once_with_a_new_open_wait_of_the_same_day() -> None:
    processor, partition = processor_for("b1")
    processor.process([kafka(partition, 0, queued("q1", T), queued("q2", T + WINDOW_MS + 1),
                             queued("q3", T + WINDOW_MS + 2))])  # the second starts a new wait, the third not
    tables = processor.tables.shop("s")
    assert tables.days[DAY]["team"] == {"to_human": 1, "queue_abandoned": 1}
    now = T + 3 * WINDOW_MS
    live = merge_live([export_shop(tables, now, 600, DAY_MS).live or {}])
    summary = summary_view("s", DAY, tables.days[DAY], live, now)
    assert summary["team"]["queue_abandoned_buyers"] == 1  # one buyer, however many waits it gave up

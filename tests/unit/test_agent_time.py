"""Agent time (streams/core/agent_time.py): the status history kept in the agent record and the seconds
per status and day derived from it (metrics.md "Agent time")."""

from __future__ import annotations

import orjson

from streams.core.agent_time import DAY_MS, HISTORY_KEEP_MS, add_status, day_figures, days_with_time
from streams.core.processor import SourceRecord, agent_state, process_agent_events

TZ = "Asia/Shanghai"
MIDNIGHT = 1_794_326_400_000  # 2026-11-11 00:00 Asia/Shanghai
HOUR = 3_600_000


def test_equal_ts_keep_arrival_order_and_the_later_arrival_holds() -> None:
    history: list[list[object]] = []
    for ts, status in ((MIDNIGHT + HOUR, "online"), (MIDNIGHT + 2 * HOUR, "away"), (MIDNIGHT + 2 * HOUR, "busy"),
                       (MIDNIGHT, "offline")):
        add_status(history, ts, status)
    assert history == [[MIDNIGHT, "offline"], [MIDNIGHT + HOUR, "online"], [MIDNIGHT + 2 * HOUR, "away"],
                       [MIDNIGHT + 2 * HOUR, "busy"]]
    figures = day_figures(history, "2026-11-11", TZ, MIDNIGHT + 3 * HOUR)
    # the away of 02:00 holds for no time: the busy that arrived after it with the same ts replaces it
    assert figures == {"online_s": 7200.0, "busy_s": 3600.0, "away_s": 0.0, "first_online_ts": MIDNIGHT + HOUR,
                       "last_offline_ts": MIDNIGHT}


def test_the_last_status_holds_until_now_and_no_further() -> None:
    history = [[MIDNIGHT - HOUR, "away"]]
    assert day_figures(history, "2026-11-10", TZ, MIDNIGHT + HOUR)["away_s"] == 3600.0
    assert day_figures(history, "2026-11-11", TZ, MIDNIGHT + HOUR)["away_s"] == 3600.0
    assert day_figures(history, "2026-11-12", TZ, MIDNIGHT + HOUR)["away_s"] == 0.0
    assert days_with_time(history, TZ, MIDNIGHT + HOUR) == {"2026-11-10", "2026-11-11"}
    assert days_with_time(history, TZ, MIDNIGHT) == {"2026-11-10"}  # now at midnight: nothing of the 11th yet


def test_the_history_is_bounded_and_keeps_the_status_carried_into_its_window() -> None:
    history: list[list[object]] = []
    for day in range(30):
        add_status(history, MIDNIGHT + day * DAY_MS + 9 * HOUR, "online")
        add_status(history, MIDNIGHT + day * DAY_MS + 18 * HOUR, "offline")
    latest = history[-1][0]
    assert history[0][0] < latest - HISTORY_KEEP_MS <= history[1][0]  # exactly one entry before the window
    assert len(history) <= 2 * (HISTORY_KEEP_MS // DAY_MS) + 2
    # a day inside the window is exact: 9 h online
    last_day = "2026-12-10"
    assert day_figures(history, last_day, TZ, latest)["online_s"] == 9 * 3600.0


def _status(event_id: str, ts: int, status: str) -> bytes:
    return orjson.dumps({"event_id": event_id, "shop_id": "s", "type": "agent.status", "ts": ts,
                         "agent_id": "A", "status": status})


def test_the_agent_record_keeps_the_history_out_of_order_and_once_per_event_id() -> None:
    store: dict[str, bytes] = {}
    records = [SourceRecord("agent-events", 0, offset, value) for offset, value in enumerate([
        _status("s2", MIDNIGHT + 2 * HOUR, "away"),
        _status("s1", MIDNIGHT + HOUR, "online"),
        _status("s1", MIDNIGHT + HOUR, "online"),  # a client's duplicate
    ])]
    process_agent_events(records, 1, store)
    state = agent_state(store["s|A"])
    assert state["hist"] == [[MIDNIGHT + HOUR, "online"], [MIDNIGHT + 2 * HOUR, "away"]]
    assert (state["status"], state["ts"]) == ("away", MIDNIGHT + 2 * HOUR)

"""War room through the real stack (event clock): the worker's headline curve gives "same time
yesterday" and the pace of a target; /period sums days and refuses more than 92."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.readside.keys import shop_key
from tests.client import Api

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack)


def _at(day: datetime, hh: int, mm: int, ss: int = 0) -> int:
    return int(day.replace(hour=hh, minute=mm, second=ss, microsecond=0).timestamp() * 1000)


def _sale(shop: str, tag: str, ts: int, amount: float) -> list[dict]:
    """A buyer asks agent A, A answers, the buyer orders and pays `amount` (credited to A)."""
    buyer = f"b-{tag}"
    base = {"shop_id": shop, "buyer_id": buyer}
    return [
        {**base, "event_id": f"{tag}-1", "type": "chat.message", "ts": ts, "agent_id": "A", "sender": "buyer",
         "text": "这个有货吗"},
        {**base, "event_id": f"{tag}-2", "type": "chat.message", "ts": ts + 5_000, "agent_id": "A",
         "sender": "agent", "text": "有的亲"},
        {**base, "event_id": f"{tag}-3", "type": "order.created", "ts": ts + 10_000, "order_id": f"o-{tag}",
         "amount": amount, "items": 1},
        {**base, "event_id": f"{tag}-4", "type": "order.paid", "ts": ts + 20_000, "order_id": f"o-{tag}",
         "amount": amount, "items": 1},
    ]


def test_same_time_yesterday_and_pace_from_yesterdays_curve(api: Api) -> None:
    shop = f"war-{uuid.uuid4().hex[:8]}"
    today = datetime.now(TZ)
    yesterday = today - timedelta(days=1)
    assert api.put_settings(shop, {"targets": {"sales": 1000, "sla_rate": 0.9}})["targets"]["sales"] == 1000
    # Yesterday: ¥100 by 09:59, ¥400 by the end of the day (each batch processed before the next, so the
    # worker samples the curve at 09:59 and at 15:00).
    for tag, ts, amount in (("y1", _at(yesterday, 9, 59), 100.0), ("y2", _at(yesterday, 15, 0), 300.0)):
        assert api.ingest(_sale(shop, tag, ts, amount)).status_code == 202
        api.wait_processed(shop)
    # Today, 10:00: ¥150 so far.
    assert api.ingest(_sale(shop, "t1", _at(today, 10, 0), 150.0)).status_code == 202
    api.wait_processed(shop)

    progress = api.get(shop, "progress")
    assert progress["minute_of_day"] == 600 and progress["yesterday"] == yesterday.date().isoformat()
    sales = progress["figures"]["sales"]
    assert (sales["value"], sales["yesterday"]) == (150.0, 100.0)
    assert sales["change"] == pytest.approx(0.5)  # ▲ 50 % against yesterday at 10:00, not against ¥400
    # Pace: no curve last week, so yesterday's: ¥100 of ¥400 by 10:00 -> 25 % of the ¥1,000 target.
    assert progress["pace"]["sales"] == {"value": 150.0, "target": 1000.0, "progress": 0.15, "expected": 250.0,
                                         "basis": "yesterday", "status": "behind"}
    assert set(progress["pace"]) == {"sales", "sla_rate"}
    assert progress["figures"]["received_buyers"]["yesterday"] == 1

    # The period of both days: counts summed (agent A received a buyer on each day), KPI score present.
    period = api.get(shop, "period", start=yesterday.date().isoformat(), end=today.date().isoformat())
    assert period["days"] == 2 and period["team"]["sales"] == 550.0 and period["team"]["received_buyers"] == 3
    row = next(r for r in period["agents"] if r["agent_id"] == "A")
    assert row["sales"] == 550.0 and 0 <= row["score"] <= 100
    assert "销售额目标完成 × 30%" in period["kpi"]["formula_zh"]


def test_period_refuses_more_than_92_days_and_takes_week_and_month(api: Api) -> None:
    shop = f"war-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {api.stack.viewer_token}"}
    too_long = api.http.get(f"/api/v1/shops/{shop}/period", params={"start": "2026-08-31", "end": "2026-12-01"},
                            headers=headers)
    assert too_long.status_code == 422
    assert too_long.json()["error"] == "invalid" and "at most 92 days" in too_long.json()["message"]
    assert api.get(shop, "period", start="2026-09-01", end="2026-12-01")["days"] == 92
    week = api.get(shop, "period", kind="week", day="2026-11-11")
    assert (week["start"], week["end"], week["days"]) == ("2026-11-09", "2026-11-15", 7)
    assert api.get(shop, "period", kind="month", day="2026-11-11")["days"] == 30
    bad_day = api.http.get(f"/api/v1/shops/{shop}/period", params={"start": "2026-13-01", "end": "2026-12-01"},
                           headers=headers)
    assert bad_day.status_code == 422 and bad_day.json()["field"] == "start"


def test_history_keys_are_bounded(api: Api, stack) -> None:
    """Day buckets expire after ≥ 400 days, curves after ≥ 48 hours / 8 days (docs/operations.md)."""
    import redis

    shop = f"war-{uuid.uuid4().hex[:8]}"
    assert api.ingest(_sale(shop, "k1", _at(datetime.now(TZ), 9, 0), 10.0)).status_code == 202
    api.wait_processed(shop)
    client = redis.Redis.from_url(stack.redis_url)
    keys = [k.decode() for k in client.scan_iter(shop_key(shop, "*"))]
    ttls = {k: client.ttl(k) for k in keys}
    day = [client.ttl(k) for k in keys if ":days:" in k]
    minute_curve = [client.ttl(k) for k in keys if ":curve:" in k]
    quarter_curve = [client.ttl(k) for k in keys if ":curveq:" in k]
    assert day and minute_curve and quarter_curve, ttls
    assert all(400 * 86_400 < t <= 401 * 86_400 for t in day)
    assert all(2 * 86_400 < t <= 3 * 86_400 for t in minute_curve)
    assert all(8 * 86_400 < t <= 9 * 86_400 for t in quarter_curve)


def test_pace_prefers_the_same_weekday_last_week(api: Api) -> None:
    shop = f"war-{uuid.uuid4().hex[:8]}"
    today = datetime.now(TZ)
    last_week, yesterday = today - timedelta(days=7), today - timedelta(days=1)
    api.put_settings(shop, {"targets": {"sales": 1000}})
    # Last week: ¥400 by 09:50 of ¥800 (50 % by 10:00); yesterday: ¥100 by 09:59 of ¥400 (25 %).
    for tag, ts, amount in (("w1", _at(last_week, 9, 50), 400.0), ("w2", _at(last_week, 20, 0), 400.0),
                            ("y1", _at(yesterday, 9, 59), 100.0), ("y2", _at(yesterday, 15, 0), 300.0),
                            ("t1", _at(today, 10, 0), 150.0)):
        assert api.ingest(_sale(shop, tag, ts, amount)).status_code == 202
        api.wait_processed(shop)
    pace = api.get(shop, "progress")["pace"]["sales"]
    assert (pace["basis"], pace["expected"], pace["status"]) == ("last_week", 500.0, "behind"), pace

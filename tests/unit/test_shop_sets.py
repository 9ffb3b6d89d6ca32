"""The multi-shop 作战大屏's figures (streams/core/shop_sets.py) and its stream (api/shop_sets.py).

Hand-worked set of three shops:
  a: sales ¥100.10, inquiry 10 / paid 5 (50 %), SLA 9 of 10, 2 waiting (longest 30 s), 1 queued, 1 alert
  b: sales ¥200.20, inquiry 30 / paid 6 (20 %), SLA 1 of 10, 0 waiting, 0 queued, 2 alerts (1 rule, 2 subjects)
  c: nothing yet (no inquiry: its ratios are null, its counts 0)
Totals: sales ¥300.30 (not 300.29999…), conversion 11 / 40 = 27.5 % (the mean of the shops' rates would be
35 %), SLA 10 / 20 = 50 % (mean 50 %: equal denominators), waiting 2, longest 30 s, queued 1, alerts 3.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from api.hub import Client, Hub
from api.shop_sets import SNAPSHOT_CONCURRENCY, ShopSetStream, alerts_firing, snapshots_of
from api.state import ApiCounters
from streams.config import Config
from streams.core.catalogue import BY_KEY
from streams.core.events import SHOP_ID_RE
from streams.core.shop_sets import (
    DAY_RATIOS,
    InvalidShopSet,
    firing_count,
    parse_shop_set,
    ratio_parts,
    set_totals,
    shop_row,
    shop_set_payload,
)
from streams.readside.keys import state_key
from streams.readside.reader import ReadModel
from tests.unit.test_hub_ageing import SHOP, MemoryPipeline, MemoryRedis, RecordingSocket, export


def snapshot(shop: str, team: dict[str, Any], live_team: dict[str, Any]) -> dict[str, Any]:
    return {"shop_id": shop, "day": "2026-11-11", "team": team, "groups": {}, "agents": [],
            "live": {"shop_id": shop, "now": 0, "agents": [], "team": live_team, "groups": {}}}


A = snapshot("a", {"sales": 100.1, "shop_sales": 120.0, "received_buyers": 12, "paid_buyers": 5,
                   "inquiry_buyers": 10, "inquiry_pay_rate": 0.5, "sla_met_buyers": 9, "sla_buyers": 10,
                   "sla_rate": 0.9},
             {"active_conversations": 4, "waiting_buyers": 2, "longest_wait_s": 30.0, "queued_now": 1,
              "longest_queue_wait_s": 12.5})
B = snapshot("b", {"sales": 200.2, "shop_sales": 200.2, "received_buyers": 31, "paid_buyers": 6,
                   "inquiry_buyers": 30, "inquiry_pay_rate": 0.2, "sla_met_buyers": 1, "sla_buyers": 10,
                   "sla_rate": 0.1},
             {"active_conversations": 7, "waiting_buyers": 0, "longest_wait_s": 0.0, "queued_now": 0,
              "longest_queue_wait_s": 0.0})
C = snapshot("c", {"sales": 0.0, "shop_sales": 0.0, "received_buyers": 0, "paid_buyers": 0, "inquiry_buyers": 0,
                   "inquiry_pay_rate": None, "sla_met_buyers": 0, "sla_buyers": 0, "sla_rate": None},
             {"active_conversations": 0, "waiting_buyers": 0, "longest_wait_s": 0.0, "queued_now": 0,
              "longest_queue_wait_s": 0.0})


def test_rows_are_the_shops_own_figures_in_the_order_asked() -> None:
    payload = shop_set_payload(("b", "c", "a"), {"a": A, "b": B, "c": C}, {"a": 1, "b": 2}, 123)
    assert payload["shops"] == ["b", "c", "a"] and payload["now"] == 123
    assert [r["shop_id"] for r in payload["rows"]] == ["b", "c", "a"]
    row_a = payload["rows"][2]
    for key, value in A["team"].items():
        assert row_a[key] == value, key
    for key, value in A["live"]["team"].items():
        assert row_a[key] == value, key
    assert row_a["alerts_firing"] == 1 and payload["rows"][1]["alerts_firing"] == 0
    assert row_a["day"] == "2026-11-11"


def test_totals_sum_counts_and_recompute_ratios_from_summed_parts() -> None:
    totals = set_totals([shop_row(A, 1), shop_row(B, 2), shop_row(C, 0)])
    assert totals["shops"] == 3
    assert totals["sales"] == 300.3  # rounded to the cent: 100.1 + 200.2 is 300.29999999999995
    assert (totals["inquiry_buyers"], totals["paid_buyers"]) == (40, 11)
    assert totals["inquiry_pay_rate"] == pytest.approx(11 / 40)  # not (0.5 + 0.2) / 2
    assert totals["sla_rate"] == pytest.approx(10 / 20)
    assert (totals["waiting_buyers"], totals["queued_now"], totals["active_conversations"]) == (2, 1, 11)
    assert (totals["longest_wait_s"], totals["longest_queue_wait_s"]) == (30.0, 12.5)
    assert totals["alerts_firing"] == 3


def test_a_set_with_nothing_to_divide_has_null_ratios() -> None:
    totals = set_totals([shop_row(C, 0)])
    assert totals["inquiry_pay_rate"] is None and totals["sla_rate"] is None
    assert set_totals([])["sales"] == 0 and set_totals([])["longest_wait_s"] == 0


def test_ratio_parts_come_from_the_catalogue() -> None:
    for key in DAY_RATIOS:
        figure = BY_KEY[key]
        assert ratio_parts(key) == (figure.numerator, figure.denominator)
    # every ratio total equals the catalogue's formula over the summed rows
    rows = [shop_row(A, 0), shop_row(B, 0)]
    totals = set_totals(rows)
    for key in DAY_RATIOS:
        num, den = ratio_parts(key)
        assert totals[key] == sum(r[num] for r in rows) / sum(r[den] for r in rows)
    with pytest.raises(ValueError):
        ratio_parts("sales")


def test_parse_shop_set() -> None:
    assert parse_shop_set("b, a,b,,c", SHOP_ID_RE) == ("b", "a", "c")
    assert parse_shop_set(["x"], SHOP_ID_RE) == ("x",)
    for bad in ("", " , ", "a,b c", "a,../x"):
        with pytest.raises(InvalidShopSet):
            parse_shop_set(bad, SHOP_ID_RE)
    assert len(parse_shop_set(",".join(f"s{i}" for i in range(100)), SHOP_ID_RE)) == 100
    with pytest.raises(InvalidShopSet):
        parse_shop_set(",".join(f"s{i}" for i in range(101)), SHOP_ID_RE)


def test_firing_count() -> None:
    assert firing_count({"seq": 0, "firing": {}, "pending": {}}) == 0
    assert firing_count({"firing": {"r1": {"a1": {}, "a2": {}}, "r2": {"team": {}}}}) == 3


# ------------------------------------------------------------------------------------ the stream

OTHER = "other-shop"


class SetRedis(MemoryRedis):
    def pipeline(self, transaction: bool = True) -> SetPipeline:
        return SetPipeline(self.values)


class SetPipeline(MemoryPipeline):
    def get(self, key: str) -> None:
        self.results.append(self.values.get(key))  # type: ignore[arg-type]


class TimedSocket(RecordingSocket):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def send_text(self, text: str) -> None:
        self.times.append(time.monotonic())
        await super().send_text(text)


async def test_alerts_firing_reads_each_shops_state() -> None:
    redis = SetRedis({state_key("a"): orjson.dumps({"seq": 3, "firing": {"r": {"x": {}, "y": {}}}})})
    assert await alerts_firing(redis, ("a", "b")) == {"a": 2, "b": 0}


async def test_the_set_stream_reuses_the_shops_snapshots_and_ages_with_them() -> None:
    """Shop SHOP has a buyer waiting since 5 s ago, OTHER nothing: the set's snapshot has both rows; then
    update frames (at most every 0.5 s) carry SHOP's growing wait, built from the hub's per-shop snapshots;
    an alert of a shop is passed on."""
    now = int(time.time() * 1000)
    values = {**export(now, [now - 5_000], []),
              **{k.replace(SHOP, OTHER): v for k, v in export(now, [], []).items()}}
    config = Config(partitions=1, clock="wall", _env_file=None)
    redis = SetRedis(values)
    readmodel = ReadModel(redis, config)
    built: list[str] = []
    original = readmodel.snapshot_until

    async def counting(shop: str, cache: Any = None) -> Any:
        built.append(shop)
        return await original(shop, cache)

    readmodel.snapshot_until = counting  # type: ignore[method-assign]
    hub = Hub(redis, readmodel, ApiCounters())
    socket = TimedSocket()
    client = Client(socket)  # type: ignore[arg-type]
    stream = ShopSetStream(hub, (SHOP, OTHER), client)
    stream.join()
    tasks = [asyncio.create_task(hub._build_loop()), asyncio.create_task(client.send_loop(hub.counters)),
             asyncio.create_task(stream.update_loop())]
    try:
        await socket.send_text((await stream.frame("snapshot")).decode())
        await asyncio.sleep(2.6)
        stream.member.offer_alert(orjson.dumps({"type": "alert", "shop_id": OTHER, "kind": "buyer_waiting"}))
        await asyncio.sleep(0.2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stream.leave()
    first = socket.frames[0]
    assert first["type"] == "snapshot" and first["shops"] == [SHOP, OTHER]
    assert [(r["shop_id"], r["waiting_buyers"]) for r in first["rows"]] == [(SHOP, 1), (OTHER, 0)]
    assert first["totals"]["waiting_buyers"] == 1 and first["totals"]["shops"] == 2
    updates = [f for f in socket.frames if f["type"] == "update"]
    assert len(updates) >= 2, socket.frames
    waits = [f["totals"]["longest_wait_s"] for f in updates]
    assert waits == sorted(waits) and waits[-1] > first["totals"]["longest_wait_s"], waits
    assert all(f["rows"][0]["longest_wait_s"] == f["totals"]["longest_wait_s"] for f in updates)
    # OTHER never changed: built once for the first frame, though the set sent several updates (their
    # rows come from the hub's newest per-shop snapshots, not from a build of every shop per frame)
    assert built[:2] == [SHOP, OTHER] and built.count(OTHER) == 1, built
    gaps = [b - a for a, b in zip(socket.times, socket.times[1:], strict=False)]
    assert min(gaps[:len(updates)]) >= 0.45, gaps  # at most one set frame every 0.5 s
    assert [f for f in socket.frames if f["type"] == "alert"] == [
        {"type": "alert", "shop_id": OTHER, "kind": "buyer_waiting"}]
    assert hub.clients == {} and hub.latest == {}


async def test_a_big_set_reads_its_shops_a_few_at_a_time() -> None:
    """100 shops at once would take more connections than the Redis pool has (MaxConnectionsError)."""
    in_flight, most = 0, 0

    async def build(shop: str) -> dict[str, Any]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return {"shop_id": shop}

    shops = tuple(f"s{i}" for i in range(100))
    got = await snapshots_of(build, shops)
    assert list(got) == list(shops) and got["s7"] == {"shop_id": "s7"}
    assert most == SNAPSHOT_CONCURRENCY

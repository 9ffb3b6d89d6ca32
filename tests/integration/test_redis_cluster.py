"""The whole stack against a real 3-node Redis Cluster (KEFU_REDIS_CLUSTER=1, deploy/redis/redis.sh).

The pipeline-vs-oracle property test and the alert tests (compare-and-set commit script, the
dispatcher's schedule/claim scripts and transactions, versioned documents, screens' alert frames) run
here again, unchanged, on this module's own cluster stack; plus what only a cluster can show: a shop's
keys all sit on the node owning its slot, and screens of shops on every node get their frames (one
PSUBSCRIBE connection hears PUBLISHes made on any node).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest
from redis.cluster import key_slot
from websockets.sync.client import connect

from streams.readside.keys import live_key, meta_key, tag, version_key
from tests.client import Api
from tests.integration.test_alerts_integration import (  # noqa: F401  (collected again on the cluster)
    test_buyer_waiting_fires_before_the_reply_and_resolves_after_it_one_delivery_each,
    test_dead_and_slow_receivers_delay_neither_others_nor_the_figures,
    test_dispatcher_restart_loses_no_delivery,
    test_rules_api_defaults_validation_roles_and_redaction,
    test_rules_put_is_in_force_for_the_next_evaluation,
    test_screens_get_an_alert_frame,
)
from tests.integration.test_pipeline_oracle import test_pipeline_equals_oracle  # noqa: F401
from tests.stack import LocalStack

pytestmark = pytest.mark.integration

T0 = int(time.time() * 1000) - 2 * 3600_000


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """This module's own stack, on a Redis Cluster (overrides the session's single-Redis stack)."""
    with LocalStack(redis_cluster=True) as s:
        yield s


@pytest.fixture
def api(stack: LocalStack) -> Api:
    return Api(stack)


def shops_on_every_node(stack: LocalStack) -> dict[str, str]:
    """One new shop id per cluster node: node name → shop whose hash tag's slot that node serves."""
    client = stack.redis_client()
    try:
        nodes = {node.name for node in client.get_primaries()}
        assert len(nodes) == 3, nodes
        found: dict[str, str] = {}
        while len(found) < len(nodes):
            shop = f"rc-{uuid.uuid4().hex[:8]}"
            found.setdefault(client.get_node_from_key(tag(shop)).name, shop)
        return found
    finally:
        client.close()


def test_the_stack_runs_on_three_nodes_and_a_shop_lives_on_one(api: Api, stack: LocalStack) -> None:
    by_node = shops_on_every_node(stack)
    # One request for shops on three nodes: ingest reads each shop's settings version (three slots).
    response = api.ingest([{"event_id": "m1", "shop_id": shop, "type": "chat.message", "ts": T0,
                            "buyer_id": "b1", "agent_id": "A", "sender": "buyer"} for shop in by_node.values()])
    assert response.status_code == 202 and response.json()["accepted"] == 3, response.text
    assert api.put_settings(next(iter(by_node.values())), {"filter_phrases": ["你好"]})
    client = stack.redis_client()
    try:
        for node, shop in by_node.items():
            api.wait_processed(shop)
            shop_keys = [live_key(shop, p) for p in range(4)] + [meta_key(shop, p) for p in range(4)]
            assert len({key_slot(k.encode()) for k in shop_keys}) == 1
            server = client.get_node(node_name=node)
            # Every key of the shop that exists is on the node owning its slot, and only there.
            for other in client.get_primaries():
                here = client.execute_command("KEYS", f"kefu:{tag(shop)}:*", target_nodes=other)
                assert bool(here) == (other.name == server.name), (shop, other.name, here)
        settings_shop = next(iter(by_node.values()))
        assert client.get(version_key(settings_shop, "settings")) == b"1"
    finally:
        client.close()


def test_screens_of_shops_on_every_node_get_their_update_frames(api: Api, stack: LocalStack) -> None:
    by_node = shops_on_every_node(stack)
    for shop in by_node.values():
        assert api.ingest([{"event_id": "m0", "shop_id": shop, "type": "chat.message", "ts": T0,
                            "buyer_id": "b0", "agent_id": "A", "sender": "buyer"}]).status_code == 202
        api.wait_processed(shop)
    base = stack.api_url.replace("http://", "ws://")
    with contextlib.ExitStack() as opened:
        sockets = {shop: opened.enter_context(connect(f"{base}/api/v1/shops/{shop}/stream?token={stack.viewer_token}",
                                                      open_timeout=10))
                   for shop in by_node.values()}
        for ws in sockets.values():
            assert orjson.loads(ws.recv(timeout=10))["type"] == "snapshot"
        for shop in by_node.values():
            assert api.ingest([{"event_id": "m1", "shop_id": shop, "type": "chat.message", "ts": T0 + 1000,
                                "buyer_id": "b1", "agent_id": "A", "sender": "buyer"}]).status_code == 202
        for shop, ws in sockets.items():
            deadline = time.monotonic() + 30
            while True:  # the frame that carries the second buyer: the worker's notice reached the hub
                frame = orjson.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame["type"] == "update" and frame["team"]["consult_buyers"] == 2:
                    break
            assert frame["shop_id"] == shop



def test_the_hubs_day_rows_script_reads_what_hgetall_reads(stack: LocalStack) -> None:
    """streams/readside/frame_cache.py reads a day hash through DAY_ROWS_SCRIPT (HGETALL encoded by
    Redis's cjson, in a pipeline on the shop's node): the same rows as HGETALL, with awkward agent ids
    and an empty partition; shops on every node."""
    import asyncio

    from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

    from streams.readside.frame_cache import DayRows, read_day_cached
    from streams.readside.keys import day_key
    from streams.readside.snapshots import read_day

    day = "2026-11-11"
    agents = ["a/1", 'q"uote', "back\\slash", "客服小王", "emoji😀", "tab\there", "plain"]
    shops = list(shops_on_every_node(stack).values())
    client = stack.redis_client()
    try:
        for shop in shops:
            for p in (0, 2):  # partition 1 has no hash
                rows = {f"a:{a}": orjson.dumps({"consult": p + i, "big_fen": 10**15 + i}) for i, a in enumerate(agents)}
                client.hset(day_key(shop, p, day), mapping={
                    **rows, "g:售前/group": orjson.dumps({"consult": 3}), "t": orjson.dumps({"consult": 7 + p})})
    finally:
        client.close()

    async def compare() -> None:
        redis = AsyncRedisCluster.from_url(stack.redis_url.removesuffix("/0"))
        try:
            for shop in shops:
                cached = await read_day_cached(redis, shop, 3, day, DayRows())
                assert cached == await read_day(redis, shop, 3, day)
                assert set(cached["agents"]) == set(agents) and cached["team"] == {"consult": 16}
        finally:
            await redis.aclose()

    asyncio.run(compare())

"""Two workers share the partitions; one is killed mid-stream; after the rebalance every figure still
equals the oracle. Slow (a rebalance waits for the dead member's session): `make chaos`.

With Double-11 money traffic in flight across the kill (tests/money_traffic.py) under `payment`
attribution with `followup_not_lost` on, so balances with no recent chat are silent and the chasing
agents' messages credit orders."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client import Api, assert_same_figures
from tests.integration.test_worker_crash import assert_same_money, simulated_day_with_money
from tests.money_traffic import KINDS, kinds_in_flight
from tests.stack import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


@pytest.fixture(scope="module")
def two_workers() -> Iterator[LocalStack]:
    stack = LocalStack(workers=2)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_kill_one_of_two_workers(two_workers: LocalStack, tmp_path: Path) -> None:
    stack = two_workers
    api = Api(stack)
    shop = f"two-{uuid.uuid4().hex[:8]}"
    events = simulated_day_with_money(shop, 5000, tmp_path / "day.ndjson")
    shop_settings = {"attribution": "payment", "followup_not_lost": True}
    api.put_settings(shop, shop_settings)
    done = threading.Event()

    def send() -> None:
        for start in range(0, len(events), 100):
            assert api.ingest(events[start:start + 100]).status_code == 202
            time.sleep(0.03)
        done.set()

    sender = threading.Thread(target=send)
    sender.start()
    stack.wait_for(lambda: api.get(shop, "lag")["processed_events"] > 1500, timeout=90, what="processing")
    processed_at_kill = api.get(shop, "lag")["processed_events"]
    stack.kill_worker(2)
    assert kinds_in_flight(events, processed_at_kill) == (set(KINDS), set(KINDS)), processed_at_kill
    sender.join(timeout=300)
    assert done.is_set()
    api.wait_processed(shop, timeout=240)  # worker 1 takes over worker 2's partitions
    assert_same_figures(api, shop, events, shop_settings)
    assert_same_money(api, shop, events, shop_settings)
    stack.start_worker(2)  # and back: a second rebalance, figures unchanged
    time.sleep(15)
    api.wait_processed(shop, timeout=120)
    assert_same_figures(api, shop, events, shop_settings)
    assert_same_money(api, shop, events, shop_settings)

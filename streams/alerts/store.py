"""Redis I/O of the alert hooks: versioned rules, the alert state (compare-and-set), the alert list,
the outbox to Kafka and the delivery log. Keys and channels: streams/readside/keys.py.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.alerts.rules import DEFAULT_RULES, AlertRule, load_stored_rules, rules_to_json
from streams.readside.documents import VersionedDocuments
from streams.readside.keys import (
    ALERT_RULES,
    alerts_channel,
    alerts_key,
    deliveries_key,
    outbox_key,
    rules_channel,
    state_key,
)

ALERTS_KEEP = 500
DELIVERIES_KEEP = 500
SENT_MARK_TTL_S = 8 * 86_400  # longer than the alerts topic's retention (7 days)
RULES_DOCUMENTS = VersionedDocuments(ALERT_RULES, load_stored_rules, DEFAULT_RULES, channel=rules_channel)


# ---- rules -----------------------------------------------------------------------------------------

async def put_rules(client: Any, shop: str, rules: tuple[AlertRule, ...]) -> int:
    """Store the rules as the next version, make it current and tell the runners, atomically."""
    return await RULES_DOCUMENTS.put(client, shop, {"rules": rules_to_json(rules)})


async def current_rules_version(client: Any, shop: str) -> int:
    return await RULES_DOCUMENTS.current_version(client, shop)


async def load_rules(client: Any, shop: str, version: int) -> tuple[AlertRule, ...]:
    return await RULES_DOCUMENTS.load(client, shop, version)


class RulesCache:
    """Rules by (shop, version): versions are immutable, so a cached one is never stale."""

    def __init__(self, client: Any, size: int = 4096) -> None:
        self.client = client
        self.size = size
        self._cache: dict[tuple[str, int], tuple[AlertRule, ...]] = {}

    async def get(self, shop: str, version: int) -> tuple[AlertRule, ...]:
        rules = self._cache.get((shop, version))
        if rules is None:
            rules = await load_rules(self.client, shop, version)
            if len(self._cache) >= self.size:
                self._cache.clear()
            self._cache[(shop, version)] = rules
        return rules


# ---- alert state: compare-and-set commit ------------------------------------------------------------

# KEYS: state, alerts list, outbox.  ARGV: expected seq, new state JSON, channel, keep, then transitions.
# The commit happens only when nobody committed since we read the state (seq unchanged): during a
# rebalance two workers may both believe they own the shop for a moment; only one of them commits.
COMMIT_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
local seq = 0
if raw then seq = cjson.decode(raw)['seq'] or 0 end
if tostring(seq) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for i = 5, #ARGV do
  redis.call('LPUSH', KEYS[2], ARGV[i])
  redis.call('RPUSH', KEYS[3], ARGV[i])
  redis.call('PUBLISH', ARGV[3], ARGV[i])
end
if #ARGV >= 5 then redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1) end
return 1
"""


def empty_state() -> dict[str, Any]:
    return {"seq": 0, "firing": {}, "pending": {}}


async def read_state(client: Any, shop: str) -> dict[str, Any]:
    raw = await client.get(state_key(shop))
    return orjson.loads(raw) if raw else empty_state()


async def commit_state(client: Any, shop: str, expected_seq: int, state: dict[str, Any],
                       transitions: list[dict[str, Any]]) -> bool:
    """Write the new state (seq + 1) and the transitions (alert list, outbox, pub/sub) if nobody else did."""
    new_state = {**state, "seq": expected_seq + 1}
    args = [str(expected_seq), orjson.dumps(new_state), alerts_channel(shop), ALERTS_KEEP,
            *(orjson.dumps(t) for t in transitions)]
    return bool(await client.eval(COMMIT_SCRIPT, 3, state_key(shop), alerts_key(shop), outbox_key(shop), *args))


async def recent_alerts(client: Any, shop: str, limit: int) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in await client.lrange(alerts_key(shop), 0, limit - 1)]


async def recent_deliveries(client: Any, shop: str, limit: int) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in await client.lrange(deliveries_key(shop), 0, limit - 1)]

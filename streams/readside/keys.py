"""Every Redis key and pub/sub channel of Kefu Pulse, built (and, for channels, parsed) here only.

Invariant (Redis Cluster): every key of one shop carries the hash tag `{<shop>}`, so all of them live in
one slot and a shop's multi-key transactions and Lua scripts run on one node. Keys shared by many shops
carry a tag of their own (`{alert-jobs}`, `{<app id>}`); a transaction or script never mixes tags.
Values are the same bytes as before the tags: only the key names changed (the stack starts from an
empty Redis, so there is no migration; docs/operations.md).

Per shop (`{shop}` below is the literal tag: braces and the shop id; `{p}` a partition of chat-events/
order-events, `ap{p}` of agent-events):
  kefu:{shop}:p{p}:days:{day}    hash row → JSON counters of the day bucket ("t" team, "a:{agent}",
                                 "g:{group}"; rows written as they change)
  kefu:{shop}:p{p}:min           hash minute → bucket
  kefu:{shop}:p{p}:live          JSON live facts            kefu:{shop}:p{p}:meta   JSON meta
  kefu:{shop}:p{p}:curve:{day}   zset minute-of-day → headline sample   kefu:{shop}:p{p}:curveq:{day}  the
                                 same, the last sample of each quarter hour (streams/readside/history.py)
  kefu:{shop}:ap{p}:meta         JSON meta of agent-events  kefu:{shop}:status      hash agent → {status, ts}
  kefu:{shop}:accepted           events accepted by ingest (for /lag)
  kefu:{shop}:settings:version / kefu:{shop}:settings:{v}          versioned settings (documents.py)
  kefu:{shop}:alert-rules:version / kefu:{shop}:alert-rules:{v}    versioned alert rules
  kefu:{shop}:alert-state        JSON {"seq", "firing": {rule: {subject: entry}}, "pending": {...}}
  kefu:{shop}:alerts             list of alert transitions, newest first (capped)
  kefu:{shop}:alert-outbox       transitions committed but not yet acknowledged by Kafka
Channels: kefu:{shop}:updates (a worker exported), kefu:{shop}:alerts (an alert transition, JSON),
kefu:{shop}:alert-rules ("changed" after a PUT). Subscribers use PSUBSCRIBE kefu:{*}:<name> on one node:
a classic PUBLISH reaches every node of a cluster (tests/integration/test_redis_cluster.py).
The webhook dispatcher's state, one slot (its scripts and transactions touch the job queue and a shop's
entries together): kefu:{alert-jobs} (hash id → job), kefu:{alert-jobs}:due (zset),
kefu:{alert-jobs}:sent:{shop}:{alert}:{state} ("delivery jobs already created for this transition"),
kefu:{alert-jobs}:deliveries:{shop} (list of delivery attempts, newest first, capped).
Global, single keys: kefu:shops (set of shops seen), kefu:exported:{uuid} (an exporter's Redis-loss marker).
Per worker app id, one slot: kefu:{app}:owners and kefu:{app}:owner:{worker} (which worker processes
which partitions).
"""

from __future__ import annotations

PREFIX = "kefu:"
SHOPS_KEY = "kefu:shops"
ALERT_JOBS_KEY = "kefu:{alert-jobs}"
ALERT_JOBS_DUE_KEY = "kefu:{alert-jobs}:due"

UPDATES = "updates"
ALERTS = "alerts"
ALERT_RULES = "alert-rules"
SETTINGS = "settings"


def tag(name: str) -> str:
    """`{name}`: the hash tag that puts every key containing it in one Redis Cluster slot."""
    return f"{{{name}}}"


def shop_key(shop: str, name: str) -> str:
    return f"{PREFIX}{tag(shop)}:{name}"


def day_key(shop: str, partition: int, day: str) -> str:
    """A hash (streams/readside/snapshots.py day_fields); `day:` held the whole bucket as one JSON string."""
    return shop_key(shop, f"p{partition}:days:{day}")


def minutes_key(shop: str, partition: int) -> str:
    return shop_key(shop, f"p{partition}:min")


def curve_key(shop: str, partition: int, day: str) -> str:
    """The day's cumulative headline curve of a partition, one sample per minute (streams/core/curves.py)."""
    return shop_key(shop, f"p{partition}:curve:{day}")


def quarter_curve_key(shop: str, partition: int, day: str) -> str:
    """The same curve thinned to the last sample of each quarter hour, kept longer (last week's pace)."""
    return shop_key(shop, f"p{partition}:curveq:{day}")


def live_key(shop: str, partition: int) -> str:
    return shop_key(shop, f"p{partition}:live")


def meta_key(shop: str, partition: int) -> str:
    return shop_key(shop, f"p{partition}:meta")


def agent_meta_key(shop: str, partition: int) -> str:
    """Meta (processed, watermark) of a partition of agent-events."""
    return shop_key(shop, f"ap{partition}:meta")


def status_key(shop: str) -> str:
    return shop_key(shop, "status")


def accepted_key(shop: str) -> str:
    return shop_key(shop, "accepted")


def state_key(shop: str) -> str:
    return shop_key(shop, "alert-state")


def alerts_key(shop: str) -> str:
    return shop_key(shop, ALERTS)


def outbox_key(shop: str) -> str:
    return shop_key(shop, "alert-outbox")


def deliveries_key(shop: str) -> str:
    """In the dispatcher's slot: recorded in one transaction with the job's removal or reschedule."""
    return f"{ALERT_JOBS_KEY}:deliveries:{shop}"


def sent_mark_key(shop: str, alert_id: str, state: str) -> str:
    """In the dispatcher's slot: set by the script that creates the transition's jobs."""
    return f"{ALERT_JOBS_KEY}:sent:{shop}:{alert_id}:{state}"


def exported_marker_key(marker: str) -> str:
    """An exporter's marker: gone means Redis lost its data (streams/worker/exporter.py)."""
    return f"{PREFIX}exported:{marker}"


def version_key(shop: str, kind: str) -> str:
    """The version in force of a versioned document kind (SETTINGS, ALERT_RULES)."""
    return shop_key(shop, f"{kind}:version")


def document_prefix(shop: str, kind: str) -> str:
    """Each version's document is this prefix + the version number."""
    return shop_key(shop, f"{kind}:")


def owners_key(app_id: str) -> str:
    """The set of worker ids that published their partitions (streams/readside/ownership.py)."""
    return f"{PREFIX}{tag(app_id)}:owners"


def owner_key(app_id: str, worker_id: str) -> str:
    return f"{PREFIX}{tag(app_id)}:owner:{worker_id}"


# ---- channels ----------------------------------------------------------------------------------------


def channel(shop: str, name: str) -> str:
    return shop_key(shop, name)


def updates_channel(shop: str) -> str:
    return channel(shop, UPDATES)


def alerts_channel(shop: str) -> str:
    return channel(shop, ALERTS)


def rules_channel(shop: str) -> str:
    return channel(shop, ALERT_RULES)


def channel_pattern(name: str) -> str:
    """The PSUBSCRIBE pattern for one channel name of every shop (braces are literal in a glob)."""
    return channel("*", name)


def parse_channel(raw: bytes | str) -> tuple[str, str]:
    """(shop, channel name) of a channel built by `channel` (shop ids never contain '}' or ':')."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    tagged, _, name = text[len(PREFIX):].partition(":")
    return tagged[1:-1], name

"""The worker side of the alert hooks: evaluation on a paced worker task (streams/worker/app.py calls `tick`).

Each shop is evaluated by exactly one worker: the one that owns partition partition_for(shop_id) of
chat-events. It reads the shop's merged snapshot from Redis (every partition's export, so it sees the
whole shop), evaluates the rules (streams/alerts/evaluate.py, pure) and commits the new alert state
with its transitions in one compare-and-set script: alert state, the capped alert list, the outbox
and the pub/sub message for screens. The outbox is then produced to the Kafka `alerts` topic (key =
shop) and emptied; what a crash leaves in it is produced on the next sweep (at least once — the
dispatcher keeps one set of deliveries per alert id and state).

When a shop is evaluated:
- when its figures change (the exporters' `kefu:{shop}:updates` notices) or its rules change;
- wall clock only: when the clock alone could change an outcome (Evaluation.next_due_ms: a wait
  crossing its threshold, a window sliding, a hold ending) — so a waiting buyer fires on time, and a
  queuing buyer (queue_wait) or an away agent (agent_away) too;
- for every owned shop after an assignment change and every SWEEP_S (catches lost notices).
A shop is evaluated for new data at most every MIN_INTERVAL_S, and the worker's evaluations together take
at most CPU_SHARE of its time (EvaluationBudget): a worker that owns many shops, or a very large one,
evaluates each less often instead of slowing the figures. A due time is honoured at the next tick.

The agent statuses (agent_away, staffing) and the now-cast's minute buckets (staffing) are read only
when a rule needs them; the staffing figures are those of GET /live at the same "now" (views.live_view).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from streams.alerts.evaluate import ShopFigures, evaluate, window_minutes
from streams.alerts.rules import WINDOW_KINDS
from streams.alerts.store import RulesCache, commit_state
from streams.config import Config
from streams.core.clock import now_ms
from streams.core.shop_settings import ShopSettings
from streams.core.staffing import ARRIVAL_WINDOW_MS
from streams.core.topics import ALERTS, partition_for
from streams.core.views import live_view
from streams.kafka import start_producer
from streams.readside.client import async_redis, psubscribe
from streams.readside.keys import (
    ALERT_RULES,
    SETTINGS,
    SHOPS_KEY,
    UPDATES,
    channel_pattern,
    outbox_key,
    parse_channel,
    state_key,
    version_key,
)
from streams.readside.settings_store import load_settings
from streams.readside.snapshots import (
    LiveMemo,
    MinuteMemo,
    read_live_and_meta,
    read_minutes_at,
    read_statuses,
)

log = logging.getLogger("kefu.alerts")


@dataclass(slots=True)
class EvaluationBudget:
    """Which shops a tick evaluates. Shops due (the clock alone may change an outcome) always; shops with
    new data once `min_interval_s` has passed since their last evaluation, longest waiting first, at most
    `per_round` a tick, and only while the time the evaluations took (charge) stays within `share` of the
    time: the budget grows by `share` of every second, up to `cap_s`, so a burst after a quiet spell is
    bounded too. A per-shop share would not bound a worker that owns hundreds of shops (a platform cell):
    their evaluations together could take all of its time."""

    share: float
    min_interval_s: float
    per_round: int
    cap_s: float
    budget_s: float = 0.0
    last_s: float | None = None

    def pick(self, now_s: float, dirty: set[str], due: set[str], last_eval: dict[str, float]) -> list[str]:
        self.budget_s = self.cap_s if self.last_s is None else \
            min(self.cap_s, self.budget_s + (now_s - self.last_s) * self.share)
        self.last_s = now_s
        picked = sorted(due)
        if self.budget_s > 0 and len(picked) < self.per_round:
            never = float("-inf")
            ready = [shop for shop in dirty - due if now_s - last_eval.get(shop, never) >= self.min_interval_s]
            ready.sort(key=lambda shop: last_eval.get(shop, never))
            picked += ready[:self.per_round - len(picked)]
        return picked

    def charge(self, seconds: float) -> None:
        self.budget_s -= seconds


class AlertRunner:
    TICK_S = 0.1
    MIN_INTERVAL_S = 0.2
    # The worker's alert evaluations together take at most this share of its time (EvaluationBudget).
    CPU_SHARE = 0.2
    SWEEP_S = 30.0
    CONCURRENCY = 16
    SEND_TIMEOUT_S = 10.0
    OUTBOX_BATCH = 200

    def __init__(self, config: Config, owned_partitions: Callable[[], set[int]], redis: Any = None,
                 producer: Any = None, wall_clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.partitions = config.partitions
        self.owned_partitions = owned_partitions
        self.redis = redis or async_redis(config, socket_timeout=5, socket_connect_timeout=3)
        self.rules = RulesCache(self.redis)
        self.producer = producer
        self.wall_clock = wall_clock
        self._settings: dict[tuple[str, int], ShopSettings] = {}
        self._owned: set[int] = set()
        self._dirty: set[str] = set()
        self._due: dict[str, int] = {}  # shop → wall ms at which to evaluate again (wall clock only)
        self._last_eval: dict[str, float] = {}
        self._minute_memos: dict[tuple[str, str], MinuteMemo] = {}  # (shop, window) → read_minutes_at's memo
        self._live_memos: dict[str, LiveMemo] = {}  # shop → read_live_and_meta's memo
        self._budget = EvaluationBudget(self.CPU_SHARE, self.MIN_INTERVAL_S, self.CONCURRENCY, cap_s=self.CPU_SHARE)
        self._outbox: set[str] = set()  # shops whose outbox may hold transitions not yet in Kafka
        self._last_sweep = float("-inf")
        self._producer_retry_at = 0.0
        self._listener: asyncio.Task[None] | None = None
        self.evaluations = 0

    # ---- the timer ---------------------------------------------------------------------------------

    async def tick(self) -> None:
        try:
            await self._tick()
        except (RedisError, OSError) as exc:
            log.warning("alert evaluation: Redis unavailable (%s); will retry", exc)
        except Exception:  # never let alerts take the worker (and the figures) down
            log.exception("alert evaluation failed; will retry")

    async def _tick(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())
        owned = set(self.owned_partitions())
        mono = time.monotonic()
        if owned != self._owned or mono - self._last_sweep >= self.SWEEP_S:
            if owned != self._owned:
                self._minute_memos.clear()  # of shops another worker may evaluate now
                self._live_memos.clear()
            self._owned = owned
            self._last_sweep = mono
            if owned:
                for raw in await self.redis.smembers(SHOPS_KEY):
                    shop = raw.decode() if isinstance(raw, bytes) else raw
                    if self.owns(shop):
                        self._dirty.add(shop)
                        self._outbox.add(shop)
        if not owned:
            self._dirty.clear()
            self._due.clear()
            return
        wall_ms = int(self.wall_clock() * 1000)
        due = {shop for shop, at in self._due.items() if at <= wall_ms}
        for shop in self._dirty | due:
            if not self.owns(shop):
                self._dirty.discard(shop)
                self._due.pop(shop, None)
                due.discard(shop)
        # New data only may stay dirty for a later tick; a due time is never held back.
        todo = self._budget.pick(mono, self._dirty, due, self._last_eval)
        for shop in todo:
            self._dirty.discard(shop)
            self._due.pop(shop, None)
            self._last_eval[shop] = mono
        started = time.monotonic()
        for start in range(0, len(todo), self.CONCURRENCY):
            await asyncio.gather(*(self._evaluate_logged(shop) for shop in todo[start:start + self.CONCURRENCY]))
        self._budget.charge(time.monotonic() - started)
        if self._outbox and time.monotonic() >= self._producer_retry_at:
            for shop in list(self._outbox):
                if not await self.flush_outbox(shop):
                    self._producer_retry_at = time.monotonic() + 1.0
                    break

    def owns(self, shop: str) -> bool:
        return partition_for(shop, self.partitions) in self._owned

    async def _evaluate_logged(self, shop: str) -> None:
        try:
            await self.evaluate_shop(shop)
        except (RedisError, OSError) as exc:
            self._dirty.add(shop)
            log.warning("alert evaluation of %s failed (%s); will retry", shop, exc)
        except Exception:  # a bad document must not stop the other shops' alerts
            log.exception("alert evaluation of %s failed", shop)

    # ---- one shop ----------------------------------------------------------------------------------

    async def evaluate_shop(self, shop: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(version_key(shop, SETTINGS))
        pipe.get(version_key(shop, ALERT_RULES))
        pipe.get(state_key(shop))
        settings_version, rules_version, state_raw = await pipe.execute()
        rules_version = int(rules_version or 0)
        rules = await self.rules.get(shop, rules_version)
        state = orjson.loads(state_raw) if state_raw else {"seq": 0, "firing": {}, "pending": {}}
        if not rules and not state.get("firing") and not state.get("pending"):
            return  # nothing to evaluate or resolve: the shop's figures are not even read
        live, meta = await read_live_and_meta(self.redis, shop, self.partitions, self._live_memos.setdefault(shop, {}))
        if self.config.clock == "event":
            now = now_ms("event", int(meta["watermark"]))
            if now <= 0:
                return  # nothing processed yet: no "now"
        else:
            now = int(self.wall_clock() * 1000)  # injectable for tests; the live rule of core.clock
        settings = await self._shop_settings(shop, int(settings_version or 0))
        longest = max((r.window_s for r in rules if r.kind in WINDOW_KINDS), default=0)
        minutes = (await read_minutes_at(self.redis, shop, self.partitions, window_minutes(now, longest),
                                         self._minute_memo(shop, "window")) if longest else {})
        kinds = {rule.kind for rule in rules}
        statuses = await read_statuses(self.redis, shop) if kinds & {"agent_away", "staffing"} else {}
        staffing: dict[str, int] = {}
        if "staffing" in kinds:
            arrivals = await read_minutes_at(self.redis, shop, self.partitions,
                                             window_minutes(now, ARRIVAL_WINDOW_MS / 1000),
                                             self._minute_memo(shop, "arrivals"))
            view = live_view(shop, live, statuses, set(meta["agents"]), settings, now, arrivals)
            staffing = {group: nowcast["agents_needed"] for group, nowcast in view["groups"].items()}
        groups = {agent: settings.group_of(agent) for agent in set(statuses) | set(live.pending)}
        figures = ShopFigures(now, live.pending, live.activity, minutes, live.open_sla, live.aged_minutes,
                              settings.slow_response_s, settings.active_window_s, queue=live.queue,
                              statuses=statuses, groups=groups, staffing=staffing)
        result = evaluate(shop, rules, rules_version, figures, state)
        self.evaluations += 1
        if result.changed:
            if not await commit_state(self.redis, shop, int(state.get("seq", 0)), result.state, result.transitions):
                self._dirty.add(shop)  # someone else committed since we read: evaluate again
                return
            for alert in result.transitions:
                log.info("alert %s %s value=%s", alert["alert_id"], alert["state"], alert["value"])
            if result.transitions:
                self._outbox.add(shop)
                await self.flush_outbox(shop)
        if self.config.clock != "event" and result.next_due_ms is not None:
            self._due[shop] = result.next_due_ms

    def _minute_memo(self, shop: str, window: str) -> MinuteMemo:
        """The shop's merged minute buckets of one window, kept between its evaluations."""
        return self._minute_memos.setdefault((shop, window), {})

    async def _shop_settings(self, shop: str, version: int) -> ShopSettings:
        settings = self._settings.get((shop, version))
        if settings is None:
            settings = await load_settings(self.redis, shop, version)
            if len(self._settings) > 4096:
                self._settings.clear()
            self._settings[(shop, version)] = settings
        return settings

    # ---- outbox → Kafka ----------------------------------------------------------------------------

    async def flush_outbox(self, shop: str) -> bool:
        """Produce the shop's committed transitions to `alerts`; False when Kafka is unavailable."""
        key = outbox_key(shop)
        items = await self.redis.lrange(key, 0, self.OUTBOX_BATCH - 1)
        if not items:
            self._outbox.discard(shop)
            return True
        try:
            producer = await self._get_producer()
            for raw in items:
                await asyncio.wait_for(producer.send_and_wait(ALERTS, key=shop.encode(), value=raw),
                                       self.SEND_TIMEOUT_S)
        except (KafkaError, TimeoutError, OSError) as exc:
            log.warning("alerts of %s not produced yet (%s); will retry", shop, exc)
            return False
        pipe = self.redis.pipeline(transaction=False)
        for raw in items:
            pipe.lrem(key, 1, raw)  # by value: a concurrent owner's newer items stay
        await pipe.execute()
        if len(items) < self.OUTBOX_BATCH:
            self._outbox.discard(shop)
        return True

    async def _get_producer(self) -> Any:
        if self.producer is None:
            self.producer = await start_producer(
                self.config.bootstrap_servers, linger_ms=0, request_timeout_ms=10_000)
        return self.producer

    # ---- change notices ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await psubscribe(self.redis, pubsub, channel_pattern(UPDATES), channel_pattern(ALERT_RULES))
                self._last_sweep = float("-inf")  # (re)subscribed: whatever we missed, the sweep catches
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    shop, _ = parse_channel(message["channel"])
                    if self.owns(shop):
                        self._dirty.add(shop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost: resubscribe
                log.warning("alert runner pub/sub lost (%s); reconnecting", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        with contextlib.suppress(Exception):
            await self.redis.aclose()

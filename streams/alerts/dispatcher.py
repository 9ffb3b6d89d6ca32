"""`python -m streams.alerts.dispatcher`: delivers alert transitions to their rules' webhooks.

1. Consumes the Kafka `alerts` topic (consumer group `kefu-alert-dispatcher`). For each transition it
   looks up the rule in the rules version the alert names (versions are immutable) and creates one
   delivery job per webhook in Redis — in one script that also sets a per-(alert, state) mark, so a
   transition produced twice (the runner's outbox is at least once) gets one set of jobs. The Kafka
   offset is committed only after that script returned: a crash before it re-reads the transition.
2. Each job goes to the queue of its URL; one task per URL sends them one after the other, each POST
   bounded by REQUEST_TIMEOUT_S. A slow or dead receiver therefore holds up only its own queue, never
   another receiver, never the figures (the workers do not wait for deliveries).
3. A job taken for sending is leased in the due set (LEASE_MS); a failed attempt is put back with
   exponential backoff and jitter; success, a permanent refusal (4xx other than 408/425/429, a private
   address), MAX_ATTEMPTS attempts or MAX_AGE_MS give it up. Each attempt is recorded in
   `kefu:{shop}:deliveries` (newest first, capped) and shown by GET /alert-deliveries.
4. Restarts lose nothing: the jobs stay in Redis until done; due and expired-lease jobs are polled
   every POLL_S. A transition that reaches the dispatcher more than STALE_AFTER_MS after it was produced
   is skipped (logged): an hour-old "buyer waiting" is no longer actionable.
5. Receivers may see a request again after a crash mid-request: `Idempotency-Key` (`<alert_id>:<state>`)
   identifies the logical delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from redis.exceptions import RedisError

from streams.alerts.formats import accepted, build_request
from streams.alerts.rules import address_allowed, literal_address, redact_url
from streams.alerts.store import DELIVERIES_KEEP, SENT_MARK_TTL_S, RulesCache
from streams.config import Config, get_config
from streams.core.topics import ALERTS
from streams.readside.client import async_redis
from streams.readside.keys import ALERT_JOBS_DUE_KEY, ALERT_JOBS_KEY, deliveries_key, sent_mark_key
from streams.readside.settings_store import current_version, load_settings

log = logging.getLogger("kefu.dispatcher")
GROUP_ID = "kefu-alert-dispatcher"

SCHEDULE_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[i])
end
return 1
"""

# Jobs due (or whose lease ran out), leased again until ARGV[2].
CLAIM_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, job)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def backoff_s(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: base·2^(attempt−1), capped, then 50–100 % of it."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay * (0.5 + random.random() / 2)


def retry_after_s(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class Dispatcher:
    MAX_ATTEMPTS = 8
    MAX_AGE_MS = 10 * 60 * 1000
    BASE_BACKOFF_S = 1.0
    MAX_BACKOFF_S = 120.0
    LEASE_MS = 60_000
    REQUEST_TIMEOUT_S = 10.0
    CONNECT_TIMEOUT_S = 3.0
    POLL_S = 0.25
    CLAIM_BATCH = 500
    URL_IDLE_S = 60.0
    DNS_CACHE_S = 30.0
    # A transition produced longer ago than this is not delivered any more (a dispatcher started after a
    # long outage, or a new consumer group reading the topic from the start, must not replay old news).
    STALE_AFTER_MS = 3600 * 1000

    def __init__(self, config: Config, redis: Any = None, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.redis = redis or async_redis(config, socket_timeout=5, socket_connect_timeout=3)
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(self.REQUEST_TIMEOUT_S, connect=self.CONNECT_TIMEOUT_S),
            follow_redirects=False,  # a redirect could lead anywhere (private addresses included)
            trust_env=False,
            limits=httpx.Limits(max_connections=500, max_keepalive_connections=100),
        )
        self.rules = RulesCache(self.redis)
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.senders: dict[str, asyncio.Task[None]] = {}
        self.inflight: set[str] = set()
        self._timezones: dict[str, tuple[str, float]] = {}
        self._dns: dict[tuple[str, int], tuple[str | None, float]] = {}
        self.delivered = 0

    # ---- Kafka → jobs ------------------------------------------------------------------------------

    async def consume(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                ALERTS, bootstrap_servers=self.config.bootstrap_servers, group_id=GROUP_ID,
                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=100,
                session_timeout_ms=10_000, heartbeat_interval_ms=1_000, max_poll_records=500,
            )
            try:
                await consumer.start()
                log.info("consuming %s as %s", ALERTS, GROUP_ID)
                while True:
                    batch = await consumer.getmany(timeout_ms=1000)
                    if not batch:
                        continue
                    for messages in batch.values():
                        for message in messages:
                            if now_ms() - message.timestamp > self.STALE_AFTER_MS:
                                log.warning("skipping an alert produced %d s ago: %r", (now_ms() - message.timestamp)
                                            // 1000, message.value[:200])
                                continue
                            for job in await self._schedule_durably(message.value):
                                self.enqueue(job)
                    await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker gone, commit refused after a rebalance, ...: start over
                log.warning("alerts consumer: %s; restarting it", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _schedule_durably(self, raw: bytes) -> list[dict[str, Any]]:
        while True:
            try:
                return await self.schedule(raw)
            except (RedisError, OSError) as exc:
                log.warning("cannot schedule deliveries (%s); retrying", exc)
                await asyncio.sleep(1)

    async def schedule(self, raw: bytes) -> list[dict[str, Any]]:
        """Create the transition's delivery jobs in Redis (once per alert id and state); returns them."""
        try:
            alert = orjson.loads(raw)
            shop, rule_id, alert_id, state = alert["shop_id"], alert["rule_id"], alert["alert_id"], alert["state"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring a malformed alert record: %r", raw[:200])
            return []
        rules = await self.rules.get(shop, int(alert.get("rules_version") or 0))
        rule = next((r for r in rules if r.id == rule_id), None)
        if rule is None or not rule.webhooks:
            return []
        created = now_ms()
        timezone = await self._timezone(shop)
        jobs = [{"id": f"{alert_id}:{state}:{i}", "shop": shop, "alert": alert, "webhook": hook.to_json(),
                 "attempt": 0, "created": created, "timezone": timezone}
                for i, hook in enumerate(rule.webhooks)]
        args: list[Any] = [SENT_MARK_TTL_S, created + self.LEASE_MS]
        for job in jobs:
            args += [job["id"], orjson.dumps(job)]
        if not await self.redis.eval(SCHEDULE_SCRIPT, 3, sent_mark_key(shop, alert_id, state), ALERT_JOBS_KEY,
                                     ALERT_JOBS_DUE_KEY, *args):
            return []  # seen before (a duplicate from the runner's outbox, or a re-read after a crash)
        return jobs

    async def _timezone(self, shop: str) -> str:
        cached = self._timezones.get(shop)
        if cached is None or time.monotonic() - cached[1] > 60:
            settings = await load_settings(self.redis, shop, await current_version(self.redis, shop))
            cached = self._timezones[shop] = (settings.timezone, time.monotonic())
        return cached[0]

    # ---- due jobs (retries, restarts) --------------------------------------------------------------

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(self.POLL_S)
            try:
                now = now_ms()
                claimed = await self.redis.eval(CLAIM_SCRIPT, 2, ALERT_JOBS_DUE_KEY, ALERT_JOBS_KEY, now,
                                                now + self.LEASE_MS, self.CLAIM_BATCH)
            except (RedisError, OSError) as exc:
                log.warning("cannot poll due deliveries (%s)", exc)
                await asyncio.sleep(1)
                continue
            for raw in claimed:
                self.enqueue(orjson.loads(raw))

    # ---- per-URL queues ----------------------------------------------------------------------------

    def enqueue(self, job: dict[str, Any]) -> None:
        if job["id"] in self.inflight:
            return
        self.inflight.add(job["id"])
        url = job["webhook"]["url"]
        queue = self.queues.get(url)
        if queue is None:
            queue = self.queues[url] = asyncio.Queue()
        queue.put_nowait(job)
        if url not in self.senders:
            self.senders[url] = asyncio.create_task(self._send_loop(url, queue))

    async def _send_loop(self, url: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        try:
            while True:
                try:
                    job = await asyncio.wait_for(queue.get(), self.URL_IDLE_S)
                except TimeoutError:
                    if queue.empty():
                        return
                    continue
                try:
                    await self.attempt(job)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery %s failed unexpectedly; it stays leased and is retried", job["id"])
                finally:
                    self.inflight.discard(job["id"])
        finally:
            if self.senders.get(url) is asyncio.current_task():
                del self.senders[url]
                if self.queues.get(url) is queue and queue.empty():
                    del self.queues[url]

    # ---- one attempt -------------------------------------------------------------------------------

    async def destination_problem(self, url: str) -> str | None:
        """Refuse addresses the URL policy forbids, as resolved now (KEFU_ALLOW_PRIVATE_WEBHOOKS=1 allows)."""
        if self.config.allow_private_webhooks:
            return None
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        literal = literal_address(host)
        if literal is not None:
            return None if address_allowed(literal) else f"refused: {host} is not a public address"
        cached = self._dns.get((host, port))
        if cached is not None and time.monotonic() - cached[1] < self.DNS_CACHE_S:
            return cached[0]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"  # not cached: DNS may come back
        bad = sorted({info[4][0] for info in infos if not address_allowed(info[4][0])})
        problem = f"refused: {host} resolves to non-public address {bad[0]}" if bad else None
        self._dns[(host, port)] = (problem, time.monotonic())
        return problem

    async def attempt(self, job: dict[str, Any]) -> dict[str, Any]:
        job["attempt"] = int(job.get("attempt", 0)) + 1
        hook, alert = job["webhook"], job["alert"]
        fmt = hook.get("format", "generic")
        started = time.monotonic()
        status: int | None = None
        retry_after = None
        problem = await self.destination_problem(hook["url"])
        permanent = problem is not None and problem.startswith("refused")
        if problem is None:
            request = build_request(alert, hook, timezone=job.get("timezone") or "Asia/Shanghai", now_ms=now_ms())
            try:
                response = await asyncio.wait_for(
                    self.http.post(request.url, content=request.body, headers=request.headers,
                                   timeout=httpx.Timeout(self.REQUEST_TIMEOUT_S, connect=self.CONNECT_TIMEOUT_S)),
                    self.REQUEST_TIMEOUT_S + 1)
                status = response.status_code
                ok, problem = accepted(fmt, status, response.content)
                if not ok:
                    permanent = 400 <= status < 500 and status not in (408, 425, 429)
                    retry_after = retry_after_s(response.headers.get("retry-after"))
            except (httpx.HTTPError, TimeoutError, OSError) as exc:
                problem = f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        now = now_ms()
        record = {
            "job_id": job["id"], "alert_id": alert["alert_id"], "state": alert["state"], "rule_id": alert["rule_id"],
            "kind": alert.get("kind"), "agent_id": alert.get("agent_id"), "url": redact_url(hook["url"]),
            "format": fmt, "attempt": job["attempt"], "http_status": status, "error": problem,
            "duration_ms": duration_ms, "ts": now,
        }
        if problem is None:
            record["result"] = "delivered"
            self.delivered += 1
            await self._finish(job, record)
        elif permanent or job["attempt"] >= self.MAX_ATTEMPTS or now - int(job["created"]) >= self.MAX_AGE_MS:
            record["result"] = "failed"
            await self._finish(job, record)
            log.warning("delivery %s given up after %d attempt(s): %s", job["id"], job["attempt"], problem)
        else:
            delay = backoff_s(job["attempt"], self.BASE_BACKOFF_S, self.MAX_BACKOFF_S)
            if retry_after is not None:
                delay = min(max(delay, retry_after), self.MAX_BACKOFF_S)
            record["result"] = "retrying"
            record["next_attempt_at"] = now + int(delay * 1000)
            await self._retry_later(job, record)
        log.info("delivery %s attempt %d: %s %s", job["id"], job["attempt"], record["result"], problem or "")
        return record

    async def _redis_until_done(self, build: Any) -> None:
        while True:
            try:
                pipe = self.redis.pipeline(transaction=True)
                build(pipe)
                await pipe.execute()
                return
            except (RedisError, OSError) as exc:
                log.warning("cannot record a delivery (%s); retrying", exc)
                await asyncio.sleep(1)

    async def _finish(self, job: dict[str, Any], record: dict[str, Any]) -> None:
        def build(pipe: Any) -> None:
            pipe.hdel(ALERT_JOBS_KEY, job["id"])
            pipe.zrem(ALERT_JOBS_DUE_KEY, job["id"])
            pipe.lpush(deliveries_key(job["shop"]), orjson.dumps(record))
            pipe.ltrim(deliveries_key(job["shop"]), 0, DELIVERIES_KEEP - 1)
        await self._redis_until_done(build)

    async def _retry_later(self, job: dict[str, Any], record: dict[str, Any]) -> None:
        def build(pipe: Any) -> None:
            pipe.hset(ALERT_JOBS_KEY, job["id"], orjson.dumps(job))
            pipe.zadd(ALERT_JOBS_DUE_KEY, {job["id"]: record["next_attempt_at"]})
            pipe.lpush(deliveries_key(job["shop"]), orjson.dumps(record))
            pipe.ltrim(deliveries_key(job["shop"]), 0, DELIVERIES_KEEP - 1)
        await self._redis_until_done(build)

    # ---- process -----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self.consume()), asyncio.create_task(self.poll())]
        log.info("alert dispatcher started")
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.close()

    async def close(self) -> None:
        senders = list(self.senders.values())
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        if self.inflight:  # interrupted or queued: due at once for the next dispatcher, not after the lease
            with contextlib.suppress(RedisError, OSError):
                await self.redis.zadd(ALERT_JOBS_DUE_KEY, dict.fromkeys(self.inflight, now_ms()), xx=True)
        await self.http.aclose()
        with contextlib.suppress(Exception):
            await self.redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Deliver Kefu Pulse alerts to their webhooks")
    parser.parse_args()
    logging.basicConfig(level=os.environ.get("KEFU_LOG_LEVEL", "info").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def amain() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Dispatcher(get_config()).run(stop)

    try:
        import uvloop

        uvloop.run(amain())
    except ImportError:
        asyncio.run(amain())


if __name__ == "__main__":
    main()

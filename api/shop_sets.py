"""A set of shops on one WebSocket (the multi-shop 作战大屏): who may ask for which set, and the set's frames.

Authorisation: a set is served only when the token may read every shop in it. A shop the token does not
hold makes the whole request fail (403, or 4403 on the stream), never a silently filtered answer. A set
left out (`shops` omitted) is the token's own list of shops; a token valid for all shops must name them.

The stream reuses the per-shop hub (api/hub.py) rather than building anything itself: the set joins each
of its shops as one more client, so a shop's snapshot is built once per change (at most every 0.5 s, and
when the clock alone changes it) whoever watches it, and the set reads the newest one from `Hub.latest`.
A set frame — totals and one row per shop (streams/core/shop_sets.py) — follows at most every 0.5 s
after any of its shops changed or an alert fired or resolved in one of them. Alert frames of the shops
are passed on as they come (they carry their `shop_id`). The alerts firing per shop are read from each
shop's alert state in one pipelined round trip per set frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.exceptions import RedisError

from api.auth import ALL_SHOPS, VIEW_ROLES, Tokens, authorize, grants_of
from api.errors import ApiError
from api.frame_pace import MIN_UPDATE_INTERVAL_S
from api.hub import Client, Hub
from streams.alerts.store import empty_state
from streams.core.events import SHOP_ID_RE
from streams.core.shop_sets import InvalidShopSet, firing_count, parse_shop_set, shop_set_payload
from streams.readside.keys import state_key

log = logging.getLogger("kefu.shop_sets")


def authorized_shop_set(tokens: Tokens, token: str | None, raw: str | None) -> tuple[str, ...]:
    """The set a token asks for, once it may read every shop of it: 401, 422 or 403 otherwise."""
    grants = grants_of(tokens, token)
    if raw is None:
        viewable = [g for g in grants if g.role in VIEW_ROLES]
        if any(ALL_SHOPS in g.shops for g in viewable):
            raise ApiError(422, "this token reads every shop: name the set, ?shops=a,b,c", field="shops")
        raw = ",".join(sorted({shop for g in viewable for shop in g.shops}))
        if not raw:  # (an ingest token: the 403 of any shop)
            raise ApiError(403, "this token may not read shops")
    try:
        shops = parse_shop_set(raw, SHOP_ID_RE)
    except InvalidShopSet as exc:
        raise ApiError(422, str(exc), field="shops") from None
    for shop in shops:  # every shop, or nothing: never a silently smaller set
        authorize(tokens, token, shop, VIEW_ROLES)
    return shops


SNAPSHOT_CONCURRENCY = 8  # shop snapshots read at once: a 100-shop set must not take the whole Redis pool


async def snapshots_of(build: Callable[[str], Awaitable[dict[str, Any]]], shops: list[str] | tuple[str, ...]
                       ) -> dict[str, dict[str, Any]]:
    """`build(shop)` for each shop, at most SNAPSHOT_CONCURRENCY at a time."""
    limit = asyncio.Semaphore(SNAPSHOT_CONCURRENCY)

    async def one(shop: str) -> dict[str, Any]:
        async with limit:
            return await build(shop)

    return dict(zip(shops, await asyncio.gather(*(one(shop) for shop in shops)), strict=True))


async def alerts_firing(redis: Any, shops: tuple[str, ...]) -> dict[str, int]:
    """Alerts firing now per shop, from the shops' alert states in one pipelined round trip."""
    pipe = redis.pipeline(transaction=False)
    for shop in shops:
        pipe.get(state_key(shop))
    raws = await pipe.execute()
    return {shop: firing_count(orjson.loads(raw) if raw else empty_state())
            for shop, raw in zip(shops, raws, strict=True)}


async def set_payload(redis: Any, shops: tuple[str, ...], snapshots: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return shop_set_payload(shops, snapshots, await alerts_firing(redis, shops), int(time.time() * 1000))


class _Member:
    """The set as one client of one of its shops in the per-shop hub (same interface as hub.Client)."""

    def __init__(self, stream: ShopSetStream) -> None:
        self.stream = stream

    def offer(self, _frame: str) -> None:  # the shop's new figures are in hub.latest
        self.stream.changed()

    def offer_alert(self, frame: bytes) -> None:
        self.stream.client.offer_alert(frame)
        self.stream.changed()  # its alerts-firing count moved


class ShopSetStream:
    """One WebSocket's set: joins the hub as a client of each shop, sends the set's frames."""

    def __init__(self, hub: Hub, shops: tuple[str, ...], client: Client) -> None:
        self.hub = hub
        self.shops = shops
        self.client = client
        self.member = _Member(self)
        self._changed = asyncio.Event()

    def changed(self) -> None:
        self._changed.set()

    def join(self) -> None:
        for shop in self.shops:
            self.hub.add(shop, self.member)  # type: ignore[arg-type]  # duck-typed like Client

    def leave(self) -> None:
        for shop in self.shops:
            self.hub.remove(shop, self.member)  # type: ignore[arg-type]

    async def frame(self, kind: str) -> bytes:
        """The set's frame now: the shops' newest snapshots, built for the shops that have none yet."""
        missing = [shop for shop in self.shops if shop not in self.hub.latest]
        snapshots = {**await snapshots_of(self.hub.snapshot, missing), **self.hub.latest}
        return orjson.dumps({"type": kind, **await set_payload(self.hub.redis, self.shops, snapshots)})

    async def update_loop(self) -> None:
        """A set frame after each change, at most every MIN_UPDATE_INTERVAL_S."""
        last = time.monotonic()
        while True:
            await self._changed.wait()
            wait = last + MIN_UPDATE_INTERVAL_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._changed.clear()
            last = time.monotonic()
            try:
                frame = await self.frame("update")
            except (RedisError, OSError) as exc:
                log.warning("could not build the frame of a set of %d shops (%s)", len(self.shops), exc)
                self._changed.set()
                continue
            self.client.offer(frame.decode())


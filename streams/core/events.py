"""The event contract of shared/spec/events.md as typed models, with precise validation.

Used by the ingest API (to reject bad events with index/field/rule) and by the worker (records that
reach Kafka directly are validated again; bad ones go to `dead-letters`). Validation is hand-written
rather than pydantic because it sits on the hot path of both (a few µs per event).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.core.errors import Invalid
from streams.core.topics import topic_for_type

MIN_TS_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
DAY_MS = 86_400_000
SHOP_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

CHAT_TYPES = frozenset({"chat.message", "chat.transfer", "chat.rating", "chat.queued"})
ORDER_TYPES = frozenset({"order.created", "order.deposit_paid", "order.paid", "order.closed", "order.refunded"})
AGENT_TYPES = frozenset({"agent.status"})
EVENT_TYPES = CHAT_TYPES | ORDER_TYPES | AGENT_TYPES
SENDERS = frozenset({"buyer", "agent", "robot"})
AGENT_STATUSES = frozenset({"online", "busy", "away", "offline"})


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    error: str


class InvalidEvent(Invalid):
    """An event that breaks shared/spec/events.md."""


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event. Optional fields are None where the type has no such field.

    `settings_version` is added by the ingest API (the shop's settings in force when the event was
    accepted); events produced straight to Kafka have none and use the newest settings the worker knows.

    `filter_phrase` (chat.message) is also the ingest API's: whether the message is one of the shop's
    filter phrases under that version. Ingest decides it and sends no `text` to Kafka (events.md: text is
    never stored past processing); for events produced straight to Kafka it is None and the worker
    decides from `text`, which goes no further.
    """

    event_id: str
    shop_id: str
    type: str
    ts: int
    buyer_id: str | None = None
    agent_id: str | None = None
    sender: str | None = None
    text: str | None = None
    from_agent: str | None = None
    to_agent: str | None = None
    score: int | None = None
    order_id: str | None = None
    amount_fen: int | None = None
    items: int | None = None
    status: str | None = None
    settings_version: int | None = None
    filter_phrase: bool | None = None

    @property
    def key(self) -> str:
        """Kafka key: `shop|buyer` for chats and orders, `shop|agent` for agent events."""
        if self.type in AGENT_TYPES:
            return f"{self.shop_id}|{self.agent_id}"
        return f"{self.shop_id}|{self.buyer_id}"

    @property
    def topic(self) -> str:
        return topic_for_type(self.type)


def _string(obj: dict[str, Any], field: str, max_len: int = 128, *, nullable: bool = False) -> str | None:
    if field not in obj:
        if nullable:
            return None
        raise InvalidEvent(field, "is required")
    value = obj[field]
    if value is None:
        if nullable:
            return None
        raise InvalidEvent(field, "must not be null")
    if not isinstance(value, str):
        raise InvalidEvent(field, "must be a string")
    if not 1 <= len(value) <= max_len:
        raise InvalidEvent(field, f"must be 1–{max_len} characters")
    return value


def _integer(obj: dict[str, Any], field: str) -> int:
    if field not in obj:
        raise InvalidEvent(field, "is required")
    value = obj[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(field, "must be an integer")
    return value


def _amount_fen(obj: dict[str, Any]) -> int:
    """Yuan with at most 2 decimals → integer fen, exactly (no float rounding)."""
    if "amount" not in obj:
        raise InvalidEvent("amount", "is required")
    value = obj["amount"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent("amount", "must be a number (CNY yuan)")
    exact = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if not exact.is_finite() or exact < 0:
        raise InvalidEvent("amount", "must be a finite number ≥ 0")
    fen = exact * 100
    if fen != fen.to_integral_value():
        raise InvalidEvent("amount", "must have at most 2 decimals")
    return int(fen)


def parse_event(obj: Any, now_ms: int | None = None) -> Event:
    """Validate one decoded JSON value against events.md. Raises InvalidEvent(field, rule)."""
    if not isinstance(obj, dict):
        raise InvalidEvent("(event)", "must be a JSON object")
    event_id = _string(obj, "event_id")
    shop_id = obj.get("shop_id")
    if not isinstance(shop_id, str) or not SHOP_ID_RE.fullmatch(shop_id):
        raise InvalidEvent("shop_id", "must match [A-Za-z0-9_.-]{1,64}")
    kind = obj.get("type")
    if kind not in EVENT_TYPES:
        raise InvalidEvent("type", f"must be one of {', '.join(sorted(EVENT_TYPES))}")
    ts = _integer(obj, "ts")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not MIN_TS_MS <= ts <= now_ms + DAY_MS:
        raise InvalidEvent("ts", "must be epoch milliseconds between 2000-01-01 and now + 1 day")
    settings_version = obj.get("settings_version")
    if settings_version is not None and (
        isinstance(settings_version, bool) or not isinstance(settings_version, int)
    ):
        raise InvalidEvent("settings_version", "must be an integer")
    common: dict[str, Any] = {
        "event_id": event_id, "shop_id": shop_id, "type": kind, "ts": ts,
        "settings_version": settings_version,
    }

    if kind == "agent.status":
        status = obj.get("status")
        if status not in AGENT_STATUSES:
            raise InvalidEvent("status", "must be one of online, busy, away, offline")
        return Event(**common, agent_id=_string(obj, "agent_id"), status=status)

    buyer_id = _string(obj, "buyer_id")
    if kind == "chat.message":
        agent_id = _string(obj, "agent_id", nullable=True)
        sender = obj.get("sender")
        if sender not in SENDERS:
            raise InvalidEvent("sender", "must be buyer, agent or robot")
        if sender == "agent" and agent_id is None:
            raise InvalidEvent("agent_id", "is required when sender is agent")
        text = obj.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            raise InvalidEvent("text", "must be a string of at most 2000 characters")
        filter_phrase = obj.get("filter_phrase")
        if filter_phrase is not None and not isinstance(filter_phrase, bool):
            raise InvalidEvent("filter_phrase", "must be true or false")
        return Event(**common, buyer_id=buyer_id, agent_id=agent_id, sender=sender, text=text,
                     filter_phrase=filter_phrase)
    if kind == "chat.transfer":
        return Event(
            **common, buyer_id=buyer_id,
            from_agent=_string(obj, "from_agent", nullable=True), to_agent=_string(obj, "to_agent"),
        )
    if kind == "chat.queued":  # the buyer asked for a human (转人工) and waits in the queue
        return Event(**common, buyer_id=buyer_id)
    if kind == "chat.rating":
        score = _integer(obj, "score")
        if not 1 <= score <= 5:
            raise InvalidEvent("score", "must be an integer 1–5")
        return Event(**common, buyer_id=buyer_id, agent_id=_string(obj, "agent_id"), score=score)

    order_id = _string(obj, "order_id")
    if kind == "order.closed":
        return Event(**common, buyer_id=buyer_id, order_id=order_id)
    amount_fen = _amount_fen(obj)
    if kind in ("order.refunded", "order.deposit_paid"):  # an amount, no items
        return Event(**common, buyer_id=buyer_id, order_id=order_id, amount_fen=amount_fen)
    items = _integer(obj, "items")
    if items < 1:
        raise InvalidEvent("items", "must be an integer ≥ 1")
    return Event(**common, buyer_id=buyer_id, order_id=order_id, amount_fen=amount_fen, items=items)


def validate(obj: Any, now_ms: int | None = None) -> Event | FieldError:
    """Like parse_event, but returns the FieldError instead of raising."""
    try:
        return parse_event(obj, now_ms)
    except InvalidEvent as exc:
        return FieldError(exc.field, exc.error)

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
from typing import Any, NamedTuple

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


class Event(NamedTuple):
    """A valid event. Optional fields are None where the type has no such field.

    A NamedTuple rather than a frozen dataclass: immutable all the same, and parse_event builds it in one
    `tuple.__new__` call (0.2 µs) where the dataclass's keyword __init__ took 3–5 µs per event, the
    largest part of validating one.

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


# Shop ids that passed SHOP_ID_RE (a handful per worker; the regex costs ~1 µs per event). Bounded, so a
# producer inventing ids cannot grow it without limit.
_VALID_SHOP_IDS: set[str] = set()
_VALID_SHOP_IDS_MAX = 10_000
_new_event = tuple.__new__


def _shop_id(obj: dict[str, Any]) -> str:
    shop_id = obj.get("shop_id")
    if type(shop_id) is str and shop_id in _VALID_SHOP_IDS:  # (an unhashable value must not reach `in`)
        return shop_id
    if not isinstance(shop_id, str) or not SHOP_ID_RE.fullmatch(shop_id):
        raise InvalidEvent("shop_id", "must match [A-Za-z0-9_.-]{1,64}")
    if type(shop_id) is str:
        if len(_VALID_SHOP_IDS) >= _VALID_SHOP_IDS_MAX:
            _VALID_SHOP_IDS.clear()
        _VALID_SHOP_IDS.add(shop_id)
    return shop_id


def parse_event(obj: Any, now_ms: int | None = None) -> Event:
    """Validate one decoded JSON value against events.md. Raises InvalidEvent(field, rule).

    One pass over the fields in a fixed order (the first broken rule is the one reported): each field
    is checked inline for the usual case (a plain str / int of the right size) and handed to the
    general check (_string, _integer), which gives the exact error, only when that fails."""
    if not isinstance(obj, dict):
        raise InvalidEvent("(event)", "must be a JSON object")
    get = obj.get
    event_id = get("event_id")
    if type(event_id) is not str or not 0 < len(event_id) <= 128:
        event_id = _string(obj, "event_id")
    shop_id = _shop_id(obj)
    kind = get("type")
    if type(kind) is not str or kind not in EVENT_TYPES:  # (an unhashable value must not reach `in`)
        raise InvalidEvent("type", f"must be one of {', '.join(sorted(EVENT_TYPES))}")
    ts = get("ts")
    if type(ts) is not int:
        ts = _integer(obj, "ts")
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    if not MIN_TS_MS <= ts <= now_ms + DAY_MS:
        raise InvalidEvent("ts", "must be epoch milliseconds between 2000-01-01 and now + 1 day")
    settings_version = get("settings_version")
    if settings_version is not None and type(settings_version) is not int and (
        isinstance(settings_version, bool) or not isinstance(settings_version, int)
    ):
        raise InvalidEvent("settings_version", "must be an integer")

    # Fields in Event's order: event_id, shop_id, type, ts, buyer_id, agent_id, sender, text, from_agent,
    # to_agent, score, order_id, amount_fen, items, status, settings_version, filter_phrase.
    if kind == "agent.status":
        status = get("status")
        if type(status) is not str or status not in AGENT_STATUSES:
            raise InvalidEvent("status", "must be one of online, busy, away, offline")
        return _new_event(Event, (event_id, shop_id, kind, ts, None, _string(obj, "agent_id"), None, None, None,
                                  None, None, None, None, None, status, settings_version, None))

    buyer_id = get("buyer_id")
    if type(buyer_id) is not str or not 0 < len(buyer_id) <= 128:
        buyer_id = _string(obj, "buyer_id")
    if kind == "chat.message":
        agent_id = get("agent_id")
        if agent_id is not None and (type(agent_id) is not str or not 0 < len(agent_id) <= 128):
            agent_id = _string(obj, "agent_id", nullable=True)
        sender = get("sender")
        if type(sender) is not str or sender not in SENDERS:
            raise InvalidEvent("sender", "must be buyer, agent or robot")
        if sender == "agent" and agent_id is None:
            raise InvalidEvent("agent_id", "is required when sender is agent")
        text = get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            raise InvalidEvent("text", "must be a string of at most 2000 characters")
        filter_phrase = get("filter_phrase")
        if filter_phrase is not None and not isinstance(filter_phrase, bool):
            raise InvalidEvent("filter_phrase", "must be true or false")
        return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, agent_id, sender, text, None, None,
                                  None, None, None, None, None, settings_version, filter_phrase))
    if kind == "chat.transfer":
        from_agent = _string(obj, "from_agent", nullable=True)
        to_agent = _string(obj, "to_agent")
        return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, None, None, None, from_agent, to_agent,
                                  None, None, None, None, None, settings_version, None))
    if kind == "chat.queued":  # the buyer asked for a human (转人工) and waits in the queue
        return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, None, None, None, None, None,
                                  None, None, None, None, None, settings_version, None))
    if kind == "chat.rating":
        score = _integer(obj, "score")
        if not 1 <= score <= 5:
            raise InvalidEvent("score", "must be an integer 1–5")
        agent_id = _string(obj, "agent_id")
        return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, agent_id, None, None, None, None,
                                  score, None, None, None, None, settings_version, None))

    order_id = get("order_id")
    if type(order_id) is not str or not 0 < len(order_id) <= 128:
        order_id = _string(obj, "order_id")
    if kind == "order.closed":
        return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, None, None, None, None, None,
                                  None, order_id, None, None, None, settings_version, None))
    amount_fen = _amount_fen(obj)
    if kind in ("order.refunded", "order.deposit_paid"):  # an amount, no items
        return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, None, None, None, None, None,
                                  None, order_id, amount_fen, None, None, settings_version, None))
    items = _integer(obj, "items")
    if items < 1:
        raise InvalidEvent("items", "must be an integer ≥ 1")
    return _new_event(Event, (event_id, shop_id, kind, ts, buyer_id, None, None, None, None, None,
                              None, order_id, amount_fen, items, None, settings_version, None))


def validate(obj: Any, now_ms: int | None = None) -> Event | FieldError:
    """Like parse_event, but returns the FieldError instead of raising."""
    try:
        return parse_event(obj, now_ms)
    except InvalidEvent as exc:
        return FieldError(exc.field, exc.error)

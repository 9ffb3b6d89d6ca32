"""parse_event's one-pass fast path accepts and rejects exactly as the field-by-field version did.

`reference_parse` is parse_event as it was before the fast path (a frozen dataclass built from keyword
arguments, every field through _string/_integer, the shop id through the regex every time); the fast
path must give the same event fields, or the same (field, rule), for any JSON value.
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import events as ev
from streams.core.events import InvalidEvent, parse_event
from tests.fuzzing import examples

NOW = 1_795_000_000_000
FIELDS = ["event_id", "shop_id", "type", "ts", "buyer_id", "agent_id", "sender", "text", "from_agent", "to_agent",
          "score", "order_id", "amount", "items", "status", "settings_version", "filter_phrase"]


def reference_parse(obj: Any, now_ms: int | None = None) -> dict[str, Any]:
    """The pre-fast-path parse_event, returning the event's fields (with the one fix made with the fast
    path: an unhashable type, sender or status is rejected, where it raised TypeError)."""
    if not isinstance(obj, dict):
        raise InvalidEvent("(event)", "must be a JSON object")
    event_id = ev._string(obj, "event_id")
    shop_id = obj.get("shop_id")
    if not isinstance(shop_id, str) or not ev.SHOP_ID_RE.fullmatch(shop_id):
        raise InvalidEvent("shop_id", "must match [A-Za-z0-9_.-]{1,64}")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in ev.EVENT_TYPES:
        raise InvalidEvent("type", f"must be one of {', '.join(sorted(ev.EVENT_TYPES))}")
    ts = ev._integer(obj, "ts")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not ev.MIN_TS_MS <= ts <= now_ms + ev.DAY_MS:
        raise InvalidEvent("ts", "must be epoch milliseconds between 2000-01-01 and now + 1 day")
    settings_version = obj.get("settings_version")
    if settings_version is not None and (isinstance(settings_version, bool) or not isinstance(settings_version, int)):
        raise InvalidEvent("settings_version", "must be an integer")
    common = {"event_id": event_id, "shop_id": shop_id, "type": kind, "ts": ts, "settings_version": settings_version}
    if kind == "agent.status":
        status = obj.get("status")
        if not isinstance(status, str) or status not in ev.AGENT_STATUSES:
            raise InvalidEvent("status", "must be one of online, busy, away, offline")
        return {**common, "agent_id": ev._string(obj, "agent_id"), "status": status}
    buyer_id = ev._string(obj, "buyer_id")
    if kind == "chat.message":
        agent_id = ev._string(obj, "agent_id", nullable=True)
        sender = obj.get("sender")
        if not isinstance(sender, str) or sender not in ev.SENDERS:
            raise InvalidEvent("sender", "must be buyer, agent or robot")
        if sender == "agent" and agent_id is None:
            raise InvalidEvent("agent_id", "is required when sender is agent")
        text = obj.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            raise InvalidEvent("text", "must be a string of at most 2000 characters")
        filter_phrase = obj.get("filter_phrase")
        if filter_phrase is not None and not isinstance(filter_phrase, bool):
            raise InvalidEvent("filter_phrase", "must be true or false")
        return {**common, "buyer_id": buyer_id, "agent_id": agent_id, "sender": sender, "text": text,
                "filter_phrase": filter_phrase}
    if kind == "chat.transfer":
        from_agent = ev._string(obj, "from_agent", nullable=True)
        return {**common, "buyer_id": buyer_id, "from_agent": from_agent, "to_agent": ev._string(obj, "to_agent")}
    if kind == "chat.queued":
        return {**common, "buyer_id": buyer_id}
    if kind == "chat.rating":
        score = ev._integer(obj, "score")
        if not 1 <= score <= 5:
            raise InvalidEvent("score", "must be an integer 1–5")
        return {**common, "buyer_id": buyer_id, "agent_id": ev._string(obj, "agent_id"), "score": score}
    order_id = ev._string(obj, "order_id")
    if kind == "order.closed":
        return {**common, "buyer_id": buyer_id, "order_id": order_id}
    amount_fen = ev._amount_fen(obj)
    if kind in ("order.refunded", "order.deposit_paid"):
        return {**common, "buyer_id": buyer_id, "order_id": order_id, "amount_fen": amount_fen}
    items = ev._integer(obj, "items")
    if items < 1:
        raise InvalidEvent("items", "must be an integer ≥ 1")
    return {**common, "buyer_id": buyer_id, "order_id": order_id, "amount_fen": amount_fen, "items": items}


def outcome(parse: Any, obj: Any) -> Any:
    try:
        result = parse(obj, NOW)
    except InvalidEvent as exc:
        return ("invalid", exc.field, exc.error)
    fields = result if isinstance(result, dict) else {k: v for k, v in result._asdict().items() if v is not None}
    return ("valid", {k: v for k, v in fields.items() if v is not None})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)
ids = st.sampled_from(["e1", "s", "A", "x" * 128, "x" * 129, "", "bad shop", "shop-1"]) | json_values
near_valid = {
    "type": st.sampled_from(sorted(ev.EVENT_TYPES) + ["nope"]) | json_values,
    "ts": st.integers(ev.MIN_TS_MS - 2, NOW + ev.DAY_MS + 2) | st.sampled_from([True, 1.5e12, "1"]) | json_values,
    "sender": st.sampled_from(["buyer", "agent", "robot", "x"]) | json_values,
    "status": st.sampled_from(["online", "busy", "away", "offline", "lunch"]) | json_values,
    "amount": st.floats(-10, 1e6, allow_nan=False) | st.integers(-5, 10**6) | json_values,
    "score": st.integers(-1, 7) | json_values,
    "items": st.integers(-1, 3) | json_values,
    "settings_version": st.integers(-1, 3) | st.booleans() | json_values,
    "filter_phrase": st.booleans() | json_values,
    "text": st.sampled_from(["hi", "x" * 2001]) | json_values,
}
event_objects = st.fixed_dictionaries(
    {"event_id": ids, "shop_id": ids, "type": near_valid["type"], "ts": near_valid["ts"]},
    optional={f: near_valid.get(f, ids) for f in FIELDS if f not in ("event_id", "shop_id", "type", "ts")},
) | st.fixed_dictionaries({}, optional={f: near_valid.get(f, ids) for f in FIELDS}) | json_values


@settings(max_examples=examples(800), deadline=None)
@given(obj=event_objects)
def test_fast_path_matches_the_reference(obj: Any) -> None:
    assert outcome(parse_event, obj) == outcome(reference_parse, obj)


def test_a_valid_shop_id_is_remembered_and_a_bad_one_never() -> None:
    base = {"event_id": "e", "type": "chat.queued", "ts": NOW, "buyer_id": "b"}
    for _ in range(2):  # the second time from the remembered ids
        assert parse_event({**base, "shop_id": "shop.ok"}, NOW).shop_id == "shop.ok"
        for bad in ("bad shop", "x" * 65, ["shop.ok"], {"a": 1}):
            assert outcome(parse_event, {**base, "shop_id": bad}) == ("invalid", "shop_id",
                                                                       "must match [A-Za-z0-9_.-]{1,64}")


def test_an_unhashable_type_sender_or_status_is_rejected_not_a_crash() -> None:
    """A JSON array or object where a word is expected broke the worker's batch with a TypeError
    (`[] in frozenset`), so the record was never dead-lettered."""
    base = {"event_id": "e", "shop_id": "s", "ts": NOW, "buyer_id": "b", "agent_id": "A"}
    cases = [({**base, "type": []}, "type"), ({**base, "type": "chat.message", "sender": {"a": 1}}, "sender"),
             ({**base, "type": "agent.status", "status": ["online"]}, "status")]
    for obj, field in cases:
        assert outcome(parse_event, obj)[:2] == ("invalid", field)

"""The event contract (events.md): every rule rejects with the field named; valid events parse exactly."""

from __future__ import annotations

import pytest

from streams.core.events import FieldError, parse_event, validate

NOW = 1_795_000_000_000
BASE = {"event_id": "e1", "shop_id": "shop-1", "ts": NOW - 1000, "buyer_id": "b1"}


def msg(**fields: object) -> dict:
    return {**BASE, "type": "chat.message", "agent_id": "A", "sender": "buyer", **fields}


@pytest.mark.parametrize(("event", "field"), [
    ({**msg(), "event_id": ""}, "event_id"),
    ({**msg(), "event_id": "x" * 129}, "event_id"),
    ({**msg(), "shop_id": "bad shop"}, "shop_id"),
    ({**msg(), "type": "chat.poke"}, "type"),
    ({**msg(), "ts": "1"}, "ts"),
    ({**msg(), "ts": 946_684_799_999}, "ts"),
    ({**msg(), "ts": NOW + 86_400_001}, "ts"),
    (msg(sender="customer"), "sender"),
    (msg(sender="agent", agent_id=None), "agent_id"),
    (msg(text="x" * 2001), "text"),
    ({k: v for k, v in msg().items() if k != "buyer_id"}, "buyer_id"),
    ({**BASE, "type": "chat.transfer", "from_agent": None}, "to_agent"),
    ({**BASE, "type": "chat.rating", "agent_id": "A", "score": 6}, "score"),
    ({**BASE, "type": "chat.rating", "agent_id": "A", "score": True}, "score"),
    ({**BASE, "type": "order.paid", "order_id": "o", "amount": 1.001, "items": 1}, "amount"),
    ({**BASE, "type": "order.paid", "order_id": "o", "amount": -1, "items": 1}, "amount"),
    ({**BASE, "type": "order.paid", "order_id": "o", "amount": "9.9", "items": 1}, "amount"),
    ({**BASE, "type": "order.created", "order_id": "o", "amount": 9.9, "items": 0}, "items"),
    ({**BASE, "type": "order.refunded", "order_id": "o"}, "amount"),
    ({**BASE, "type": "order.deposit_paid", "order_id": "o"}, "amount"),
    ({**BASE, "type": "order.deposit_paid", "order_id": "o", "amount": 0.001}, "amount"),
    ({**BASE, "type": "order.deposit_paid", "amount": 50}, "order_id"),
    ({"event_id": "e", "shop_id": "s", "ts": NOW, "type": "agent.status", "agent_id": "A", "status": "lunch"},
     "status"),
    ("not an object", "(event)"),
])
def test_each_rule_names_its_field(event: object, field: str) -> None:
    result = validate(event, NOW)
    assert isinstance(result, FieldError), result
    assert result.field == field


def test_money_is_exact_fen() -> None:
    for amount, fen in [(19.99, 1999), (0.01, 1), (1999.01, 199901), (0, 0), (128, 12800), (0.1, 10)]:
        event = parse_event({**BASE, "type": "order.paid", "order_id": "o", "amount": amount, "items": 1}, NOW)
        assert event.amount_fen == fen


def test_keys_and_topics() -> None:
    chat = parse_event(msg(), NOW)
    assert (chat.key, chat.topic) == ("shop-1|b1", "chat-events")
    status = parse_event({"event_id": "e", "shop_id": "s", "ts": NOW, "type": "agent.status", "agent_id": "A",
                          "status": "busy"}, NOW)
    assert (status.key, status.topic) == ("s|A", "agent-events")


def test_a_deposit_is_an_order_event_with_an_amount_and_no_items() -> None:
    deposit = parse_event({**BASE, "type": "order.deposit_paid", "order_id": "o", "amount": 50.5}, NOW)
    assert (deposit.key, deposit.topic) == ("shop-1|b1", "order-events")
    assert (deposit.order_id, deposit.amount_fen, deposit.items) == ("o", 5050, None)

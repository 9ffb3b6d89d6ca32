"""Double-11 money traffic laid over a simulated day, for the crash and chaos tests (issue 14: "the worker
crash tests stay exact with presale and chase traffic in flight").

The simulated day (streams/tools/simulator, owned elsewhere) has few deposits, balances and chases in the
minutes these tests stream, and its first 催付 comes late. `with_money_traffic` adds hand-shaped buyer
stories, deterministic for a seed, spread over the whole stream so that each kind is in flight before
and across a kill:

- presale paid: chat, order and deposit on one of the ten preceding days, the balance (the full amount)
  today, sometimes after writing to another agent (who then assists, or takes the credit under `payment`);
- presale due: chat, order and deposit on a preceding day, no balance yet (balance_due_buyers);
- chased and paid: chat, order, a chase by the agent, the payment (chase_paid);
- chased and closed: chat, order, a chase, then the order is closed (still unpaid until the close);
- unpaid: an order nobody chased yet (the 待催付 list), or a silent one (no chat) chased later;
- follow-up: the agent writes first, the buyer writes back, orders and pays (followup_buyers, and with
  `followup_not_lost` on the agent's message is a contact for crediting);
- assist: the buyer writes to A, is transferred to B, writes to B, orders and pays (A assists).

Events of one story arrive at the story's place in the stream; the deposit days' events arrive then too,
long after their `ts` (late events: the buyer is refolded). Buyer ids `money-{kind}-{n}` never meet the
simulator's buyers; `kinds_in_flight` tells which kinds a kill at some point of the stream cut through.
Ids of events are unique per shop.
"""

from __future__ import annotations

import random
from typing import Any

DAY_MS = 86_400_000
KINDS = ("presale_paid", "presale_due", "chased_paid", "chased_closed", "unpaid", "silent_unpaid",
         "followup", "assist")


def _yuan(rng: random.Random, low: int, high: int) -> float:
    return rng.randint(low * 100, high * 100) / 100


class _Story:
    """One buyer's events, each with its arrival key (the story's anchor unless given)."""

    def __init__(self, shop: str, buyer: str, anchor: int, out: list[tuple[int, dict[str, Any]]]) -> None:
        self.shop, self.buyer, self.anchor, self.out = shop, buyer, anchor, out
        self.seq = 0

    def event(self, ts: int, type_: str, arrive: int | None = None, **fields: Any) -> None:
        self.seq += 1
        self.out.append((self.anchor if arrive is None else arrive, {
            "event_id": f"{self.buyer}-{self.seq}", "shop_id": self.shop, "type": type_, "ts": ts,
            "buyer_id": self.buyer, **fields}))

    def message(self, ts: int, sender: str, agent: str | None, arrive: int | None = None) -> None:
        self.event(ts, "chat.message", arrive, sender=sender, agent_id=agent,
                   text="尾款什么时候付" if sender == "buyer" else "亲，记得付款哦")

    def order(self, ts: int, type_: str, order_id: str, arrive: int | None = None, **fields: Any) -> None:
        self.event(ts, f"order.{type_}", arrive, order_id=order_id, **fields)


def money_stories(shop: str, agents: list[str], anchors: list[int],
                  seed: int = 11) -> list[tuple[int, dict[str, Any]]]:
    """(arrival key, event): one story anchored at each of `anchors` (event times), kinds in turn."""
    rng = random.Random(seed)
    out: list[tuple[int, dict[str, Any]]] = []
    for index, at in enumerate(anchors):
        kind = KINDS[index % len(KINDS)]
        story = _Story(shop, f"money-{kind}-{index}", at, out)
        a, b = rng.sample(agents, 2)
        order = f"money-{index}-o"
        amount = _yuan(rng, 50, 2000)
        if kind in ("presale_paid", "presale_due"):
            early = at - rng.randint(1, 10) * DAY_MS - rng.randint(0, 3_600_000)
            story.message(early, "buyer", a)
            story.message(early + 5_000, "agent", a)
            story.order(early + 30_000, "created", order, amount=amount, items=1)
            story.order(early + 60_000, "deposit_paid", order, amount=round(amount / 10, 2))
            if kind == "presale_paid":
                if rng.random() < 0.5:
                    story.message(at, "buyer", b)
                story.order(at + 20_000, "paid", order, at + 20_000, amount=amount, items=1)
        elif kind in ("chased_paid", "chased_closed", "unpaid"):
            story.message(at, "buyer", a)
            story.message(at + 5_000, "agent", a, at + 5_000)
            story.order(at + 15_000, "created", order, at + 15_000, amount=amount, items=1)
            if kind != "unpaid":
                story.message(at + 30_000, "agent", a, at + 30_000)  # a chase
                if kind == "chased_paid":
                    story.order(at + 45_000, "paid", order, at + 45_000, amount=amount, items=1)
                else:
                    story.order(at + 45_000, "closed", order, at + 45_000)
        elif kind == "silent_unpaid":
            story.order(at, "created", order, amount=amount, items=1)
            story.message(at + 20_000, "agent", a, at + 20_000)  # a chase of a silent order
        elif kind == "followup":
            story.message(at, "agent", a)  # the agent writes first
            story.message(at + 10_000, "buyer", a, at + 10_000)
            story.order(at + 20_000, "created", order, at + 20_000, amount=amount, items=1)
            story.order(at + 40_000, "paid", order, at + 40_000, amount=amount, items=1)
        else:  # assist
            story.message(at, "buyer", a)
            story.message(at + 3_000, "agent", a)
            story.event(at + 6_000, "chat.transfer", from_agent=a, to_agent=b)
            story.message(at + 9_000, "buyer", b, at + 9_000)
            story.message(at + 12_000, "agent", b, at + 12_000)
            story.order(at + 20_000, "created", order, at + 20_000, amount=amount, items=1)
            story.order(at + 35_000, "paid", order, at + 35_000, amount=amount, items=1)
    return out


def with_money_traffic(events: list[dict[str, Any]], count: int = 80, seed: int = 11) -> list[dict[str, Any]]:
    """The simulated day's events (in their order) with `count` money stories merged in by arrival, spread
    evenly over the day's events by position (not by time: the simulator's presale history days before
    the big day are sparse, its midnight dense), with the day's own human agents."""
    shop = events[0]["shop_id"]
    agents = sorted({e["agent_id"] for e in events if e["type"] == "chat.message" and e["sender"] == "agent"})
    anchors = [events[len(events) * index // count]["ts"] for index in range(count)]
    stories = money_stories(shop, agents, anchors, seed)
    keyed = [(e["ts"], 0, i, e) for i, e in enumerate(events)] + [
        (arrive, 1, i, e) for i, (arrive, e) in enumerate(stories)]
    return [e for _, _, _, e in sorted(keyed, key=lambda k: k[:3])]


def kinds_in_flight(events: list[dict[str, Any]], position: int) -> tuple[set[str], set[str]]:
    """(story kinds with an event before `position` in the arrival order, kinds with one at or after it)."""
    def kind(event: dict[str, Any]) -> str | None:
        buyer = event.get("buyer_id") or ""
        return buyer.split("-")[1] if buyer.startswith("money-") else None

    before = {kind(e) for e in events[:position]} - {None}
    after = {kind(e) for e in events[position:]} - {None}
    return before, after  # type: ignore[return-value]

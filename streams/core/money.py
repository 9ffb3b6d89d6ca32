"""The Double-11 money figures of one buyer (metrics.md "Double-11 additions"; read with
docs/metric-rules.md "Double-11 money"): presale deposits and balances (尾款), 客服下单金额, unpaid orders, payment
chasing (催付), follow-ups (跟进) and assist credit (协助).

Pure. `streams/core/facts.py` calls these while finishing a buyer: they read the fold (orders, human
messages, routed buyer messages, consults) and add counters; they never change the fold.

Invariants:
- A human message and an order event are compared by ts alone, the order event first at equal ts: they
  travel on different topics (chat-events, order-events), so their arrival order is not defined and must
  not decide a figure. So a message at an order's creation ts can chase it, one at its payment or close
  ts cannot, and a human message is a contact only for order events after its ts. (Buyer messages come
  before every other event of their ts, as in facts.timeline_order.)
- A buyer count (deposit, balance_paid, unpaid, chased, chase_paid, followup, assist, balance_due) is a flag set to 1
  in each scope (agent, group, team of a day; agent and team "now" for balance_due): the buyer counts
  once per scope, as metrics.md asks of the team's buyer counts. Money (…_fen) adds up over the agents, like sales.
- Orders of buyers in filter_buyers never count (facts skips them before calling here); neither do
  their human messages as chases or follow-ups.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any, NamedTuple

from streams.core.scopes import SCOPE_AGENT_DAY, SCOPE_AGENT_NOW, SCOPE_GROUP_DAY, SCOPE_TEAM_DAY, SCOPE_TEAM_NOW
from streams.core.shop_settings import ShopSettings, day_offset

SCOPE_UNPAID_ORDER = "uo"


class CreditedOrder(NamedTuple):
    """One order of the buyer with its crediting decided (facts._finish)."""

    order: Any  # facts._Order
    order_agent: str | None  # 下单客服
    credited: str | None  # who the sales go to (None: silent)
    deposit_credited: str | None  # who the deposit goes to (None: silent or no deposit)


class Contacts:
    """The buyer's contacts for crediting: routed non-filter buyer messages and, where the message's
    settings have followup_not_lost, the agents' human messages (metrics.md, Follow-ups)."""

    __slots__ = ("routed", "routed_ts", "human", "human_at")

    def __init__(self, routed: list[tuple[int, str, str]], human_messages: list[tuple[int, str, str, bool, int]],
                 settings_for: Callable[[int], ShopSettings]) -> None:
        self.routed = routed
        self.routed_ts = [ts for ts, _, _ in routed]
        contacts = [m for m in human_messages if settings_for(m[4]).followup_not_lost]
        self.human = [(ts, agent, day) for ts, agent, day, _, _ in contacts]
        self.human_at = [ts for ts, _, _, _, _ in contacts]

    def agent_at(self, event: Any, valid_days: int) -> str | None:
        """The agent of the buyer's last contact before `event` (an order event), provided its day is no
        more than valid_days − 1 days before the event's day."""
        index = bisect_right(self.routed_ts, event.ts) - 1  # buyer messages at equal ts come first
        last = self.routed[index] if index >= 0 else None
        if self.human_at:
            human_index = bisect_left(self.human_at, event.ts) - 1  # human messages strictly before
            if human_index >= 0 and (last is None or self.human[human_index][0] >= last[0]):
                last = self.human[human_index]  # equal ts: the human message sorts after the buyer's
        if last is None:
            return None
        _, agent, contact_day = last
        return agent if contact_day >= day_offset(event.day, -(valid_days - 1)) else None


def followups(fold: Any, settings_for: Callable[[int], ShopSettings]) -> dict[tuple[str, str], str]:
    """(agent, day) → the agent's group, where the buyer is a follow-up: the agent's first human message
    of the day (under its settings' followup_not_lost, not an internal buyer) comes before any buyer
    message routed to the agent that day (a buyer message at the same ts comes first)."""
    found: dict[tuple[str, str], str] = {}
    seen: set[tuple[str, str]] = set()
    consults = fold.consults
    for ts, agent, day, internal, settings_version in fold.human_messages:
        key = (agent, day)
        if key in seen:
            continue
        seen.add(key)
        settings = settings_for(settings_version)
        if not settings.followup_not_lost or internal:
            continue
        consult = consults.get(key)
        if consult is None or consult.first_ts > ts:
            found[key] = settings.group_of(agent)
    return found


def _flag(counters: dict, day: str, agent: str, group: str, name: str) -> None:
    counters[(SCOPE_AGENT_DAY, day, agent)][name] = 1
    counters[(SCOPE_GROUP_DAY, day, group)][name] = 1
    counters[(SCOPE_TEAM_DAY, day)][name] = 1


def _add_all(counters: dict, day: str, agent: str, group: str, name: str, value: int) -> None:
    for scope in ((SCOPE_AGENT_DAY, day, agent), (SCOPE_GROUP_DAY, day, group), (SCOPE_TEAM_DAY, day)):
        values = counters[scope]
        values[name] = values.get(name, 0) + value


def add_followups(counters: dict, found: dict[tuple[str, str], str]) -> None:
    """followup_buyers per agent, group (under the settings of the agent's first message that day) and team."""
    for (agent, day), group in found.items():
        _flag(counters, day, agent, group, "followup")


def add_balance_paid(counters: dict, paid: Any, credited: str | None, paid_settings: ShopSettings) -> None:
    """尾款: the final payment of a presale order (one with a deposit), by the payment's day, to whoever has
    its sales (业绩判定 as any payment): a part of `sales`; a silent balance is a part of `silent_sales`."""
    if credited is None:
        team = counters[(SCOPE_TEAM_DAY, paid.day)]
        team["silent_balance_paid_fen"] = team.get("silent_balance_paid_fen", 0) + paid.amount_fen
        return
    group = paid_settings.group_of(credited)
    _flag(counters, paid.day, credited, group, "balance_paid")
    _add_all(counters, paid.day, credited, group, "balance_paid_fen", paid.amount_fen)


def _open_at(order: Any, ts: int) -> bool:
    """The order is created, not yet paid (final payment) and not closed when a human message is sent at
    ts (its order events at the same ts count first)."""
    return (order.creator.ts <= ts and (order.paid is None or order.paid.ts > ts)
            and (order.closed is None or order.closed.ts > ts))


def add_order_figures(counters: dict, orders: list[CreditedOrder], fold: Any,
                      settings_for: Callable[[int], ShopSettings]) -> None:
    """Deposits, 客服下单金额, unpaid orders, chases, chase recoveries and assists of the buyer's orders
    (already without the orders of an internal buyer)."""
    human = [m for m in fold.human_messages if not m[3]]
    for credited_order in orders:
        order = credited_order.order
        settings = settings_for(order.settings_version)
        creator = order.creator
        order_agent = credited_order.order_agent
        # 客服下单金额: the order.created amount (an order created by its deposit or payment adds nothing).
        if creator.kind == "created" and order_agent is not None:
            _add_all(counters, order.created_day, order_agent, settings.group_of(order_agent), "order_fen",
                     creator.amount_fen)
        # Unpaid "now": as the order stands after every event received (no deposit, payment or close).
        if order.deposit is None and order.paid is None and order.closed is None:
            if order_agent is not None:
                group = settings.group_of(order_agent)
                _flag(counters, order.created_day, order_agent, group, "unpaid")
                _add_all(counters, order.created_day, order_agent, group, "unpaid_fen", creator.amount_fen)
            else:
                team = counters[(SCOPE_TEAM_DAY, order.created_day)]
                team["silent_unpaid"] = 1
                team["silent_unpaid_fen"] = team.get("silent_unpaid_fen", 0) + creator.amount_fen
            # The 待催付 list: the order as one entry (a change of any field is a new entry).
            chased = any(_open_at(order, ts) for ts, _, _, _, _ in human)
            counters[(SCOPE_UNPAID_ORDER, creator.ref, order_agent or "", creator.ts, creator.amount_fen,
                      int(chased))]["orders"] = 1
        deposit = order.deposit
        if deposit is not None and credited_order.deposit_credited is not None:
            agent = credited_order.deposit_credited
            group = settings_for(deposit.settings_version).group_of(agent)
            _flag(counters, deposit.day, agent, group, "deposit")
            _add_all(counters, deposit.day, agent, group, "deposit_fen", deposit.amount_fen)
            # 待付尾款 "now": the final payment has not arrived and the order is not closed (a live figure,
            # but one of the buyer's state: no clock changes it, so it is a counter of the "now" scopes).
            if order.paid is None and order.closed is None:
                counters[(SCOPE_AGENT_NOW, agent)]["balance_due"] = 1
                counters[(SCOPE_TEAM_NOW,)]["balance_due"] = 1

    # 催付: a human message while one of the buyer's orders is open is a chase (buyers per agent and day).
    for ts, agent, day, _, settings_version in human:
        if any(_open_at(credited_order.order, ts) for credited_order in orders):
            _flag(counters, day, agent, settings_for(settings_version).group_of(agent), "chased")
    for credited_order in orders:
        order = credited_order.order
        paid = order.paid
        if paid is None:
            continue
        paid_settings = settings_for(paid.settings_version)
        if order.deposit is not None:
            add_balance_paid(counters, paid, credited_order.credited, paid_settings)
        # Chase recovered: to the agent of the last chase of this order before its payment.
        chaser = None
        for ts, agent, _, _, _ in human:
            if _open_at(order, ts):  # so before the payment
                chaser = agent
        if chaser is not None:
            group = paid_settings.group_of(chaser)
            _flag(counters, paid.day, chaser, group, "chase_paid")
            _add_all(counters, paid.day, chaser, group, "chase_paid_fen", paid.amount_fen)
        # 协助: agents other than the credited one the buyer wrote to within the N days up to the payment.
        first_day = day_offset(paid.day, -(paid_settings.inquiry_valid_days - 1))
        assistants = {agent for ts, agent, day in fold.routed_buyer_messages
                      if ts <= paid.ts and day >= first_day and agent != credited_order.credited}
        for agent in assistants:
            group = paid_settings.group_of(agent)
            _flag(counters, paid.day, agent, group, "assist")
            _add_all(counters, paid.day, agent, group, "assist_fen", paid.amount_fen)

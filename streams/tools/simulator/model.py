"""The shop model: agents, buyers, conversations and orders of a Double-11 day, as events.md events.

A small discrete-event simulation. Processes (the arrival stream, one per agent's status timeline, one
per buyer) are generators that yield the epoch-ms time they want to be resumed at; events are pushed
onto the same heap with their own (often future) `ts`, so `ShopSimulator.events()` hands them out in
`ts` order. Everything random comes from one `random.Random(seed)`, consumed in heap order, so the
same seed and start produce the same events; the wall clock is never consulted here.

Invariants the demo relies on (tests/unit/test_simulator_demo.py measures them with the engine):
- an agent's 当前接待 as metrics.md counts it never exceeds MAX_LOAD: a buyer stays on the agent's load
  until `active_window_s` after the pair's last message, and no one is routed, transferred or chased
  beyond the cap (buyers wait in the queue instead);
- with a big day (Double 11), deposits (order.deposit_paid) happen only before it — over HISTORY_DAYS
  deposit-only days before the run and on any simulated day before it — and their balances
  (order.paid, full amount) fall in the big day's first hours, a few never;
- events come out in `ts` order, the history days first.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEC = 1_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR

# Shops should put these into their settings (filter_phrases / filter_buyers) to see 接待过滤 work.
FILTER_PHRASES = ("在吗", "你好", "在不在", "亲在吗")
INTERNAL_BUYERS = ("test-buyer-1", "test-buyer-2", "test-buyer-3")

MAX_LOAD = 25  # 接待上限: concurrent buyers per agent before new ones wait in the queue
# An agent's load is what the wall shows as 当前接待 (metrics.md `active_conversations`): buyers with a
# message routed to or sent by the agent within `active_window_s` (default 600 s) before now. The model
# holds a buyer on the agent until that window has passed after the pair's last message, so the cap
# bounds the figure itself, not only the conversations in progress.
ACTIVE_WINDOW_MS = 600 * 1_000
DIRECT_SHARE = 0.25  # buyers routed straight to a human (no robot first)
# Mean events one arrival produces (measured on the model; tests keep it honest): turns an events/s
# target into a buyer arrival rate.
EVENTS_PER_ARRIVAL = 10.2

NICKNAMES = (
    "小美", "阿杰", "小雨", "安琪", "大白", "小鹿", "阿珍", "果果", "小七", "木子", "阿强", "糖糖",
    "小北", "晴天", "豆豆", "阿宁", "小可", "星星", "阿飞", "悠悠", "橙子", "阿福", "小满", "七七",
)
PRESALE_Q = (
    "这款有现货吗", "双11能叠加店铺券吗", "跨店满减怎么算的", "尺码怎么选，我165cm 50kg",
    "今天拍什么时候发货", "有赠品吗", "可以便宜一点吗", "这个和上一款有什么区别", "定金什么时候付尾款",
    "买两件能包邮吗", "是正品吗",
)
PRESALE_FOLLOW = (
    "那我拍两件", "好的我再看看", "能再送个小样吗", "那选M码可以吗", "保价吗，后面降价怎么办", "颜色有色差吗",
)
AFTERSALE_Q = (
    "我的快递到哪了", "怎么还没发货", "我要退款", "收到的有破损", "发错颜色了", "怎么申请退货",
    "退款多久到账", "能改地址吗",
)
AFTERSALE_FOLLOW = ("照片发你了", "那我申请退货了", "麻烦尽快处理", "单号是多少", "运费谁出")
INTERNAL_TEXT = ("测试", "测试消息，请忽略", "test 123")
CLOSING_BUYER = ("好的谢谢", "嗯嗯好的", "谢谢亲", "好的")
TO_HUMAN = ("转人工", "人工客服", "人工")
AGENT_ANSWER = {
    "presale": (
        "亲，有现货的哦，今天付款48小时内发货", "亲，店铺券和跨店满减可以叠加使用的呢",
        "亲，按您的身高体重建议选M码哦", "亲，双11期间下单都送小样哦", "亲，价格已经是全年最低了呢",
        "亲，保证正品，支持专柜验货",
    ),
    "aftersale": (
        "亲，帮您查了，快递已经在路上了", "亲，非常抱歉，这边马上为您登记处理", "亲，退款申请已经帮您加急了",
        "亲，麻烦提供一下照片哦", "亲，退货地址已发您，运费险会补偿运费",
    ),
}
AGENT_EXTRA = ("[商品链接]", "[优惠券]", "亲，还有其他可以帮您的吗", "[表情]")
AGENT_GREET = "亲，在的呢，请问有什么可以帮您？"
AGENT_CLOSING = ("不客气亲，祝您购物愉快～", "亲，有问题随时找我哦～", "感谢亲的支持，记得给个好评哦～")
AGENT_SORRY = "亲，抱歉久等了"
TRANSFER_NOTE = "亲，这个问题帮您转接售后同事处理哦"
CHASE_TEXT = ("亲，您拍下的宝贝还没付款哦，库存紧张请尽快付款", "亲，优惠券今晚就过期了，记得付款哦",
              "亲，尾款已经可以付了哦")
BALANCE_REPLY = ("好的马上付", "收到，等下付", "尾款怎么付")
SPECIALIST_NOTE = "亲，帮您转接专属搭配顾问哦"
PRESALE_SHARE = 0.15  # live mode (no big day): of paid orders, a presale order (定金 now, 尾款 hours later)
PRE_DAY_PRESALE_SHARE = 0.4  # before the big day: of paid orders, a presale order (尾款 on the big day)
BALANCE_UNPAID = 0.08  # presale buyers who never pay the balance (待付尾款 at the day's end)
BALANCE_MEAN_MS = 100 * 60_000  # 尾款 after 00:00 of the big day: most in the first hours
HISTORY_DEPOSITS_PER_AGENT = 15  # presale buyers per presale agent and day in the deposit-only history
CHASE_SHARE = 0.5  # of orders served by an agent and not paid at once: the agent chases (催付)
ROBOT_WELCOME = "亲，欢迎光临～我是智能客服店小蜜，请问有什么可以帮您？"
ROBOT_ANSWER = (
    "亲，双11活动期间跨店每满300减50哦", "亲，活动商品付款后48小时内发货",
    "亲，您可以在订单详情页查看物流信息哦", "亲，尺码可参考详情页尺码表",
)
ROBOT_TRANSFER = "正在为您转接人工客服，请稍候…"
ROBOT_QUEUE = "亲，当前咨询人数较多，正在为您排队，请耐心等待～"
ROBOT_OFFLINE = "亲，人工客服暂时不在线，您可以留言，我们上线后第一时间回复您～"
AUTO_GREETING = "您好，我是{nick}，很高兴为您服务～"  # 自动回复 on transfer: sender robot, never a response

PRICES_FEN = (1990, 2990, 3900, 5900, 8990, 9900, 12900, 15900, 19900, 29900, 39900, 59900)
KINDS = ("silent", "robot_only", "filter", "presale", "aftersale", "internal")
KIND_WEIGHTS = (22, 14, 7, 42, 14.5, 0.5)

Proc = Generator[int, None, None]
RateFn = Callable[[int], float]  # epoch ms → target events/s at that moment


@dataclass(slots=True)
class Agent:
    agent_id: str
    nick: str
    group: str  # "presale" | "aftersale"
    median_s: float  # lognormal response-time skill
    sigma: float
    status: str = "offline"
    offline_at: list[int] = field(default_factory=list)  # planned 离线 times: hand buyers over before
    load: int = 0  # 当前接待 as the wall counts it (see ACTIVE_WINDOW_MS): capped at MAX_LOAD
    engaged: int = 0  # buyers in a conversation right now (slows the agent down)

    def response_ms(self, rng: random.Random) -> int:
        # Overload slows everyone down (Double-11 midnight): +6 % per buyer above 5, at most ×3.
        factor = min(3.0, 1.0 + 0.06 * max(0, self.engaged - 5))
        seconds = rng.lognormvariate(math.log(self.median_s), self.sigma) * factor
        return int(min(max(seconds, 1.5), 900.0) * SEC)


def make_agents(n: int, rng: random.Random) -> list[Agent]:
    """≈70 % presale; two fast (~8 s), one or two slow (~90 s, slow-response alerts), the rest ~25 s."""
    n_pre = n if n == 1 else min(n - 1, max(1, round(n * 0.7)))
    nicks = rng.sample(NICKNAMES, min(n, len(NICKNAMES)))
    nicks += [f"{NICKNAMES[i % len(NICKNAMES)]}{i // len(NICKNAMES) + 1}" for i in range(len(nicks), n)]
    agents = []
    for i, nick in enumerate(nicks):
        group = "presale" if i < n_pre else "aftersale"
        prefix = "售前" if group == "presale" else "售后"
        agents.append(Agent(f"{prefix}-{nick}", nick, group, rng.uniform(20, 32), 0.55))
    pre, post = agents[:n_pre], agents[n_pre:]
    slow = [rng.choice(pre)] if n >= 3 else []
    if n >= 8 and post:
        slow.append(rng.choice(post))
    rest = [a for a in pre if a not in slow]
    fast = rng.sample(rest, min(len(rest), 2 if n >= 6 else 1 if n >= 3 else 0))
    for a in slow:
        a.median_s, a.sigma = rng.uniform(80, 100), 0.5
    for a in fast:
        a.median_s, a.sigma = rng.uniform(7, 9), 0.45
    return agents


def day_bounds(day: date) -> tuple[int, int]:
    """Epoch ms of the shop day's start (00:00 Asia/Shanghai) and of the next day's start."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).timestamp() * 1000)
    return start, start + DAY


# Hourly levels of a Double-11 day (relative; interpolated): night lull, day traffic, evening peak.
_HOURLY = (2.0, 1.5, 0.6, 0.3, 0.2, 0.2, 0.3, 0.6, 1.0, 1.5, 1.8, 1.6,
           1.3, 1.5, 1.7, 1.7, 1.6, 1.5, 1.7, 2.2, 3.5, 3.8, 3.6, 2.8, 2.0)


def double11_shape(minute: float) -> float:
    """Relative traffic at `minute` of the day: the 00:00 surge (≈30× day level, decaying over ~30 min)."""
    h = minute / 60.0
    i = min(int(h), 23)
    level = _HOURLY[i] + (_HOURLY[i + 1] - _HOURLY[i]) * (h - i)
    return level + 45.0 * math.exp(-minute / 12.0)


def ordinary_shape(minute: float) -> float:
    """A day before (or after) the big day: the same hours, at 60 %, without the 00:00 surge."""
    h = (minute % 1440) / 60.0
    i = min(int(h), 23)
    return 0.6 * (_HOURLY[i] + (_HOURLY[i + 1] - _HOURLY[i]) * (h - i))


def live_surge(elapsed_s: float, peak: float) -> float:
    """Multiplier for the first 60 s of a live run: `peak` at once, easing back to 1."""
    return 1.0 + (peak - 1.0) * (1.0 - elapsed_s / 60.0) ** 2 if 0 <= elapsed_s < 60 else 1.0


class ShopSimulator:
    """Generates one shop's events in `ts` order from `start_ms` until `end_ms` (None: forever)."""

    def __init__(
        self, *, shop_id: str, agents: int, seed: int, start_ms: int, end_ms: int | None, rate: RateFn,
        day_mode: bool, big_day_ms: int | None = None, history_days: int = 0,
    ) -> None:
        """day_mode: `start_ms` is a midnight and agents keep shop-day timelines (night crew, lunch, …) for
        as many days as the run lasts. big_day_ms: 00:00 of the Double-11 day — orders before it are
        presale with a share (定金 then, 尾款 in its first hours), and `history_days` deposit-only days
        before `start_ms` are generated first (events before `start_ms`)."""
        self.shop_id = shop_id
        self.seed = seed
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.rate = rate
        self.day_mode = day_mode
        self.run_id = f"sim{seed}-{start_ms // 1000}"  # reruns of the same seed+start reuse ids (deduped)
        self.rng = random.Random(seed)
        self.agents = make_agents(agents, self.rng)
        self.buyers = 0
        self.orders = 0
        self._heap: list[tuple[int, int, Any]] = []
        self._seq = 0
        self._count = 0
        self._buyer_base = self.rng.randrange(10**8, 9 * 10**8)
        self._internal_busy: set[str] = set()
        self.big_day_ms = big_day_ms
        self.history_days = history_days
        self._now = start_ms - history_days * DAY  # the heap's clock: ts of the item being run
        self._held: dict[tuple[str, str], int] = {}  # (agent, buyer) → when the pair leaves 当前接待
        pre = [a for a in self.agents if a.group == "presale"]
        post = [a for a in self.agents if a.group == "aftersale"]
        # A night crew (one per group) stays on after 02:00; one presale agent goes offline for a while
        # (15:00 in a day, minute 4 of a live run) so its buyers are reassigned and it shows 离线.
        normal = [a for a in pre if 15 <= a.median_s <= 40] or pre
        self._night = {normal[0].agent_id} | ({post[0].agent_id} if post else set())
        leavers = [a for a in normal if a.agent_id not in self._night] or pre
        self._leaver = leavers[-1].agent_id

    # -- the heap ----------------------------------------------------------------------------------

    def events(self) -> Iterator[dict[str, Any]]:
        """The event stream (each event a fresh dict, valid per events.md)."""
        for agent in self.agents:
            self._spawn(self.start_ms, self._agent_proc(agent))
        self._spawn(self.start_ms, self._arrivals())
        for day in range(self.history_days, 0, -1):
            self._spawn(self.start_ms - day * DAY, self._history_day(self.start_ms - day * DAY))
        heap, end = self._heap, self.end_ms
        while heap:
            ts, _, item = heapq.heappop(heap)
            if end is not None and ts >= end:
                return
            if type(item) is dict:
                self._count += 1
                item["event_id"] = f"{self.run_id}-{self._count}"
                yield item
                continue
            self._now = ts
            try:
                wake = next(item)
            except StopIteration:
                continue
            self._push(max(wake, ts), item)

    def _push(self, ts: int, item: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (ts, self._seq, item))

    def _spawn(self, ts: int, proc: Proc) -> None:
        self._push(ts, proc)

    def _emit(self, ts: int, kind: str, **fields: Any) -> None:
        self._push(ts, {"event_id": "", "shop_id": self.shop_id, "type": kind, "ts": ts, **fields})

    def _msg(self, ts: int, buyer: str, agent: Agent | None, sender: str, text: str) -> None:
        self._emit(ts, "chat.message", buyer_id=buyer, agent_id=agent.agent_id if agent else None,
                   sender=sender, text=text)
        if agent is not None and sender != "robot":  # robot messages count toward no agent's load
            self._touch(agent, buyer, ts)

    def _transfer(self, ts: int, buyer: str, src: Agent | None, dst: Agent) -> None:
        self._emit(ts, "chat.transfer", buyer_id=buyer, from_agent=src.agent_id if src else None,
                   to_agent=dst.agent_id)
        self._touch(dst, buyer, ts)  # (before the first routed message: counted early, never late)

    def _touch(self, agent: Agent, buyer: str, ts: int) -> None:
        """The pair has a message at `ts`: the buyer is in the agent's 当前接待 until the window passes."""
        key = (agent.agent_id, buyer)
        until = ts + ACTIVE_WINDOW_MS + SEC
        held = self._held.get(key)
        if held is None:
            agent.load += 1
            self._held[key] = until
            self._spawn(until, self._release(agent, key))
        elif until > held:
            self._held[key] = until

    def _release(self, agent: Agent, key: tuple[str, str]) -> Proc:
        while (until := self._held[key]) > self._now:
            yield until
        del self._held[key]
        agent.load -= 1

    # -- arrivals ----------------------------------------------------------------------------------

    def _next_arrival(self, t: int) -> int:
        """Non-homogeneous Poisson: the rate is constant within each minute, exact across minutes."""
        need = self.rng.expovariate(1.0)
        while True:
            minute_end = (t // MIN + 1) * MIN
            per_ms = max(self.rate(t), 1e-6) / EVENTS_PER_ARRIVAL / SEC
            room = per_ms * (minute_end - t)
            if room >= need:
                return t + max(1, int(need / per_ms))
            need -= room
            t = minute_end

    def _arrivals(self) -> Proc:
        t = self.start_ms
        while True:
            t = self._next_arrival(t)
            yield t
            self._spawn(t, self._buyer(t))

    # -- agents ------------------------------------------------------------------------------------

    def _agent_proc(self, agent: Agent) -> Proc:
        for ts, status in self._timeline(agent):
            yield ts
            agent.status = status
            self._emit(ts, "agent.status", agent_id=agent.agent_id, status=status)

    def _episodes(self, agent: Agent, s: int) -> list[list[tuple[int, str]]]:
        """Planned non-online spells of the day starting at `s` (the run's start in live mode), each a
        list of (ts, status) ending back online."""
        rng = self.rng

        def off(at: int, back: int, lead: int = 15 * MIN) -> list[tuple[int, str]]:
            return [(at - lead, "busy"), (at, "offline"), (back, "online")]  # 忙碌 first, to finish chats

        def away(at: int, minutes: tuple[int, int]) -> list[tuple[int, str]]:
            return [(at, "away"), (at + rng.randint(*minutes) * MIN, "online")]

        if not self.day_mode:  # a live demo: one agent logs off for five minutes early on
            return [off(s + 4 * MIN, s + 9 * MIN, 2 * MIN)] if agent.agent_id == self._leaver and s == (
                self.start_ms) else []
        if agent.agent_id in self._night:  # stays through the night, sleeps in the morning
            eps = [off(s + 9 * HOUR + rng.randint(15, 35) * MIN, s + 13 * HOUR + rng.randint(30, 60) * MIN)]
        else:
            eps = [
                off(s + 2 * HOUR + rng.randint(0, 40) * MIN, s + 8 * HOUR + rng.randint(15, 60) * MIN),
                away(s + 11 * HOUR + rng.randint(30, 130) * MIN, (25, 45)),  # lunch
            ]
        eps.append(away(s + 17 * HOUR + rng.randint(20, 140) * MIN, (20, 35)))  # dinner, before 20:00 peak
        if agent.agent_id == self._leaver:
            leave = s + 15 * HOUR + rng.randint(10, 25) * MIN
            eps.append(off(leave, leave + rng.randint(80, 110) * MIN))
        eps.sort()
        kept: list[list[tuple[int, str]]] = []
        for ep in eps:  # drop overlaps so the timeline stays a sequence
            if not kept or ep[0][0] > kept[-1][-1][0] + MIN:
                kept.append(ep)
        return kept

    def _timeline(self, agent: Agent) -> Iterator[tuple[int, str]]:
        rng = self.rng
        t = self.start_ms
        yield t, "online"
        # Planned spells one day ahead (so `_leaves` sees the next 离线 coming); more as days pass.
        planned_until = self.start_ms + DAY
        episodes = self._episodes(agent, self.start_ms)
        agent.offline_at = [ts for ep in episodes for ts, st in ep if st == "offline"]
        # Short breaks between planned spells: 忙碌 (busy) or 离开 (away).
        gap, busy, away = (
            (90 * MIN, (3 * MIN, 10 * MIN), (5 * MIN, 15 * MIN)) if self.day_mode
            else (8 * MIN, (30 * SEC, 2 * MIN), (1 * MIN, 3 * MIN))
        )
        i = 0
        while True:
            if self.day_mode and t >= planned_until - DAY // 2:
                more = [ep for ep in self._episodes(agent, planned_until)
                        if not episodes or ep[0][0] > episodes[-1][-1][0] + MIN]
                episodes += more
                agent.offline_at += [ts for ep in more for ts, st in ep if st == "offline"]
                planned_until += DAY
            at = t + int(rng.expovariate(1.0 / gap))
            status = "busy" if rng.random() < 0.6 else "away"
            back = at + rng.randint(*(busy if status == "busy" else away))
            if i < len(episodes) and back + MIN >= episodes[i][0][0]:
                yield from episodes[i]
                t, i = episodes[i][-1][0], i + 1
                continue
            if self.day_mode and self._peak(at):  # all hands at 00:00–01:00 and 20:00–23:00
                t = at
                continue
            yield at, status
            yield back, "online"
            t = back

    def _peak(self, ts: int) -> bool:
        minute = (ts - self.start_ms) % DAY // MIN
        return minute < 60 or 1200 <= minute < 1380

    def _pick(
        self, group: str, exclude: Agent | None = None, *, cap: bool = True
    ) -> tuple[Agent | None, bool]:
        """分流: the least-loaded online agent of the group (else of the other group, if the group is all
        away). Returns (agent or None, whether anyone is online at all)."""
        for g in (group, "aftersale" if group == "presale" else "presale"):
            online = [a for a in self.agents if a.group == g and a.status == "online" and a is not exclude]
            if online:
                free = [a for a in online if a.load < MAX_LOAD or not cap]
                if not free:
                    return None, True
                low = min(a.load for a in free)
                return self.rng.choice([a for a in free if a.load == low]), True
        return None, False

    # -- buyers ------------------------------------------------------------------------------------

    def _new_buyer(self) -> str:
        self.buyers += 1
        return f"tb{self._buyer_base + self.buyers * 7}"

    def _buyer(self, t: int) -> Proc:
        kind = self.rng.choices(KINDS, KIND_WEIGHTS)[0]
        buyer = ""
        if kind == "internal":  # one conversation at a time per test account
            free = [b for b in INTERNAL_BUYERS if b not in self._internal_busy]
            if free:
                buyer = self.rng.choice(free)
                self._internal_busy.add(buyer)
            else:
                kind = "presale"
        buyer = buyer or self._new_buyer()
        try:
            yield from self._story(buyer, kind, t)
        finally:
            self._internal_busy.discard(buyer)

    def _story(self, buyer: str, kind: str, t: int) -> Proc:
        rng = self.rng
        if kind == "silent":  # 静默下单: buys without asking anyone
            self._order(buyer, t)
            return
        if kind == "robot_only" or (kind == "filter" and rng.random() < 0.25):
            topic = rng.choice(("presale", "aftersale"))
            t = self._robot_chat(buyer, t, rng.randint(1, 3), topic, kind == "filter")
            if kind == "robot_only" and rng.random() < 0.2:
                self._order(buyer, t + rng.randint(30 * SEC, 30 * MIN))
            return
        group = "aftersale" if kind == "aftersale" else "presale"
        agent: Agent | None = None
        if kind in ("filter", "internal") or rng.random() < DIRECT_SHARE:
            agent, _ = self._pick(group)
        pending: int | None = None
        if agent is None:  # robot first (店小蜜), then the queue, then a human
            if kind == "filter":
                self._robot_chat(buyer, t, 1, group, True)
                return
            t = self._robot_chat(buyer, t, rng.randint(1, 2), group, False)
            self._msg(t, buyer, None, "buyer", rng.choice(TO_HUMAN))
            self._msg(t + SEC, buyer, None, "robot", ROBOT_TRANSFER)
            self._emit(t + SEC, "chat.queued", buyer_id=buyer)  # 转人工: the queue wait starts
            agent, t = yield from self._queue(buyer, group, t + SEC)
            if agent is None:
                if group == "presale" and rng.random() < 0.1:  # gave up waiting, bought anyway
                    self._order(buyer, t + rng.randint(1, 20) * MIN)
                return
            self._transfer(t, buyer, None, agent)
            pending = t  # the queued messages are now owed by the agent, clock from the transfer
        yield from self._served(buyer, kind, group, agent, t, pending)

    def _robot_chat(self, buyer: str, t: int, rounds: int, group: str, filter_only: bool) -> int:
        rng = self.rng
        for i in range(rounds):
            if filter_only:
                text = rng.choice(FILTER_PHRASES)
            else:
                text = rng.choice(PRESALE_Q if group == "presale" else AFTERSALE_Q)
                if i == 0 and rng.random() < 0.3:
                    self._msg(t, buyer, None, "buyer", rng.choice(FILTER_PHRASES))
                    t += rng.randint(1, 6) * SEC
            self._msg(t, buyer, None, "buyer", text)
            t += rng.randint(800, 2500)
            self._msg(t, buyer, None, "robot", ROBOT_WELCOME if i == 0 else rng.choice(ROBOT_ANSWER))
            if filter_only:
                return t
            if i == 0:  # the welcome, then 店小蜜's (often beside-the-point) answer
                t += rng.randint(300, 1200)
                self._msg(t, buyer, None, "robot", rng.choice(ROBOT_ANSWER))
            t += rng.randint(5, 40) * SEC
        return t

    def _queue(self, buyer: str, group: str, t: int) -> Generator[int, None, tuple[Agent | None, int]]:
        rng = self.rng
        patience = t + rng.randint(2, 10) * MIN
        told = False
        t += rng.randint(2, 8) * SEC
        yield t
        while True:
            agent, anyone = self._pick(group)
            if agent is not None:
                return agent, t
            if not anyone:
                self._msg(t, buyer, None, "robot", ROBOT_OFFLINE)
                return None, t
            if t >= patience:  # 排队流失
                return None, t
            if not told:
                self._msg(t, buyer, None, "robot", ROBOT_QUEUE)
                told = True
            t += rng.randint(10, 30) * SEC
            yield t

    @staticmethod
    def _leaves(agent: Agent, t: int) -> int | None:
        """When the agent next goes offline (planned) after t; t itself if it already is."""
        if agent.status == "offline":
            return t
        i = bisect.bisect_right(agent.offline_at, t)
        return agent.offline_at[i] if i < len(agent.offline_at) else None

    def _reassign(self, buyer: str, agent: Agent, ts: int) -> Agent | None:
        """The agent is leaving: a supervisor transfers the buyer to a colleague (A → B)."""
        other, _ = self._pick(agent.group, exclude=agent)
        if other is None:
            return None
        self._transfer(ts, buyer, agent, other)
        agent.engaged -= 1
        other.engaged += 1
        return other

    def _served(self, buyer: str, kind: str, group: str, agent: Agent, t: int, pending: int | None) -> Proc:
        """The human part: rounds of buyer message(s) → agent reply, maybe a 售前→售后 handover."""
        rng = self.rng
        agent.engaged += 1
        if pending is not None and rng.random() < 0.6:
            self._msg(t + 500, buyer, agent, "robot", AUTO_GREETING.format(nick=agent.nick))
            t += rng.randint(2, 10) * SEC
        if kind == "filter":
            rounds = ["greet"]
        else:
            questions = rng.choices((1, 2, 3, 4, 5), (25, 30, 22, 15, 8))[0]
            rounds = ["ask"] + ["follow"] * (questions - 1) + ["close"]
            handover = rng.random() if group == "presale" and kind != "internal" else 1.0
            if handover < 0.16:  # 售前 → 售后 (after-sale question), or to a presale specialist (协助)
                rounds[rng.randrange(questions)] = "handover" if handover < 0.10 else "specialist"
        topic, worst, started_presale = group, 0, group == "presale"
        for r, step in enumerate(rounds):
            leaves = self._leaves(agent, t)
            if leaves is not None and leaves - t < 3 * MIN:
                moved = self._reassign(buyer, agent, t)
                if moved is None:
                    break
                agent = moved
                if pending is not None:
                    pending = max(pending, t)
            texts = self._buyer_texts(step, topic, kind, direct=pending is None and r == 0)
            last = t
            for text in texts:
                self._msg(t, buyer, agent, "buyer", text)
                pending = t if pending is None else pending
                last = t
                t += rng.randint(2, 12) * SEC
            if step in ("handover", "specialist"):
                target = "aftersale" if step == "handover" else "presale"
                other, _ = self._pick(target, exclude=agent)
                if other is not None and other.group == target:
                    tt = last + rng.randint(5, 20) * SEC
                    if rng.random() < 0.5:  # else a silent 转接: A never answered this buyer
                        self._msg(tt, buyer, agent, "agent", TRANSFER_NOTE if target == "aftersale"
                                  else SPECIALIST_NOTE)
                        pending, tt = None, tt + 2 * SEC
                    self._transfer(tt, buyer, agent, other)
                    agent.engaged -= 1
                    other.engaged += 1
                    agent, topic = other, target
                    if pending is None:  # the buyer asks the new agent again
                        tt += rng.randint(3, 15) * SEC
                        self._msg(tt, buyer, agent, "buyer",
                                  rng.choice(AFTERSALE_Q if target == "aftersale" else PRESALE_Q))
                    pending, last = (tt if pending is None else max(pending, tt)), tt
            assert pending is not None
            # 3 % of replies are a 漏回复 noticed late (buyer-waiting alerts fire and resolve; the 3-minute
            # rate lands around 90 %, as real teams report it).
            delay = rng.randint(5, 15) * MIN if rng.random() < 0.03 else agent.response_ms(rng)
            reply = max(pending + delay, last + rng.randint(1500, 4000))
            leaves = self._leaves(agent, last)
            if leaves is not None and reply >= leaves - SEC:  # would answer after logging off: hand over
                tt = max(last + SEC, min(last + rng.randint(2, 10) * SEC, leaves - SEC))
                moved = self._reassign(buyer, agent, tt)
                if moved is None:
                    reply = max(last + 1500, leaves - 2 * SEC)
                else:
                    agent, pending = moved, max(pending, tt)
                    delay = agent.response_ms(rng)
                    reply = max(pending + delay, tt + rng.randint(1500, 4000))
            worst = max(worst, reply - pending)
            text = AGENT_GREET if step == "greet" else rng.choice(AGENT_CLOSING) if step == "close" else (
                AGENT_SORRY if delay >= 5 * MIN else rng.choice(AGENT_ANSWER[topic]))
            self._msg(reply, buyer, agent, "agent", text)
            pending, t = None, reply
            leaves = self._leaves(agent, t)
            if step not in ("greet", "close") and rng.random() < 0.3 and (leaves is None or leaves - t > MIN):
                t += rng.randint(3, 12) * SEC
                self._msg(t, buyer, agent, "agent", rng.choice(AGENT_EXTRA))
            if r + 1 < len(rounds):
                t += rng.randint(5, 90) * SEC  # the buyer reads, thinks, types
            yield t
        agent.engaged -= 1
        if kind != "filter" and rng.random() < 0.3:  # 服务评价; slow service gets worse scores
            weights = (12, 10, 18, 25, 35) if worst > 2 * MIN else (3, 2, 5, 18, 72)
            score = rng.choices((1, 2, 3, 4, 5), weights)[0]
            self._emit(t + rng.randint(10, 300) * SEC, "chat.rating", buyer_id=buyer, agent_id=agent.agent_id,
                       score=score)
        p_order = 0.4 if kind == "internal" else 0.6 if started_presale and topic == "presale" else 0.05
        if kind != "filter" and rng.random() < p_order:
            # Double-11 buyers decide fast: most 拍下 within a few minutes of the last answer (so the day's
            # conversion shows from its first half hour), a few come back later.
            # At 00:00 of the big day carts are ready: buyers order within a minute or so of the answer.
            rush = self.big_day_ms is not None and 0 <= t - self.big_day_ms < HOUR
            decide = min(rng.lognormvariate(math.log((25 if rush else 80) * SEC), 0.9), 20 * MIN)
            self._order(buyer, t + max(10 * SEC, int(decide)), test=kind == "internal", agent=agent)

    def _buyer_texts(self, step: str, topic: str, kind: str, *, direct: bool) -> list[str]:
        rng = self.rng
        if step == "greet":
            return rng.sample(FILTER_PHRASES, rng.choice((1, 1, 2)))
        if kind == "internal":
            return [rng.choice(INTERNAL_TEXT)]
        if step == "close":
            return [rng.choice(CLOSING_BUYER)]
        if step == "handover":
            return [rng.choice(AFTERSALE_Q)]
        if step == "specialist":
            return [rng.choice(PRESALE_FOLLOW)]
        pool = (PRESALE_Q if step == "ask" else PRESALE_FOLLOW) if topic == "presale" else (
            AFTERSALE_Q if step == "ask" else AFTERSALE_FOLLOW)
        texts = [rng.choice(pool)]
        if step == "ask" and direct and rng.random() < 0.3:
            texts.insert(0, rng.choice(FILTER_PHRASES))  # "在吗" then the real question
        elif rng.random() < 0.2:
            texts.append(rng.choice(pool))
        return texts

    # -- orders ------------------------------------------------------------------------------------

    def _basket(self, test: bool) -> tuple[list[int], int, int]:
        """(unit prices in fen, gross fen, amount fen after 跨店满减)."""
        rng = self.rng
        if test:
            units = [1]  # 0.01-yuan test order
        else:
            units = [rng.choice(PRICES_FEN) for _ in range(rng.choices((1, 2, 3), (70, 22, 8))[0])]
        gross = sum(units)
        return units, gross, gross - gross // 30000 * 5000  # 跨店满减: 50 off every 300

    def _order(self, buyer: str, t: int, *, test: bool = False, agent: Agent | None = None) -> None:
        """拍下 → mostly 付款 within minutes; some 交易关闭 unpaid; a few 退款 later; some stay unpaid.

        Some paid orders are presale: before the big day 付定金 at once and the 尾款 in the big day's first
        hours (with no big day: the 尾款 hours later); on the big day itself there are no new deposits.
        The agent who served the buyer chases (催付) some orders still unpaid a few minutes after 拍下."""
        rng = self.rng
        self.orders += 1
        order_id = f"{self.run_id}-o{self.orders}"
        units, gross, fen = self._basket(test)
        amount, items = fen / 100, len(units)
        self._emit(t, "order.created", order_id=order_id, buyer_id=buyer, amount=amount, items=items)
        roll = rng.random()
        chase = agent is not None and not test and rng.random() < CHASE_SHARE
        big = self.big_day_ms
        presale = PRESALE_SHARE if big is None else PRE_DAY_PRESALE_SHARE if t < big else 0.0
        if roll < 0.86 and not test and rng.random() < presale:
            self._emit(t + rng.randint(10, 120) * SEC, "order.deposit_paid", order_id=order_id, buyer_id=buyer,
                       amount=max(1, fen // 5) / 100)
            if big is not None:
                self._balance(order_id, buyer, amount, items, agent)
                return
            balance = t + rng.randint(1, 6) * HOUR
            if chase:
                self._chase(balance - rng.randint(5, 30) * MIN, buyer, agent, CHASE_TEXT[2])
            self._emit(balance, "order.paid", order_id=order_id, buyer_id=buyer, amount=amount, items=items)
        elif roll < 0.86:
            paid = t + int(min(rng.lognormvariate(math.log(60 * SEC), 1.0), 25 * MIN))
            if chase and paid - t > 2 * MIN:
                self._chase(t + rng.randint(60, 110) * SEC, buyer, agent, rng.choice(CHASE_TEXT[:2]))
            self._emit(paid, "order.paid", order_id=order_id, buyer_id=buyer, amount=amount, items=items)
            if rng.random() < 0.06:
                back = fen if items == 1 or rng.random() < 0.5 else units[0] * fen // gross
                self._emit(paid + rng.randint(20 * MIN, 8 * HOUR), "order.refunded", order_id=order_id,
                           buyer_id=buyer, amount=back / 100)
        elif roll < 0.96:
            if chase:
                self._chase(t + rng.randint(1, 12) * MIN, buyer, agent, rng.choice(CHASE_TEXT[:2]))
            self._emit(t + rng.randint(15, 30) * MIN, "order.closed", order_id=order_id, buyer_id=buyer)
        elif chase:
            self._chase(t + rng.randint(1, 12) * MIN, buyer, agent, rng.choice(CHASE_TEXT[:2]))

    def _balance(self, order_id: str, buyer: str, amount: float, items: int, agent: Agent | None) -> None:
        """尾款 of a deposit paid before the big day: most in its first hours, a few never. The deposit's
        agent chases half of the late ones in the morning (a follow-up: the agent writes first that day)."""
        rng, big = self.rng, self.big_day_ms
        assert big is not None
        balance = None if rng.random() < BALANCE_UNPAID else big + int(
            min(rng.expovariate(1 / BALANCE_MEAN_MS), 20 * HOUR))
        if agent is not None and (balance is None or balance - big > 90 * MIN) and rng.random() < 0.5:
            latest = 16 * HOUR if balance is None else balance - big - 5 * MIN
            self._chase(big + rng.randint(60 * MIN, latest), buyer, agent, CHASE_TEXT[2], reply=0.3)
        if balance is not None:
            self._emit(balance, "order.paid", order_id=order_id, buyer_id=buyer, amount=amount, items=items)

    def _chase(self, ts: int, buyer: str, agent: Agent | None, text: str, reply: float = 0.0) -> None:
        """催付 at ts by the agent who served the buyer (see `_chase_at`)."""
        assert agent is not None
        self._spawn(ts, self._chase_at(buyer, agent, text, reply))

    def _chase_at(self, buyer: str, agent: Agent, text: str, reply: float) -> Proc:
        """Runs at the chase's time: an agent who is offline, or at 接待上限 with a buyer not already in
        their 当前接待, does not chase. With probability `reply` the buyer writes back and is answered."""
        rng, t = self.rng, self._now
        if agent.status == "offline" or (agent.load >= MAX_LOAD and (agent.agent_id, buyer) not in self._held):
            return
        leaves = self._leaves(agent, t)
        if leaves is not None and leaves - t < 20 * MIN:
            return
        self._msg(t, buyer, agent, "agent", text)
        if rng.random() < reply:
            back = t + rng.randint(30, 300) * SEC
            self._msg(back, buyer, agent, "buyer", rng.choice(BALANCE_REPLY))
            self._msg(back + min(agent.response_ms(rng), 10 * MIN), buyer, agent, "agent",
                      rng.choice(AGENT_ANSWER["presale"]))
        yield t

    def _history_day(self, day_start: int) -> Proc:
        """A deposit-only day before the run (预售 warm-up): agents online 09:00–23:00, presale buyers who
        ask once, are answered, 拍下 and 付定金; their 尾款 falls on the big day."""
        rng = self.rng
        presale = [a for a in self.agents if a.group == "presale"] or self.agents
        for agent in self.agents:
            self._emit(day_start + 9 * HOUR, "agent.status", agent_id=agent.agent_id, status="online")
            self._emit(day_start + 23 * HOUR, "agent.status", agent_id=agent.agent_id, status="offline")
        for _ in range(HISTORY_DEPOSITS_PER_AGENT * len(presale)):
            t = day_start + 9 * HOUR + rng.randint(1 * MIN, 13 * HOUR)
            buyer, agent = self._new_buyer(), rng.choice(presale)
            self._msg(t, buyer, agent, "buyer", rng.choice(PRESALE_Q))
            t += min(agent.response_ms(rng), 5 * MIN)
            self._msg(t, buyer, agent, "agent", rng.choice(AGENT_ANSWER["presale"]))
            t += rng.randint(1, 20) * MIN
            self.orders += 1
            order_id = f"{self.run_id}-o{self.orders}"
            units, _, fen = self._basket(False)
            amount, items = fen / 100, len(units)
            self._emit(t, "order.created", order_id=order_id, buyer_id=buyer, amount=amount, items=items)
            self._emit(t + rng.randint(10, 120) * SEC, "order.deposit_paid", order_id=order_id, buyer_id=buyer,
                       amount=max(1, fen // 5) / 100)
            if self.big_day_ms is not None:
                self._balance(order_id, buyer, amount, items, agent)
        return
        yield  # a process that runs once


def default_day_rate(agents: int) -> float:
    """Day-mode volume when --rate is not given: ≈10,000 events per agent over the day."""
    return agents * 10_000 / 86_400


HISTORY_DAYS = 3  # deposit-only days generated before a big day's run (定金 over the preceding days)


def _mean_shape(shape: Callable[[float], float]) -> float:
    return sum(shape(m + 0.5) for m in range(1440)) / 1440


def day_simulator(
    *, shop_id: str, agents: int, seed: int, day: date, rate: float | None = None, big_day: bool = True,
) -> ShopSimulator:
    """A whole shop day (Asia/Shanghai) with the Double-11 shape; `rate` = mean events/s of simulated time.

    big_day: the day is Double 11 — deposit-only history over the HISTORY_DAYS before it (events before
    the day's start), their balances in its first hours."""
    start, end = day_bounds(day)
    scale = (rate if rate is not None else default_day_rate(agents)) / _mean_shape(double11_shape)

    def day_rate(ts: int) -> float:
        return scale * double11_shape((ts - start) / MIN)

    return ShopSimulator(shop_id=shop_id, agents=agents, seed=seed, start_ms=start, end_ms=end, rate=day_rate,
                         day_mode=True, big_day_ms=start if big_day else None,
                         history_days=HISTORY_DAYS if big_day else 0)


def demo_simulator(
    *, shop_id: str, agents: int, seed: int, now_ms: int, rate: float | None = None, end_ms: int | None = None,
) -> ShopSimulator:
    """`make run`'s shop: today (the day of `now_ms`, Asia/Shanghai) is the big day. The run starts at
    yesterday's 00:00 (an ordinary pre-sale day, for same-time-yesterday comparisons) after the
    deposit-only history, and goes on past now; the CLI sends what is past at once (the back-fill) and
    the rest at wall-clock pace. `rate`: the big day's mean events/s (default: sized to the team)."""
    today = datetime.fromtimestamp(now_ms / 1000, SHANGHAI).date()
    big, _ = day_bounds(today)
    start = big - DAY
    scale = (rate if rate is not None else default_day_rate(agents)) / _mean_shape(double11_shape)

    def demo_rate(ts: int) -> float:
        minute = (ts - big) / MIN
        return scale * (double11_shape(minute) if 0 <= minute < 1440 else ordinary_shape(minute))

    return ShopSimulator(shop_id=shop_id, agents=agents, seed=seed, start_ms=start, end_ms=end_ms,
                         rate=demo_rate, day_mode=True, big_day_ms=big, history_days=HISTORY_DAYS)


def live_simulator(
    *, shop_id: str, agents: int, seed: int, start_ms: int, rate: float, surge_peak: float | None,
    end_ms: int | None = None,
) -> ShopSimulator:
    """Wall-clock run from `start_ms` at `rate` events/s, with the midnight-like surge for 60 s if asked."""

    def live_rate(ts: int) -> float:
        return rate * (live_surge((ts - start_ms) / SEC, surge_peak) if surge_peak else 1.0)

    return ShopSimulator(shop_id=shop_id, agents=agents, seed=seed, start_ms=start_ms, end_ms=end_ms,
                         rate=live_rate, day_mode=False)


class ShopSet:
    """Several shops' simulators as one stream in `ts` order (the demo's 作战大屏 shops)."""

    def __init__(self, sims: list[ShopSimulator]) -> None:
        self.sims = sims

    @property
    def buyers(self) -> int:
        return sum(s.buyers for s in self.sims)

    @property
    def orders(self) -> int:
        return sum(s.orders for s in self.sims)

    def events(self) -> Iterator[dict[str, Any]]:
        return heapq.merge(*(s.events() for s in self.sims), key=lambda e: e["ts"])

"""The metric catalogue: one declarative row per figure the API returns, and everything derived from it.

A row says what a figure is (key = API field, 中文 and English label, unit and screen format, the
scopes it exists in, whether higher is better, for ratios the numerator and denominator keys, and a
definition in both languages). How it is computed stays in the core (streams/core/figures.py, facts.py);
this table only describes it. From the rows come:

- `streams/core/figures.py` AGENT_KEYS, TEAM_KEYS, SERIES_KEYS (the keys of each scope, in API order);
- `api/figure_models.py`: the OpenAPI models of the /agents, /summary, /live and /series payloads;
- `web/src/catalogue.generated.js`: labels, formats, console columns and CSV header of the screens;
- `docs/metrics.md`: the tables between the `<!-- catalogue:… -->` markers.

Regenerate the files with `python -m streams.core.catalogue --write` (`--check` says which are stale).

Invariants, checked by tests/unit/test_catalogue.py:
- the rows of a scope, in catalogue order, are exactly the keys the core returns for that scope, in
  the same order (so docs, console columns and API fields line up);
- a ratio row's numerator and denominator are rows of every scope the ratio exists in, and its value
  is numerator ÷ denominator (None when the denominator is 0);
- the nullable rows are exactly the figures that are None when there is nothing to divide;
- the generated files are what this module renders now.

Pure data and string rendering: imports nothing beyond the standard library.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# ------------------------------------------------------------------------------------------ scopes
AGENT = "agent"  # /agents rows: one agent's day
GROUP = "group"  # /summary groups: the agents of one group
TEAM = "team"  # /summary team: every agent of the shop
LIVE = "live"  # /live agent rows: one agent at "now"
LIVE_TEAM = "live_team"  # /live team line
SERIES = "series"  # /series points (per minute) and sliding 5/15/60-minute figures
SCOPES = (AGENT, GROUP, TEAM, LIVE, LIVE_TEAM, SERIES)

DAY = frozenset({AGENT, GROUP, TEAM})  # the day figures of metrics.md, per agent, group and team
DAY_AND_SERIES = DAY | {SERIES}
NOW = frozenset({LIVE, LIVE_TEAM})


# ------------------------------------------------------------------------------------------- units
@dataclass(frozen=True)
class Unit:
    """What a figure's JSON value is, and how the screens show it."""

    name: str
    json_type: type  # int, float or str; a nullable figure may also be None
    web_format: str  # the kind web/src/format.js byKind() formats
    doc: str  # the unit column of docs/metrics.md


COUNT = Unit("count", int, "count", "count")
YUAN = Unit("yuan", float, "money", "yuan")
SECONDS = Unit("seconds", float, "secs", "seconds")
PERCENT = Unit("percent", float, "pct", "ratio 0–1, shown as %")
DECIMAL = Unit("decimal", float, "ratio", "ratio, shown with 2 decimals")
STATUS = Unit("status", str, "status", "text")
TIMESTAMP = Unit("timestamp", int, "clock", "epoch ms")
UNITS = (COUNT, YUAN, SECONDS, PERCENT, DECIMAL, STATUS, TIMESTAMP)


# ------------------------------------------------------------------------------------------ rows
@dataclass(frozen=True)
class Figure:
    key: str  # the API field
    zh: str
    en: str
    unit: Unit
    scopes: frozenset[str]
    section: str  # the docs/metrics.md table it is listed in (SECTIONS)
    define_en: str  # for ratios: a note after the generated "numerator ÷ denominator" (may be empty)
    define_zh: str
    higher_is_better: bool | None = None  # None: neither (a volume, a load)
    numerator: str | None = None  # ratios: value = numerator ÷ denominator, None when it is 0
    denominator: str | None = None
    nullable: bool = False  # None when there is nothing to average (ratios always are)
    chart_zh: str | None = None  # the shorter name in per-minute charts (series figures)
    chart_en: str | None = None
    choices: tuple[str, ...] = ()  # the values of a text figure

    @property
    def is_ratio(self) -> bool:
        return self.denominator is not None

    @property
    def can_be_null(self) -> bool:
        return self.nullable or self.is_ratio

    def definition(self, lang: str) -> str:
        """The definition in "en" or "zh"; a ratio's starts with its formula."""
        note = self.define_en if lang == "en" else self.define_zh
        if not self.is_ratio:
            return note
        if lang == "en":
            formula = f"`{self.numerator}` ÷ `{self.denominator}`"
        else:
            formula = f"{BY_KEY[self.numerator].zh} ÷ {BY_KEY[self.denominator].zh}"
        return f"{formula}{'; ' if lang == 'en' else '；'}{note}" if note else formula


SECTIONS = {  # docs/metrics.md tables: name → (中文, English)
    "reception": ("接待", "Reception"),
    "responses": ("响应", "Responses"),
    "conversion": ("转化", "Conversion"),
    "sales": ("销售", "Sales"),
    "ratings": ("评价", "Ratings"),
    "agent_time": ("在线时长", "Agent time"),
    "queue": ("机器人与排队", "Robot and queue"),
    "live": ("接待压力", "Live load"),
}
SERIES_SECTION = "series"  # the series table lists every row with the SERIES scope, whatever its section

# In API order: a scope's rows in this order are the keys its payload has, in the payload's order.
FIGURES: tuple[Figure, ...] = (
    # ---- per agent, group and team (figures.figures) --------------------------------------------
    Figure("consult_buyers", "咨询人数", "Consulting buyers", COUNT, DAY, "reception",
           "buyers who sent ≥ 1 message routed to the agent that day (filtered ones included)",
           "当天至少有一条消息分配给该客服的买家（含被过滤的）"),
    Figure("received_buyers", "接待人数", "Buyers received", COUNT, DAY, "reception",
           "consulting buyers not filtered", "去除过滤后的咨询买家"),
    Figure("filtered_buyers", "接待过滤人数", "Buyers filtered", COUNT, DAY, "reception",
           "consulting buyers who are internal accounts (`filter_buyers`) or whose every message to the agent "
           "that day is a filter phrase (e.g. \"在吗\"); a later real question turns them into received",
           "内部账号，或当天发给该客服的消息全是过滤短语（如“在吗”）的咨询买家；之后问了真问题即转为接待"),
    Figure("buyer_messages", "买家消息数", "Buyer messages", COUNT, DAY_AND_SERIES, "reception",
           "buyer messages routed to the agent (filter phrases included, internal accounts excluded)",
           "分配给该客服的买家消息（含过滤短语，不含内部账号）",
           chart_zh="买家消息", chart_en="Buyer msgs"),
    Figure("agent_messages", "客服消息数", "Agent messages", COUNT, DAY_AND_SERIES, "reception",
           "the agent's own human messages (robot / 自动回复 never count)",
           "客服本人发送的人工消息（机器人、自动回复不计）",
           chart_zh="客服消息", chart_en="Agent msgs"),
    Figure("new_consult_buyers", "新咨询人数", "New consulting buyers", COUNT, frozenset({SERIES}), "reception",
           "buyers whose first message to the agent that day falls in the minute (team: to any agent)",
           "当天首条发给该客服的消息落在该分钟的买家（团队：发给任一客服）",
           chart_zh="新咨询", chart_en="New buyers"),
    Figure("qa_ratio", "答问比", "Answer/question ratio", DECIMAL, DAY, "reception", "", "",
           higher_is_better=True, numerator="agent_messages", denominator="buyer_messages"),
    Figure("replied_buyers", "回复人数", "Buyers replied", COUNT, DAY, "reception",
           "received buyers to whom the agent sent ≥ 1 human message that day",
           "当天收到该客服至少一条人工消息的接待买家", higher_is_better=True),
    Figure("reply_rate", "回复率", "Reply rate", PERCENT, DAY, "reception", "", "",
           higher_is_better=True, numerator="replied_buyers", denominator="received_buyers"),
    Figure("responses", "响应次数", "Responses", COUNT, DAY_AND_SERIES, "responses",
           "human replies that answered ≥ 1 pending buyer message, counted on the reply's day",
           "回应了至少一条待回复买家消息的人工回复次数，按回复所在日计",
           chart_zh="响应", chart_en="Responses"),
    Figure("avg_response_s", "平均响应时长", "Avg response time", SECONDS, DAY_AND_SERIES, "responses",
           "mean of (reply time − the pending clock start); the clock starts at the earliest unanswered "
           "message, or at the transfer (转接) time when the buyer was handed over; a start outside "
           "`service_hours` moves to the next opening (a reply before it: 0 s)",
           "(回复时间 − 等待起点) 的平均值；起点为最早的未回复消息，转接来的买家从转接时刻起算；"
           "起点在 `service_hours` 之外的顺延到下一个开始时间（其前的回复计 0 秒）",
           higher_is_better=False, nullable=True, chart_zh="平均响应", chart_en="Avg response"),
    Figure("first_response_avg_s", "平均首次响应时长", "Avg first response", SECONDS, DAY, "responses",
           "per received buyer: the agent's first human message at or after the buyer's first message that "
           "day, minus that first message; a reply after midnight still counts for the first message's day",
           "每位接待买家：客服在买家当天首条消息之后的第一条人工消息 − 该首条消息，取平均；"
           "过了零点的回复仍计入首条消息那天",
           higher_is_better=False, nullable=True),
    Figure("slow_responses", "慢响应次数", "Slow responses", COUNT, DAY_AND_SERIES, "responses",
           "responses strictly slower than `slow_response_s` (60 s): exactly 60 s is not slow",
           "响应时长严格大于 `slow_response_s`（60 秒）的响应次数，恰好 60 秒不算慢",
           higher_is_better=False, chart_zh="慢响应", chart_en="Slow"),
    Figure("sla_buyers", "3分钟考核人数", "3-min SLA buyers", COUNT, DAY, "responses",
           "received buyers with a first response, plus those still unanswered whose first message is older "
           "than `sla_s` (180 s) at \"now\"",
           "已有首次响应的接待买家，加上首条消息到“此刻”已超过 `sla_s`（180 秒）仍未回复的买家"),
    Figure("sla_met_buyers", "3分钟达标人数", "3-min SLA met", COUNT, DAY, "responses",
           "of the SLA buyers, those answered within `sla_s`", "考核买家中在 `sla_s` 内得到首次响应的",
           higher_is_better=True),
    Figure("sla_rate", "3分钟人工响应率", "3-min response rate", PERCENT, DAY, "responses",
           "unanswered buyers count against it as soon as 3 minutes pass, not only after a reply",
           "未回复的买家满 3 分钟即计入分母，不必等到回复",
           higher_is_better=True, numerator="sla_met_buyers", denominator="sla_buyers"),
    Figure("unreplied_buyers", "未回复人数", "Buyers unreplied", COUNT, DAY, "reception",
           "received − replied", "接待人数 − 回复人数", higher_is_better=False),
    Figure("after_hours_buyers", "留言人数", "After-hours buyers", COUNT, DAY, "reception",
           "received buyers whose first message to the agent that day was outside `service_hours` (their "
           "response clocks start at the next opening)",
           "当天发给该客服的首条消息在 `service_hours`（服务时间）之外的接待买家（响应计时从下一个开始时间起算）"),
    Figure("inquiry_buyers", "询单人数", "Inquiry buyers", COUNT, DAY, "conversion",
           "received buyers of an agent in one of the `presale_groups` that day — the cohort",
           "`presale_groups`（售前分组）客服当天的接待买家（询单 cohort）"),
    Figure("ordered_buyers", "下单人数", "Ordering buyers", COUNT, DAY, "conversion",
           "cohort buyers with an order created on day D … D+N−1 (`inquiry_valid_days`, 2 = same or next "
           "day) whose order agent (下单客服) is this agent",
           "cohort 中在 D … D+N−1 日（`inquiry_valid_days`，2 = 当天或次日）创建了订单、且下单客服是该客服的买家",
           higher_is_better=True),
    Figure("paid_buyers", "付款人数", "Paying buyers", COUNT, DAY, "conversion",
           "cohort buyers with such an order credited to this agent (业绩判定) and paid",
           "cohort 中这样的订单业绩归属该客服且已付款的买家", higher_is_better=True),
    Figure("inquiry_order_rate", "询单→下单转化率", "Inquiry→order rate", PERCENT, DAY, "conversion", "", "",
           higher_is_better=True, numerator="ordered_buyers", denominator="inquiry_buyers"),
    Figure("order_pay_rate", "下单→付款转化率", "Order→payment rate", PERCENT, DAY, "conversion", "", "",
           higher_is_better=True, numerator="paid_buyers", denominator="ordered_buyers"),
    Figure("inquiry_pay_rate", "询单转化率", "Inquiry conversion", PERCENT, DAY, "conversion",
           "the headline", "核心指标",
           higher_is_better=True, numerator="paid_buyers", denominator="inquiry_buyers"),
    Figure("lost_buyers", "询单流失人数", "Inquiries lost", COUNT, DAY, "conversion",
           "inquiry − ordered, so far (the window may still be open)",
           "询单人数 − 下单人数，截至目前（窗口可能尚未结束）",
           higher_is_better=False),
    Figure("sales", "客服销售额", "CS sales", YUAN, DAY, "sales",
           "paid amounts of orders credited to the agent, by the payment's day",
           "业绩归属该客服的订单的付款金额，按付款日计", higher_is_better=True),
    Figure("sales_buyers", "成交人数", "Buyers who paid", COUNT, DAY, "sales",
           "distinct buyers of those payments", "这些付款的买家数（去重）", higher_is_better=True),
    Figure("sales_items", "成交件数", "Items sold", COUNT, DAY, "sales",
           "items of those payments", "这些付款的商品件数", higher_is_better=True),
    Figure("avg_buyer_value", "客单价", "Avg order value", YUAN, DAY, "sales", "", "",
           higher_is_better=True, numerator="sales", denominator="sales_buyers"),
    Figure("items_per_buyer", "客件数", "Items per buyer", DECIMAL, DAY, "sales", "", "",
           higher_is_better=True, numerator="sales_items", denominator="sales_buyers"),
    Figure("avg_item_price", "件均价", "Avg item price", YUAN, DAY, "sales", "", "",
           higher_is_better=True, numerator="sales", denominator="sales_items"),
    Figure("refunds", "退款笔数", "Refunds", COUNT, DAY, "sales",
           "refunds of orders credited to the agent, by the refund's day",
           "业绩归属该客服的订单的退款笔数，按退款日计", higher_is_better=False),
    Figure("refund_amount", "退款金额", "Refund amount", YUAN, DAY, "sales",
           "the amounts of those refunds", "这些退款的金额", higher_is_better=False),
    Figure("paid_amount", "付款金额", "Paid amount", YUAN, frozenset({SERIES}), "sales",
           "paid amounts in the minute: an agent's are the payments credited to them, the team's every payment "
           "of the shop",
           "该分钟的付款金额：客服为业绩归属其的付款，团队为店铺的全部付款",
           higher_is_better=True, chart_zh="付款金额", chart_en="Paid"),
    Figure("ratings", "评价数", "Ratings", COUNT, DAY, "ratings",
           "ratings of the agent, by the rating's day; internal accounts excluded",
           "该客服收到的评价，按评价日计，不含内部账号"),
    Figure("satisfied_ratings", "满意数", "Satisfied ratings", COUNT, DAY, "ratings",
           "ratings with score ≥ 4", "评分 ≥ 4 的评价", higher_is_better=True),
    Figure("satisfaction_rate", "满意率", "Satisfaction rate", PERCENT, DAY, "ratings", "", "",
           higher_is_better=True, numerator="satisfied_ratings", denominator="ratings"),
    # ---- Double-11 additions (streams/core/money.py) ----------------------------------------------
    Figure("deposit_buyers", "付定金人数", "Deposit buyers", COUNT, DAY, "sales",
           "buyers whose presale deposit (定金) is credited to the agent (same rule as a payment, the payment "
           "agent taken at the deposit), by the deposit's day",
           "定金业绩归属该客服的买家（与付款同一判定规则，付款客服取付定金时刻），按付定金日计",
           higher_is_better=True),
    Figure("deposit_amount", "定金金额", "Deposit amount", YUAN, DAY, "sales",
           "the deposits of those buyers; a deposit is not sales (the balance pays the full amount)",
           "这些买家的定金金额；定金不计销售额（尾款按全额计）", higher_is_better=True),
    Figure("balance_paid_buyers", "付尾款人数", "Balances paid", COUNT, DAY, "sales",
           "buyers whose final payment (尾款) of a presale order (one with a deposit) is credited to the agent "
           "(业绩判定 as any payment), by the payment's day",
           "预售订单（有定金的订单）的尾款业绩归属该客服的买家（与任何付款同一判定规则），按付款日计",
           higher_is_better=True),
    Figure("balance_paid_amount", "尾款金额", "Balance amount", YUAN, DAY, "sales",
           "the paid amounts (the full amount) of those final payments: the part of `sales` that is balances",
           "这些尾款付款的金额（全额）：客服销售额中尾款的部分", higher_is_better=True),
    Figure("order_amount", "客服下单金额", "CS order amount", YUAN, DAY, "sales",
           "`order.created` amounts of orders whose order agent (下单客服) is the agent, by creation day",
           "下单客服为该客服的订单的拍下金额，按下单日计", higher_is_better=True),
    Figure("unpaid_buyers", "下单未付款人数", "Unpaid buyers", COUNT, DAY, "sales",
           "buyers with an order created that day with this order agent and, as it stands now, no deposit, "
           "no payment and no close",
           "当天下单、下单客服为该客服、且到目前为止未付定金、未付款、未关闭的订单的买家",
           higher_is_better=False),
    Figure("unpaid_amount", "下单未付款金额", "Unpaid amount", YUAN, DAY, "sales",
           "the created amounts of those orders", "这些订单的拍下金额", higher_is_better=False),
    Figure("chased_buyers", "催付人数", "Buyers chased", COUNT, DAY, "sales",
           "buyers to whom the agent sent a human message that day while one of their orders was created, not "
           "yet paid (final payment) and not closed",
           "当天客服发送人工消息时，其订单已拍下、未付（尾）款且未关闭的买家"),
    Figure("chase_paid_buyers", "催付成功人数", "Chases paid", COUNT, DAY, "sales",
           "buyers of chased orders paid that day, credited to the agent of the last chase before the payment "
           "(whoever gets the sales)",
           "被催付的订单当天付款的买家，归最后一次催付的客服（不论业绩归谁）", higher_is_better=True),
    Figure("chase_paid_amount", "催付挽回金额", "Chase recovered", YUAN, DAY, "sales",
           "the paid amounts of those orders", "这些订单的付款金额", higher_is_better=True),
    Figure("chase_success_rate", "催付成功率", "Chase success rate", PERCENT, DAY, "sales",
           "same day", "同一天", higher_is_better=True, numerator="chase_paid_buyers", denominator="chased_buyers"),
    Figure("followup_buyers", "跟进人数", "Follow-ups", COUNT, DAY, "conversion",
           "with `followup_not_lost`: buyers the agent wrote to that day before any buyer message routed to "
           "the agent that day; not inquiries, so never lost",
           "开启 `followup_not_lost` 时：当天客服在买家发来消息之前主动联系的买家；不算询单，不计流失"),
    Figure("assist_buyers", "协助成交人数", "Assisted buyers", COUNT, DAY, "sales",
           "buyers paying that day for an order credited to another agent or silent, who wrote to this agent "
           "(routed, not a filter phrase) at or before the payment, within the N days up to the payment's day",
           "当天付款、业绩归其他客服或静默、且在付款前 N 天内（含付款日）给该客服发过消息的买家",
           higher_is_better=True),
    Figure("assist_sales", "协助销售额", "Assisted sales", YUAN, DAY, "sales",
           "the paid amounts of those payments", "这些付款的金额", higher_is_better=True),
    # ---- per agent only: time in status (views.agents_view, agent_time.day_figures) --------------
    Figure("online_s", "在线时长", "Time online", SECONDS, frozenset({AGENT}), "agent_time",
           "seconds that day in `online` or `busy`: each `agent.status` (in `ts` order) holds until the agent's "
           "next one, the last until now; cut at midnight, a day starts in the status carried over",
           "当天处于 `online` 或 `busy` 的秒数：每条 `agent.status`（按 `ts` 排序）持续到该客服的下一条，"
           "最后一条持续到此刻；按零点切分，一天从前一天延续下来的状态开始",
           higher_is_better=True),
    Figure("busy_s", "忙碌时长", "Time busy", SECONDS, frozenset({AGENT}), "agent_time",
           "seconds that day in `busy`", "当天处于 `busy` 的秒数"),
    Figure("away_s", "挂起时长", "Time away", SECONDS, frozenset({AGENT}), "agent_time",
           "seconds that day in `away` (挂起)", "当天处于 `away`（挂起）的秒数", higher_is_better=False),
    Figure("first_online_ts", "首次上线", "First online", TIMESTAMP, frozenset({AGENT}), "agent_time",
           "`ts` of the day's first `agent.status` with `online` or `busy`; null if none",
           "当天第一条 `online` 或 `busy` 的 `agent.status` 的 `ts`；没有则为空", nullable=True),
    Figure("last_offline_ts", "末次下线", "Last offline", TIMESTAMP, frozenset({AGENT}), "agent_time",
           "`ts` of the day's last `agent.status` with `offline`; null if none",
           "当天最后一条 `offline` 的 `agent.status` 的 `ts`；没有则为空", nullable=True),
    # ---- team only (figures.figures(team=True)) ---------------------------------------------------
    Figure("silent_sales", "静默销售额", "Silent sales", YUAN, frozenset({TEAM}), "sales",
           "paid amounts credited to nobody (静默)", "未归属任何客服的付款金额（静默）"),
    Figure("shop_sales", "店铺销售额", "Shop sales", YUAN, frozenset({TEAM}), "sales",
           "CS sales + silent sales", "客服销售额 + 静默销售额", higher_is_better=True),
    Figure("silent_share", "静默销售占比", "Silent share", PERCENT, frozenset({TEAM}), "sales", "", "",
           numerator="silent_sales", denominator="shop_sales"),
    Figure("robot_only_buyers", "仅机器人接待", "Robot-only buyers", COUNT, frozenset({TEAM}), "reception",
           "buyers with ≥ 1 buyer message that day and none routed to an agent (robot replies make no buyer)",
           "当天有买家消息且没有一条分配给客服的买家（机器人回复本身不算买家）"),
    Figure("robot_buyers", "机器人接待人数", "Robot-served buyers", COUNT, frozenset({TEAM}), "queue",
           "buyers with a buyer message that day not routed to an agent and a robot message that day",
           "当天有未分配给客服的买家消息、且有机器人消息的买家"),
    Figure("to_human_buyers", "转人工人数", "Asked for a human", COUNT, frozenset({TEAM}), "queue",
           "buyers with a `chat.queued` that day", "当天有 `chat.queued`（转人工）的买家"),
    Figure("queue_wait_avg_s", "平均排队时长", "Avg queue wait", SECONDS, frozenset({TEAM}), "queue",
           "mean wait of the queue waits that ended that day (by the end's day): from the `chat.queued` to "
           "the next transfer from the queue or buyer message routed to an agent, within `active_window_s`",
           "当天结束的排队的平均时长（按结束日计）：从 `chat.queued` 到下一次从队列转接或分配给客服的买家消息，"
           "须在 `active_window_s` 之内", higher_is_better=False, nullable=True),
    Figure("queue_abandoned_buyers", "排队放弃人数", "Queue abandoned", COUNT, frozenset({TEAM}), "queue",
           "buyers with a queue wait begun that day and not ended within `active_window_s` of its start",
           "当天开始排队、且在 `active_window_s` 内未结束排队的买家", higher_is_better=False),
    Figure("silent_unpaid_buyers", "静默下单未付款人数", "Silent unpaid buyers", COUNT, frozenset({TEAM}), "sales",
           "buyers with an order created that day with no order agent and, as it stands now, no deposit, "
           "no payment and no close",
           "当天下单、无下单客服、且到目前为止未付定金、未付款、未关闭的订单的买家", higher_is_better=False),
    Figure("silent_unpaid_amount", "静默下单未付款金额", "Silent unpaid amount", YUAN, frozenset({TEAM}), "sales",
           "the created amounts of those orders", "这些订单的拍下金额", higher_is_better=False),
    Figure("silent_balance_paid_amount", "静默尾款金额", "Silent balance amount", YUAN, frozenset({TEAM}), "sales",
           "final payments of presale orders that day credited to nobody (静默): the part of `silent_sales` that "
           "is balances", "当天未归属任何客服的预售订单尾款金额：静默销售额中尾款的部分"),
    # ---- live load at "now" (views.live_view, figures.live_load, figures.team_live) -------------
    Figure("status", "状态", "Status", STATUS, frozenset({LIVE}), "live",
           "the agent's `agent.status` with the largest `ts` (equal `ts`: the later arrival); `unknown` until one",
           "该客服 `ts` 最大的 `agent.status`（`ts` 相同取后到的）；收到之前为 `unknown`",
           choices=("online", "busy", "away", "offline", "unknown")),
    Figure("status_since_ts", "状态开始", "Status since", TIMESTAMP, frozenset({LIVE}), "live",
           "`ts` of the agent's latest `agent.status` (the one `status` shows); null until one",
           "该客服最新一条 `agent.status`（即“状态”所示）的 `ts`；收到之前为空", nullable=True),
    Figure("active_conversations", "当前接待", "Active chats", COUNT, NOW, "live",
           "buyers with a human message routed to or sent by the agent within `active_window_s` (600 s) before now",
           "此刻之前 `active_window_s`（600 秒）内与该客服有人工消息往来的买家"),
    Figure("waiting_buyers", "排队/未回复", "Waiting", COUNT, NOW, "live",
           "buyers with a message pending to the agent", "有消息在等该客服回复的买家", higher_is_better=False),
    Figure("longest_wait_s", "最长等待", "Longest wait", SECONDS, NOW, "live",
           "now − the oldest pending clock start among them; 0 when none waits",
           "此刻 − 其中最早的等待起点；无人等待为 0", higher_is_better=False),
    Figure("queued_now", "排队中", "Queued now", COUNT, frozenset({LIVE_TEAM}), "queue",
           "buyers whose queue wait is open and not abandoned at now", "此刻排队未结束且未放弃的买家",
           higher_is_better=False),
    Figure("longest_queue_wait_s", "最长排队", "Longest queue wait", SECONDS, frozenset({LIVE_TEAM}), "queue",
           "now − the oldest start among them; 0 when none", "此刻 − 其中最早的排队开始时间；无人排队为 0",
           higher_is_better=False),
    Figure("balance_due_buyers", "待付尾款人数", "Balances due", COUNT, NOW, "live",
           "buyers with a presale order whose deposit is credited to the agent, not yet paid in full and not "
           "closed (the team counts each buyer once)",
           "定金业绩归属该客服、尚未付尾款且未关闭的预售订单的买家（团队按人去重）"),
)

BY_KEY = {f.key: f for f in FIGURES}


def scope_keys(scope: str) -> tuple[str, ...]:
    """The keys of a scope's figure object, in API order."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return tuple(f.key for f in FIGURES if scope in f.scopes)


def scope_figures(scope: str) -> tuple[Figure, ...]:
    return tuple(BY_KEY[key] for key in scope_keys(scope))


# ---------------------------------------------------------------------------------- web (JS)
GENERATED_NOTE = "Generated from streams/core/catalogue.py by `python -m streams.core.catalogue --write`: do not edit."


def render_js() -> str:
    """web/src/catalogue.generated.js: every row as data (format = format.js byKind kind)."""
    lines = [
        f"// {GENERATED_NOTE}",
        "// Every figure of the API in API order: labels, unit, screen format (format.js byKind), the scopes it",
        "// exists in, whether higher is better, ratio parts and the shorter name in per-minute charts.",
        "",
        "export const FIGURES = [",
    ]
    for f in FIGURES:
        row = {
            "key": f.key, "zh": f.zh, "en": f.en, "unit": f.unit.name, "format": f.unit.web_format,
            "scopes": [s for s in SCOPES if s in f.scopes], "higherIsBetter": f.higher_is_better,
            "numerator": f.numerator, "denominator": f.denominator, "nullable": f.can_be_null,
            "chartZh": f.chart_zh, "chartEn": f.chart_en,
        }
        lines.append(f"  {json.dumps(row, ensure_ascii=False)},")
    lines.append("];")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- docs (markdown)
SCOPE_DOC = {AGENT: "agent", GROUP: "group", TEAM: "team", LIVE: "agent", LIVE_TEAM: "team", SERIES: "series"}
BETTER_DOC = {True: "↑", False: "↓", None: ""}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def docs_table(section: str) -> str:
    """The markdown table of one docs/metrics.md section (or of every series figure)."""
    if section == SERIES_SECTION:
        rows = scope_figures(SERIES)
        head = "| key | 中文 (chart) | English (chart) | unit | better | how it is computed · 计算方法 |"
    else:
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}")
        rows = tuple(f for f in FIGURES if f.section == section)
        head = "| key | 中文 | English | unit | in | better | how it is computed · 计算方法 |"
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for f in rows:
        unit = f.unit.doc + (", or null" if f.can_be_null else "")
        if f.choices:
            unit += ": " + ", ".join(f"`{c}`" for c in f.choices)
        definition = f"{f.definition('en')} · {f.definition('zh')}"
        if section == SERIES_SECTION:
            cells = [f"`{f.key}`", f.chart_zh or f.zh, f.chart_en or f.en, unit]
        else:
            scopes = " · ".join(dict.fromkeys(SCOPE_DOC[s] for s in SCOPES if s in f.scopes))
            cells = [f"`{f.key}`", f.zh, f.en, unit, scopes]
        cells += [BETTER_DOC[f.higher_is_better], definition]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _marker_re(section: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- catalogue:{section} -->\n)(?:.*?\n)?(<!-- /catalogue:{section} -->)", re.S)


def render_docs(text: str) -> str:
    """The docs text with each `<!-- catalogue:NAME -->` … `<!-- /catalogue:NAME -->` block regenerated."""
    for section in (*SECTIONS, SERIES_SECTION):
        pattern = _marker_re(section)
        if not pattern.search(text):
            raise ValueError(f"docs/metrics.md has no <!-- catalogue:{section} --> block")
        table = docs_table(section)
        text = pattern.sub(lambda m, table=table: m.group(1) + table + "\n" + m.group(2), text)
    return text


# ---------------------------------------------------------------------------------- the generated files
ROOT = Path(__file__).resolve().parents[2]
GENERATED_JS = ROOT / "web" / "src" / "catalogue.generated.js"
METRICS_DOC = ROOT / "docs" / "metrics.md"


def generated_files() -> dict[Path, str]:
    """Each generated file and the content the catalogue gives it now."""
    return {GENERATED_JS: render_js(), METRICS_DOC: render_docs(METRICS_DOC.read_text(encoding="utf-8"))}


def stale_files() -> list[Path]:
    return [path for path, text in generated_files().items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.core.catalogue", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the files derived from the catalogue")
    action.add_argument("--check", action="store_true", help="exit 1 if a derived file is out of date")
    args = parser.parse_args(argv)
    if args.write:
        for path, text in generated_files().items():
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale = stale_files()
    for path in stale:
        print(f"out of date: {path.relative_to(ROOT)} (run python -m streams.core.catalogue --write)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

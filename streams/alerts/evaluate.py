"""Pure alert evaluation: (rules, the shop's merged figures at "now", previous state) → transitions.

No I/O, no clock: "now" is an input (the wall clock live, the shop's event-time watermark with
KEFU_CLOCK=event), so the same inputs always give the same transitions and alert ids.

Subjects: each agent for `scope: agent` (agent_id in the alert), the whole shop for `scope: team`
(subject "team", agent_id null), each group for `scope: group` (staffing only; agent_id null, the
group in the alert id and in the alert's `group`).

Values, per kind (docs/alerts.md has the reasoning):
- buyer_waiting         longest wait now, s: now − the oldest pending clock start (live pending clocks),
                        so it fires while the buyer is still waiting; team: the longest of all agents.
- waiting_buyers        buyers with a pending message now; team: the sum.
- active_conversations  buyers with a message within active_window_s before now; team: the sum.
- avg_response          mean response time, s, of the responses in the window; none → no value.
- slow_response         responses in the window known to be slower than threshold (fires at ≥ 1):
                        exact when threshold = the shop's slow_response_s (the minute buckets' `slow`
                        count) or when a minute holds one response; otherwise a lower bound from each
                        minute's count, sum and slow count — it can miss, never invent, a slow response.
- sla_rate              3-minute response rate of the buyers whose SLA outcome fell in the window:
                        met at the first response (≤ sla_s), missed when the clock ran out (first
                        message + sla_s), answered or not; none → no value.
- queue_waiting         buyers queuing for a human now (`queued_now`: open queue waits with
                        now − start ≤ their window); team only.
- queue_wait            the longest open queue wait now, s (`longest_queue_wait_s`), so it fires while
                        the buyer still queues; team only.
- agent_away            per agent: s since their `away` status began, while buyers wait — in the queue
                        (it belongs to no group) or pending on an agent of the away agent's group;
                        otherwise (not away, or nobody waiting) no value. Team: the longest of them.
- staffing              per group: the now-cast's `agents_needed` (streams/core/staffing.py, computed
                        by the caller at now_ms); team: the sum over the groups.
Windows are whole minutes like the sliding figures of /series: the ceil(window_s / 60) minute buckets
ending with the current one.

Hysteresis (per rule, in shop time): a condition must hold for `for_s` (default 0) before it fires,
and a firing alert resolves only after its condition has been clear for `clear_s` (default 30 s) —
a value flapping around the threshold keeps one alert firing instead of a storm. A rule removed (or
whose kind/scope changed) resolves its firing alerts at once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.alerts.rules import LIVE_KINDS, WINDOW_KINDS, AlertRule
from streams.core.clock import MINUTE_MS, minute_of

TEAM = "team"
MinuteBucket = Mapping[str, Any]  # one minute of a shop, as the snapshots hold it (read-only here)


@dataclass(frozen=True)
class ShopFigures:
    """What evaluation reads of one shop at `now_ms` (merged over all partitions)."""

    now_ms: int
    pending: Mapping[str, Sequence[int]] = field(default_factory=dict)  # agent → pending clock starts
    activity: Mapping[str, Sequence[int]] = field(default_factory=dict)  # agent → last message ts per buyer
    minutes: Mapping[int, MinuteBucket] = field(default_factory=dict)  # minute start → {"agents": {}, "team": {}}
    open_sla: Sequence[Sequence[Any]] = ()  # [agent, day, group, first_ts, sla_ms] not aged at export
    aged_minutes: Sequence[Sequence[Any]] = ()  # [agent, minute, count]: SLA clocks that ran out, unanswered
    slow_response_s: float = 60
    active_window_s: float = 600
    queue: Sequence[Sequence[Any]] = ()  # open queue waits [start, day, window_ms, counted] (MergedLive.queue)
    statuses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # agent → {"status", "ts"}
    groups: Mapping[str, str] = field(default_factory=dict)  # agent → group (the shop's settings)
    staffing: Mapping[str, int] = field(default_factory=dict)  # group → agents_needed at now_ms


@dataclass(slots=True)
class Evaluation:
    transitions: list[dict[str, Any]]
    state: dict[str, Any]  # "seq" as read (the store bumps it on commit)
    changed: bool  # state or transitions differ from the input state
    # The earliest shop time at which the clock alone (no new data) could change the outcome: a wait
    # crossing its threshold, a window sliding, a for_s/clear_s hold ending. None: nothing pending.
    next_due_ms: int | None


def window_minutes(now_ms: int, window_s: float) -> list[int]:
    last = minute_of(now_ms)
    count = max(1, math.ceil(window_s / 60))
    return [last - i * MINUTE_MS for i in range(count - 1, -1, -1)]


def queued_starts(figures: ShopFigures) -> list[int]:
    """Starts of the queue waits open at now (views.queued_starts: not abandoned, now − start ≤ window)."""
    return [start for start, _day, window_ms, _counted in figures.queue if figures.now_ms - start <= window_ms]


def away_since(figures: ShopFigures) -> dict[str, int]:
    """Agent → start of their `away` status, for the away agents whose group has buyers waiting now."""
    queued = bool(queued_starts(figures))
    waiting_groups = {figures.groups.get(agent) for agent, clocks in figures.pending.items() if clocks}
    return {agent: int(status["ts"]) for agent, status in figures.statuses.items()
            if status.get("status") == "away" and status.get("ts") is not None
            and (queued or figures.groups.get(agent) in waiting_groups)}


def _counters(figures: ShopFigures, minutes: Iterable[int], scope: str) -> dict[str, dict[str, int]]:
    """Counters summed over the minutes: per agent, or {"team": ...}."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for minute in minutes:
        bucket = figures.minutes.get(minute)
        if not bucket:
            continue
        if scope == TEAM:
            for name, value in bucket.get("team", {}).items():
                totals[TEAM][name] += value
        else:
            for agent, counters in bucket.get("agents", {}).items():
                for name, value in counters.items():
                    totals[agent][name] += value
    return totals


def slow_count(c: Mapping[str, int], threshold_s: float, slow_response_s: float) -> int:
    """Responses (of one minute) known to be slower than threshold_s; see the module docstring."""
    responses, slow, total_ms = c.get("responses", 0), c.get("slow", 0), c.get("response_ms", 0)
    if responses <= 0:
        return 0
    threshold_ms, slow_ms = threshold_s * 1000, slow_response_s * 1000
    if threshold_ms == slow_ms:
        return slow
    if responses == 1:
        return int(total_ms > threshold_ms)
    if threshold_ms > slow_ms:
        if slow == 0:
            return 0  # exact: not one response exceeded even slow_response_s
        # The others are ≤ slow_response_s each; if the slow ones cannot all be ≤ threshold, one is above.
        return int(total_ms > (responses - slow) * slow_ms + slow * threshold_ms)
    if slow:
        return slow  # each is above slow_response_s > threshold
    return int(total_ms > responses * threshold_ms)


def values_for(rule: AlertRule, figures: ShopFigures) -> dict[str, float | int | None]:
    """Subject → current value of the rule's figure (a subject without data has no entry or None)."""
    now = figures.now_ms
    kind, team = rule.kind, rule.scope == TEAM
    per_agent: dict[str, float | int | None] = {}
    if kind == "buyer_waiting":
        for agent, clocks in figures.pending.items():
            if clocks:
                per_agent[agent] = max(0, now - min(clocks)) / 1000
        if team:
            return {TEAM: max((v for v in per_agent.values() if v is not None), default=0)}
        return per_agent
    if kind == "waiting_buyers":
        for agent, clocks in figures.pending.items():
            per_agent[agent] = len(clocks)
        return {TEAM: sum(v for v in per_agent.values() if v)} if team else per_agent
    if kind == "active_conversations":
        window_ms = figures.active_window_s * 1000
        for agent, activity in figures.activity.items():
            per_agent[agent] = sum(1 for ts in activity if 0 <= now - ts <= window_ms)
        return {TEAM: sum(v for v in per_agent.values() if v)} if team else per_agent
    if kind == "queue_waiting":
        return {TEAM: len(queued_starts(figures))}
    if kind == "queue_wait":
        starts = queued_starts(figures)
        return {TEAM: max(0, now - min(starts)) / 1000 if starts else 0}
    if kind == "agent_away":
        for agent, since in away_since(figures).items():
            per_agent[agent] = max(0, now - since) / 1000
        return {TEAM: max(per_agent.values(), default=None)} if team else per_agent
    if kind == "staffing":
        if team:
            return {TEAM: sum(figures.staffing.values())} if figures.staffing else {}
        return dict(figures.staffing)

    minutes = window_minutes(now, rule.window_s)
    if kind == "avg_response":
        totals = _counters(figures, minutes, TEAM if team else "agent")
        return {s: (c["response_ms"] / c["responses"] / 1000 if c.get("responses") else None)
                for s, c in totals.items()}
    if kind == "slow_response":
        result: dict[str, float | int | None] = defaultdict(int)
        for minute in minutes:
            single = _counters(figures, (minute,), TEAM if team else "agent")
            for subject, c in single.items():
                result[subject] += slow_count(c, rule.threshold, figures.slow_response_s)
        return dict(result)
    if kind == "sla_rate":
        totals = _counters(figures, minutes, "agent")  # SLA counters are per (agent, buyer) pair
        buyers: dict[str, int] = defaultdict(int)
        met: dict[str, int] = defaultdict(int)
        for agent, c in totals.items():
            buyers[agent] += c.get("sla_buyers", 0)
            met[agent] += c.get("sla_met", 0)
        first, last_end = minutes[0], minutes[-1] + MINUTE_MS
        for agent, minute, count in figures.aged_minutes:
            if first <= minute < last_end:
                buyers[agent] += count
        for agent, _day, _group, first_ts, sla_ms in figures.open_sla:
            ran_out = first_ts + sla_ms + 1
            if ran_out <= now and first <= minute_of(ran_out) < last_end:
                buyers[agent] += 1
        if team:
            total = sum(buyers.values())
            return {TEAM: sum(met.values()) / total if total else None}
        return {a: (met[a] / n if n else None) for a, n in buyers.items()}
    raise ValueError(f"unknown kind {kind}")


def breached(rule: AlertRule, value: float | int | None) -> bool:
    if value is None:
        return False
    if rule.kind == "sla_rate":
        return value < rule.threshold
    if rule.kind == "slow_response":
        return value >= 1
    return value > rule.threshold


def alert_id(shop: str, rule_id: str, subject: str, fired_at_ms: int) -> str:
    return f"{shop}:{rule_id}:{subject}:{fired_at_ms}"


def transition(shop: str, entry: Mapping[str, Any], rule_id: str, subject: str, state: str,
               value: float | int | None, ts: int, rules_version: int) -> dict[str, Any]:
    """An alert as it goes to Kafka, the alert list, screens and (its api.md fields) webhooks."""
    return {
        "alert_id": entry["alert_id"],
        "rule_id": rule_id,
        "kind": entry["kind"],
        "shop_id": shop,
        "agent_id": subject if entry["scope"] == "agent" else None,
        "state": state,
        "value": value,
        "threshold": entry["threshold"],
        "severity": entry["severity"],
        "ts": ts,
        # beyond api.md's webhook fields (kept out of the generic webhook body):
        "scope": entry["scope"],
        "window_s": entry.get("window_s"),
        "group": subject if entry["scope"] == "group" else None,
        "fired_at": entry["fired_at"],
        "rules_version": rules_version,
    }


def next_change_ms(rule: AlertRule, figures: ShopFigures, values: Mapping[str, Any],
                   firing: Mapping[str, Any]) -> int | None:
    """When the clock alone could next change this rule's outcome (see Evaluation.next_due_ms)."""
    now = figures.now_ms
    if rule.kind == "buyer_waiting":
        starts = [min(clocks) for agent, clocks in figures.pending.items()
                  if clocks and (TEAM if rule.scope == TEAM else agent) not in firing]
        crossings = [s + int(rule.threshold * 1000) + 1 for s in starts]
        return min((c for c in crossings if c > now), default=None)
    if rule.kind == "active_conversations":
        if not firing:
            return None  # the clock only ever lowers it
        window_ms = int(figures.active_window_s * 1000)
        ends = [ts + window_ms + 1 for activity in figures.activity.values() for ts in activity]
        return min((e for e in ends if e > now), default=None)
    if rule.kind in ("queue_waiting", "queue_wait", "agent_away"):
        # Clock-only changes: a queue wait is abandoned at start + window + 1 (queued_now, the longest
        # wait and "buyers wait" change); a wait or an away status crosses the threshold.
        threshold_ms = int(rule.threshold * 1000)
        changes = [start + window_ms + 1 for start, _day, window_ms, _counted in figures.queue]
        if rule.kind == "queue_wait" and TEAM not in firing:
            changes += [start + threshold_ms + 1 for start, _day, window_ms, _counted in figures.queue
                        if threshold_ms < window_ms]
        if rule.kind == "agent_away":
            changes += [since + threshold_ms + 1 for agent, since in away_since(figures).items()
                        if (TEAM if rule.scope == TEAM else agent) not in firing]
        return min((c for c in changes if c > now), default=None)
    if rule.kind == "staffing":
        # the now-cast's 15-minute arrival window slides at every minute
        return minute_of(now) + MINUTE_MS if figures.staffing or firing else None
    if rule.kind in WINDOW_KINDS:
        due = None
        if firing or any(v is not None for v in values.values()):
            due = minute_of(now) + MINUTE_MS  # the window slides at the next minute
        if rule.kind == "sla_rate":
            ran_out = [first_ts + sla_ms + 1 for _a, _d, _g, first_ts, sla_ms in figures.open_sla]
            soonest = min((r for r in ran_out if r > now), default=None)
            if soonest is not None:
                due = soonest if due is None else min(due, soonest)
        return due
    return None


def _earliest(*times: int | None) -> int | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def evaluate(shop: str, rules: Sequence[AlertRule], rules_version: int, figures: ShopFigures,
             state: Mapping[str, Any]) -> Evaluation:
    """Transitions at figures.now_ms and the new state (firing alerts, conditions pending for_s)."""
    now = figures.now_ms
    old_firing: dict[str, dict[str, Any]] = state.get("firing", {})
    old_pending: dict[str, dict[str, int]] = state.get("pending", {})
    firing: dict[str, dict[str, Any]] = {}
    pending: dict[str, dict[str, int]] = {}
    transitions: list[dict[str, Any]] = []
    due: int | None = None
    by_id = {rule.id: rule for rule in rules}

    # Firing alerts of rules that are gone, or changed kind or scope: resolved at once.
    for rule_id, entries in old_firing.items():
        rule = by_id.get(rule_id)
        for subject, entry in entries.items():
            if rule is None or rule.kind != entry["kind"] or rule.scope != entry["scope"]:
                version = entry.get("rules_version", rules_version) if rule is None else rules_version
                transitions.append(transition(shop, entry, rule_id, subject, "resolved", None, now, version))

    for rule in rules:
        values = values_for(rule, figures)
        live_entries = {s: e for s, e in old_firing.get(rule.id, {}).items()
                        if e["kind"] == rule.kind and e["scope"] == rule.scope}
        was_pending = old_pending.get(rule.id, {})
        rule_firing: dict[str, dict[str, Any]] = {}
        rule_pending: dict[str, int] = {}
        for subject in sorted(set(values) | set(live_entries) | set(was_pending)):
            value = values.get(subject)
            holds = breached(rule, value)
            entry = live_entries.get(subject)
            if entry is None:
                if not holds:
                    continue
                since = min(was_pending.get(subject, now), now)
                if now - since < rule.for_s * 1000:
                    rule_pending[subject] = since
                    due = _earliest(due, since + int(rule.for_s * 1000))
                    continue
                entry = {"alert_id": alert_id(shop, rule.id, subject, now), "fired_at": now, "kind": rule.kind,
                         "scope": rule.scope, "threshold": rule.threshold, "severity": rule.severity,
                         "window_s": rule.window_s, "rules_version": rules_version, "value": value,
                         "clear_since": None}
                rule_firing[subject] = entry
                transitions.append(transition(shop, entry, rule.id, subject, "firing", value, now, rules_version))
                continue
            entry = dict(entry, threshold=rule.threshold, severity=rule.severity, window_s=rule.window_s)
            if holds:
                entry["clear_since"] = None
                rule_firing[subject] = entry
                continue
            clear_since = entry.get("clear_since")
            clear_since = now if clear_since is None else min(clear_since, now)
            if now - clear_since >= rule.clear_s * 1000:
                if value is None and rule.kind in LIVE_KINDS:
                    value = 0  # nobody waiting / active any more
                transitions.append(transition(shop, entry, rule.id, subject, "resolved", value, now, rules_version))
            else:
                entry["clear_since"] = clear_since
                rule_firing[subject] = entry
                due = _earliest(due, clear_since + int(rule.clear_s * 1000))
        if rule_firing:
            firing[rule.id] = rule_firing
        if rule_pending:
            pending[rule.id] = rule_pending
        due = _earliest(due, next_change_ms(rule, figures, values, rule_firing))

    new_state = {"seq": state.get("seq", 0), "firing": firing, "pending": pending}
    changed = bool(transitions) or firing != old_firing or pending != old_pending
    return Evaluation(transitions, new_state, changed, due)

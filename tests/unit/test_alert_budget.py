"""The alert runner's evaluation budget (streams/alerts/runner.py EvaluationBudget): which shops a tick
evaluates, simulated tick by tick with a fixed cost per evaluation."""

from __future__ import annotations

from collections import Counter

from streams.alerts.runner import AlertRunner, EvaluationBudget

# A paced tick sleeps the whole TICK_S and then works: ticks are a little more than TICK_S apart.
TICK_S = AlertRunner.TICK_S + 0.001


def budget() -> EvaluationBudget:
    return EvaluationBudget(AlertRunner.CPU_SHARE, AlertRunner.MIN_INTERVAL_S, AlertRunner.CONCURRENCY,
                            cap_s=AlertRunner.CPU_SHARE)


def run(shops: list[str], cost_s: float, seconds: float, due_every: dict[str, float] | None = None,
        ) -> tuple[Counter[str], float, list[int]]:
    """Every shop has new data at every tick; `due_every`: shops whose due time comes round that often.
    Returns evaluations per shop, the time they took together, and how many each tick evaluated."""
    chooser, last_eval, evaluated, per_tick = budget(), {}, Counter(), []
    spent = 0.0
    for tick in range(int(seconds / TICK_S)):
        now = tick * TICK_S
        due = {shop for shop, every in (due_every or {}).items() if tick % round(every / AlertRunner.TICK_S) == 0}
        picked = chooser.pick(now, set(shops), due, last_eval)
        for shop in picked:
            last_eval[shop] = now
            evaluated[shop] += 1
        chooser.charge(cost_s * len(picked))
        spent += cost_s * len(picked)
        per_tick.append(len(picked))
    return evaluated, spent, per_tick


def test_a_few_shops_are_evaluated_as_often_as_the_minimum_interval_allows() -> None:
    evaluated, spent, _ = run(["a", "b", "c"], cost_s=0.005, seconds=10)
    # every other tick (the minimum interval; 3 × 5 × 5 ms = 75 ms of the 0.2 s budget a second): nothing held back
    assert all(count == 50 for count in evaluated.values()), evaluated
    assert spent < 0.1 * 10


def test_many_shops_share_the_budget_fairly_and_stay_within_it() -> None:
    shops = [f"shop-{i}" for i in range(500)]
    seconds = 60
    evaluated, spent, per_tick = run(shops, cost_s=0.005, seconds=seconds)
    assert spent <= AlertRunner.CPU_SHARE * seconds + AlertRunner.CPU_SHARE + max(per_tick) * 0.005
    assert spent >= 0.9 * AlertRunner.CPU_SHARE * seconds  # the budget is used, not left idle
    assert max(per_tick) <= AlertRunner.CONCURRENCY
    # longest waiting first: every shop comes round, each about as often as the others
    assert set(evaluated) == set(shops)
    assert max(evaluated.values()) - min(evaluated.values()) <= 1


def test_due_shops_are_evaluated_even_when_the_budget_is_spent() -> None:
    shops = [f"shop-{i}" for i in range(500)]
    evaluated, _, _ = run(shops + ["waiting-buyer"], cost_s=0.05, seconds=20, due_every={"waiting-buyer": 0.5})
    assert evaluated["waiting-buyer"] >= 20 / 0.5

"""Delta frames (issue 16): a delta applied to the previous frame is the next frame, byte for byte.

- property over arbitrary JSON objects (nested objects, row lists, plain lists, nulls, added,
  removed and re-ordered keys): apply_delta(old, frame_delta(old, new)) encodes to the same JSON as new;
- property over frame-shaped pairs (agent rows, live rows, groups, team) under random changes: a few
  agents' figures, agents appearing and leaving, a group appearing before the others, the day
  turning; the old frame is never modified;
- a delta carries only what changed: unchanged rows are absent, and a 1,200-agent frame with 5 % of
  its agents changed gives a delta of a few KB, not the frame's megabyte.
"""

from __future__ import annotations

import copy
import os
import random
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.frame_delta import apply_delta, frame_delta

# Scalars as frames hold them: one JSON type per field; floats that are not whole numbers, so that
# `==` (1 == 1.0 == True in Python) never equates two values a browser would tell apart.
scalars = st.one_of(st.none(), st.integers(-10**6, 10**6), st.text(max_size=4),
                    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()))
keys = st.sampled_from(["a", "b", "c", "d", "e", "team", "groups", "presale", "aftersale", "now"])


def rows_of(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries({}, optional={"x": children, "y": scalars, "z": children})
    return st.lists(st.tuples(st.sampled_from(["a1", "a2", "a3", "a4", "a5"]), row), max_size=5,
                    unique_by=lambda t: t[0]).map(lambda pairs: [{"agent_id": i, **r} for i, r in pairs])


json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5),
                               rows_of(children)),
    max_leaves=30,
)
objects = st.dictionaries(keys, json_values, max_size=6)


def same_json(a: Any, b: Any) -> bool:
    return orjson.dumps(a) == orjson.dumps(b)


@settings(max_examples=400, deadline=None)
@given(objects, objects)
def test_a_delta_applied_to_any_object_gives_the_next(old: dict[str, Any], new: dict[str, Any]) -> None:
    before = copy.deepcopy(old)
    delta = frame_delta(old, new)
    assert same_json(apply_delta(old, delta), new)
    assert same_json(old, before)  # neither building nor applying touches the old frame
    assert same_json(orjson.loads(orjson.dumps(delta)), delta)  # a delta is JSON as it is


@settings(max_examples=200, deadline=None)
@given(objects)
def test_no_change_is_an_empty_delta(frame: dict[str, Any]) -> None:
    assert frame_delta(frame, copy.deepcopy(frame)) == {}


# ----------------------------------------------------------------------------- frame-shaped pairs

FIELDS = ["consult", "received", "buyer_messages", "agent_messages", "sales", "avg_response_s", "sla_rate",
          "inquiry_pay_rate", "online_s", "busy_s"]


def figures(rng: random.Random) -> dict[str, Any]:
    return {"consult": rng.randrange(100), "received": rng.randrange(100), "buyer_messages": rng.randrange(900),
            "agent_messages": rng.randrange(900), "sales": round(rng.uniform(0, 5e4), 2) + 0.01,
            "avg_response_s": rng.choice([None, rng.uniform(1, 90)]), "sla_rate": rng.choice([None, rng.random()]),
            "inquiry_pay_rate": rng.choice([None, rng.random()]), "online_s": rng.uniform(0, 3e4) + 0.5,
            "busy_s": rng.uniform(0, 3e4) + 0.5}


def agent_row(rng: random.Random, agent: str) -> dict[str, Any]:
    return {"agent_id": agent, "group": rng.choice(["presale", "aftersale"]), **figures(rng)}


def live_row(rng: random.Random, agent: str) -> dict[str, Any]:
    return {"agent_id": agent, "group": "presale", "status": rng.choice(["online", "busy", "away", "unknown"]),
            "status_since_ts": rng.choice([None, rng.randrange(10**12, 2 * 10**12)]),
            "active_conversations": rng.randrange(10), "waiting_buyers": rng.randrange(4),
            "longest_wait_s": rng.choice([0.5, rng.uniform(1, 300)])}


def frame(rng: random.Random, agents: list[str]) -> dict[str, Any]:
    return {"shop_id": "s1", "day": "2026-11-11", "team": figures(rng),
            "groups": {"presale": figures(rng), "vip": figures(rng)},
            "agents": [agent_row(rng, a) for a in agents],
            "live": {"shop_id": "s1", "now": rng.randrange(10**12, 2 * 10**12),
                     "agents": [live_row(rng, a) for a in agents], "team": figures(rng),
                     "groups": {"presale": {"needed": rng.randrange(5), "arrivals": [rng.random() + 0.5]}}}}


def changed(rng: random.Random, old: dict[str, Any], share: float) -> dict[str, Any]:
    new = copy.deepcopy(old)
    new["live"]["now"] += 500
    for row in new["agents"] + new["live"]["agents"]:
        if rng.random() < share:
            for field in rng.sample(sorted(set(row) - {"agent_id"}), rng.randrange(1, 4)):
                row[field] = (live_row if "status" in row else agent_row)(rng, row["agent_id"])[field]
    event = rng.randrange(8)
    if event == 0:  # an agent appears (ids stay sorted, as the views sort them)
        agent = f"a{rng.randrange(1000):04d}n"
        if agent not in {r["agent_id"] for r in new["agents"]}:
            new["agents"] = sorted(new["agents"] + [agent_row(rng, agent)], key=lambda r: r["agent_id"])
            new["live"]["agents"] = sorted(new["live"]["agents"] + [live_row(rng, agent)],
                                           key=lambda r: r["agent_id"])
    elif event == 1 and new["agents"]:  # an agent leaves the day's rows
        del new["agents"][rng.randrange(len(new["agents"]))]
    elif event == 2:  # a group that sorts first appears
        new["groups"] = {"aftersale": figures(rng), **new["groups"]}
    elif event == 3:  # the day turns: new rows, new team
        new["day"] = "2026-11-12"
        new["team"] = figures(rng)
    elif event == 4:
        new["groups"].pop("vip", None)
    return new


def test_a_delta_applied_to_the_previous_frame_gives_the_next_over_random_changes() -> None:
    for seed in range(300):
        rng = random.Random(seed)
        agents = [f"a{i:04d}" for i in rng.sample(range(1000), rng.randrange(0, 40))]
        old = frame(rng, sorted(agents))
        for _ in range(5):  # a chain: each delta applies to what the previous one produced
            new = changed(rng, old, share=rng.choice([0.0, 0.05, 0.5, 1.0]))
            frozen = orjson.dumps(old)
            applied = apply_delta(old, orjson.loads(orjson.dumps(frame_delta(old, new))))  # through the wire
            assert orjson.dumps(applied) == orjson.dumps(new), seed
            assert orjson.dumps(old) == frozen, seed
            old = applied


def test_a_delta_names_only_the_rows_and_fields_that_changed() -> None:
    rng = random.Random(7)
    old = frame(rng, [f"a{i:04d}" for i in range(10)])
    new = copy.deepcopy(old)
    new["agents"][3]["sales"] += 100
    new["live"]["agents"][5]["waiting_buyers"] += 1
    new["live"]["now"] += 500
    assert frame_delta(old, new) == {
        "agents": {"$key": "agent_id", "$rows": {"a0003": {"sales": new["agents"][3]["sales"]}}},
        "live": {"now": new["live"]["now"],
                 "agents": {"$key": "agent_id", "$rows": {"a0005": {"waiting_buyers": new["live"]["agents"][5][
                     "waiting_buyers"]}}}},
    }


def test_five_percent_of_1200_agents_changed_is_a_small_delta() -> None:
    rng = random.Random(11)
    old = frame(rng, [f"agent-{i:04d}" for i in range(1200)])
    new = copy.deepcopy(old)
    new["live"]["now"] += 500
    for i in rng.sample(range(1200), 60):
        new["agents"][i]["buyer_messages"] += 1
        new["agents"][i]["avg_response_s"] = 12.5
        new["live"]["agents"][i]["waiting_buyers"] += 1
    full, delta = len(orjson.dumps(new)), len(orjson.dumps(frame_delta(old, new)))
    assert full > 400_000 and delta < 8_000, (full, delta)


# ------------------------------------------------------- the browser's applier gets the same cases

FIXTURE = Path(__file__).resolve().parents[2] / "web" / "test" / "fixtures" / "frame-deltas.json"


def fixture_cases() -> list[dict[str, Any]]:
    """Chains of frames and the deltas built here, for web/test/frameDelta.test.js: the JS applier must turn
    each `old` and `delta` into `new`, key order included. Plus the edge cases of the format."""
    cases = [
        {"old": {"a": {"x": 1}, "b": [1, 2]}, "new": {"a": [1], "b": {"x": 1}}},  # types swap
        {"old": {"a": None, "b": 1}, "new": {"a": {"k": None}, "c": 2}},  # null → object, a key leaves
        {"old": {"p": 1, "q": 2}, "new": {"o": 0, "q": 2, "p": 1}},  # keys re-ordered and added
        {"old": {"rows": [{"agent_id": "a", "v": 1}]}, "new": {"rows": []}},  # every row leaves
        {"old": {"rows": [{"shop_id": "s2", "v": 1}, {"shop_id": "s1", "v": 2}]},
         "new": {"rows": [{"shop_id": "s1", "v": 3}, {"shop_id": "s2", "v": 1}]}},  # re-ordered shop rows
        {"old": {"rows": [{"agent_id": "a", "v": 1}, {"agent_id": "a", "v": 2}]},
         "new": {"rows": [{"agent_id": "a", "v": 1}]}},  # repeated ids: a plain list
    ]
    for seed in range(6):
        rng = random.Random(1000 + seed)
        old = frame(rng, sorted(f"a{i:04d}" for i in rng.sample(range(100), rng.randrange(0, 5))))
        for _ in range(3):
            new = changed(rng, old, share=rng.choice([0.05, 0.5]))
            cases.append({"old": old, "new": new})
            old = new
    for case in cases:
        case["delta"] = frame_delta(case["old"], case["new"])
    return cases


def test_the_browser_fixture_is_current() -> None:
    """KEFU_WRITE_FIXTURES=1 rewrites it (after a change of the format)."""
    text = orjson.dumps(fixture_cases()) + b"\n"
    if os.environ.get("KEFU_WRITE_FIXTURES") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_bytes(text)
    for case in orjson.loads(text):
        assert orjson.dumps(apply_delta(case["old"], case["delta"])) == orjson.dumps(case["new"])
    assert FIXTURE.read_bytes() == text, "run with KEFU_WRITE_FIXTURES=1 and commit web/test/fixtures"

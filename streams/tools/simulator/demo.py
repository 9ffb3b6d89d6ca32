"""The demo's shops (`make run`): one setting lists them, and each shop's settings match its simulator.

`DEMO_SHOPS` (or `KEFU_DEMO_SHOPS`, same syntax: `shop=agents,shop=agents,…`) names the shops and their
team sizes; shop i runs with seed `base seed + i`, so `python -m streams.tools.simulator.demo settings`
prints settings (groups of the same agents) that match `--mode demo` with the same base seed.
Invariant: the first shop is `demo-shop` with 12 agents and seed 1, the single-shop demo of before.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from typing import Any

import orjson

from streams.core.events import SHOP_ID_RE
from streams.tools.simulator.model import FILTER_PHRASES, INTERNAL_BUYERS, make_agents

# A brand on Double 11: its flagship store, a second Tmall store, an outlet and a small JD store.
DEMO_SHOPS = "demo-shop=12,demo-flagship=16,demo-outlet=6,demo-jd=4"
# The small JD store keeps JD's usual service hours (response clocks stop at night: 留言 until 09:00).
SERVICE_HOURS = {"demo-jd": {"start": "09:00", "end": "23:00"}}


# Team sizes of shops listed without `=agents` (by position, cycling): several sizes on the 作战大屏.
DEFAULT_SIZES = (12, 16, 6, 4, 8)


def parse_shops(text: str) -> list[tuple[str, int]]:
    """`shop=agents,…` (or plain `shop,…`: sizes from DEFAULT_SIZES) → [(shop, agents)]; raises
    ValueError with a readable message."""
    shops: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, count = part.partition("=")
        if not sep:
            count = str(DEFAULT_SIZES[len(shops) % len(DEFAULT_SIZES)])
        if not SHOP_ID_RE.fullmatch(name) or not count.isdigit() or int(count) < 1:
            raise ValueError(f"expected shop=agents (agents ≥ 1) or a shop id, got {part!r}")
        if name in {s for s, _ in shops}:
            raise ValueError(f"shop {name!r} listed twice")
        shops.append((name, int(count)))
    if not shops:
        raise ValueError("no shops listed")
    return shops


def configured_shops() -> str:
    return os.environ.get("KEFU_DEMO_SHOPS") or DEMO_SHOPS


def shop_settings(shop: str, agents: int, seed: int) -> dict[str, Any]:
    """The shop's settings (metrics.md): its agents' groups, the filter phrases and test accounts the
    simulator uses, follow-ups not counted as lost (the balance chases), JD's hours for the JD store."""
    settings: dict[str, Any] = {
        "groups": {agent.agent_id: agent.group for agent in make_agents(agents, random.Random(seed))},
        "filter_phrases": list(FILTER_PHRASES),
        "filter_buyers": list(INTERNAL_BUYERS),
        "followup_not_lost": True,
    }
    if shop in SERVICE_HOURS:
        settings["service_hours"] = SERVICE_HOURS[shop]
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.tools.simulator.demo",
                                     description="the demo's shops and their settings")
    parser.add_argument("what", choices=("shops", "settings"),
                        help="shops: one shop id a line; settings: `shop<TAB>settings JSON` a line")
    parser.add_argument("--shops", default=None, help=f"shop=agents,… (default: $KEFU_DEMO_SHOPS or {DEMO_SHOPS})")
    parser.add_argument("--seed", type=int, default=1, help="the base seed (default: 1)")
    args = parser.parse_args(argv)
    try:
        shops = parse_shops(args.shops or configured_shops())
    except ValueError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    for i, (shop, agents) in enumerate(shops):
        if args.what == "shops":
            print(shop)
        else:
            print(f"{shop}\t{orjson.dumps(shop_settings(shop, agents, args.seed + i)).decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

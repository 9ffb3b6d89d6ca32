"""A digest of everything the worker's code path leaves behind over the benchmark's events: every stored
record (buyer and agent records, byte for byte) and the final agent tables (days, minutes, live facts,
"now", unpaid orders, agents, watermark, processed count). The tables are compared as data, dict order
left out: bench.offline exports (and so settles) by the wall clock, so the order in which buyers' changes
reach the tables, and with it their dicts' order, differs from run to run of the same code.

For changes that must not change a figure or a stored byte (performance work): run it on two checkouts
over the same events and compare the two lines, e.g.
    PYTHONPATH=$PWD python -m bench.state_digest --shops 1 --agents 1200 --events 150000
Runs under PYTHONHASHSEED=0 (it restarts itself with it when needed): some dict orders follow set
iteration order, which a random string hash seed changes from run to run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from typing import Any

from bench.dataset import build
from bench.offline import run


def canonical(value: Any) -> Any:
    """`value` with every dict as its items sorted by key (nested), so that dict order does not count."""
    if isinstance(value, dict):
        return sorted(((repr(key), canonical(item)) for key, item in value.items()), key=lambda pair: pair[0])
    if type(value) in (list, tuple):  # (not a NamedTuple: its repr already is its data)
        return type(value)(canonical(item) for item in value)
    return value


def digests(shops: int, agents: int, events: int, partitions: int = 8, batch: int = 256) -> tuple[str, str]:
    data = build(shops, agents, events, partitions)
    result = run(data.records, data.count, partitions, batch)
    stored, tables_digest = hashlib.sha256(), hashlib.sha256()
    for partition in sorted(result.processors):
        processor = result.processors[partition]
        for key in sorted(processor.store):
            stored.update(key.encode() + b"\0" + processor.store[key] + b"\0")
        for shop in sorted(processor.tables.shops):
            tables = processor.tables.shops[shop]
            tables_digest.update(repr(canonical((
                shop, tables.days, tables.minutes, tables.live, tables.now,
                sorted(tables.unpaid_orders, key=repr), sorted(tables.agents), tables.watermark, tables.processed,
            ))).encode())
    for key in sorted(result.agent_store):
        stored.update(key.encode() + b"\0" + result.agent_store[key] + b"\0")
    return stored.hexdigest()[:16], tables_digest.hexdigest()[:16]


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, "-m", "bench.state_digest", *sys.argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shops", type=int, default=1)
    parser.add_argument("--agents", type=int, default=1200)
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    stored, tables = digests(args.shops, args.agents, args.events)
    print(f"stored records {stored}  tables {tables}  "
          f"({args.shops} shops x {args.agents} agents, {args.events:,} events)")


if __name__ == "__main__":
    main()

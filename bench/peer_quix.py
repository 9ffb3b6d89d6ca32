"""The peer: the same per-agent windowed counts with Quix Streams 3.28.1, on the same envelopes.

Runs in its own virtualenv (bench/peer.py makes it): quixstreams 3.28.1 pins pydantic-settings < 2.16,
which the project pins at 2.16.3, so the two cannot share the project's venv. Imports nothing of
the project.

The dataflow is the idiomatic Quix one for these figures, per event:
  chat-events + order-events + agent-events (envelopes, bytes)
  → explode each envelope into its events (expand=True), timestamp = the event's ts
  → group_by agent ("shop|agent"; a repartition topic: envelopes are keyed by buyer, and Quix allows
    one group_by per pipeline, so the buyer-keyed step of our pipeline becomes a key per buyer
    inside the agent's state)
  → stateful per agent (RocksDB + changelog topic): the buyer's pending clock (state key = buyer)
    → buyer messages, agent messages, responses and response ms
  → tumbling 1-minute window per agent (event time), reduce (RocksDB + changelog) → current value.
Every event goes through to the window stage (events without an agent under "shop|-"), so the run
is over when that stage has seen all N events; timed from the first event seen by the first stage.

Each process writes "<first event monotonic time> <events through the window stage>" to
<progress file> (atomically, every 0.1 s, from a thread) for bench/peer.py to read.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import orjson
from quixstreams import Application


def main() -> None:
    bootstrap, group, state_dir, progress_path = sys.argv[1:5]
    progress = Path(progress_path)
    app = Application(
        broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
        state_dir=state_dir, loglevel="WARNING", commit_interval=1.0,
        processing_guarantee="at-least-once",
    )
    topics = [app.topic(name, value_deserializer="bytes", key_deserializer="bytes")
              for name in ("chat-events", "order-events", "agent-events")]
    frames = [app.dataframe(topic) for topic in topics]
    sdf = frames[0].concat(frames[1]).concat(frames[2])
    first_seen: list[float] = []
    done = [0]

    def explode(value: bytes) -> list:
        if not first_seen:
            first_seen.append(time.monotonic())
        decoded = orjson.loads(value)
        return decoded if isinstance(decoded, list) else [decoded]

    sdf = sdf.apply(explode, expand=True)
    sdf = sdf.set_timestamp(lambda value, key, timestamp, headers: value["ts"])
    sdf = sdf.group_by(lambda e: f"{e['shop_id']}|{e.get('agent_id') or '-'}", name="agent")

    def per_agent(event: dict, state) -> dict:
        item = {"b": 0, "a": 0, "r": 0, "ms": 0}
        if event["type"] == "chat.message" and event.get("agent_id"):
            buyer = event["buyer_id"]
            if event["sender"] == "buyer":
                item["b"] = 1
                if state.get(buyer) is None:
                    state.set(buyer, event["ts"])
            elif event["sender"] == "agent":
                item["a"] = 1
                since = state.get(buyer)
                if since is not None:
                    item["r"], item["ms"] = 1, event["ts"] - since
                    state.delete(buyer)
        return item

    sdf = sdf.apply(per_agent, stateful=True)

    def reducer(total: dict, item: dict) -> dict:
        total["b"] += item["b"]
        total["a"] += item["a"]
        total["r"] += item["r"]
        total["ms"] += item["ms"]
        return total

    def initializer(item: dict) -> dict:
        return {"b": item["b"], "a": item["a"], "r": item["r"], "ms": item["ms"]}

    # A day of grace: events of one agent reach the window from different buyers' partitions, so out of
    # ts order (our pipeline counts late events exactly; here they must not be dropped either).
    sdf = sdf.tumbling_window(60_000, grace_ms=86_400_000).reduce(reducer, initializer).current()

    def count(_value: dict) -> None:
        done[0] += 1

    def write() -> None:
        tmp = progress.with_suffix(".tmp")
        tmp.write_text(f"{first_seen[0] if first_seen else 0} {done[0]}")
        os.replace(tmp, progress)

    def writer() -> None:
        while True:
            write()
            time.sleep(0.1)

    sdf = sdf.update(count)
    threading.Thread(target=writer, daemon=True).start()
    app.run()


if __name__ == "__main__":
    main()

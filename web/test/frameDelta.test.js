// Delta frames in the browser (issue 16): the applier rebuilds exactly the frames the server's
// deltas were built from (fixtures/frame-deltas.json is written by tests/unit/test_frame_delta.py from
// streams/core/frame_delta.py), and a connection that sees a gap in the sequence numbers asks for a
// snapshot instead of applying a delta to the wrong frame.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { connectStream } from "../src/connection.js";
import { applyDelta, deltaReader } from "../src/frameDelta.js";
import cases from "./fixtures/frame-deltas.json";

function deepFreeze(value) {
  if (value && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe("applyDelta", () => {
  test("the fixture has the format's edge cases and frame chains", () => {
    const text = JSON.stringify(cases.map((c) => c.delta));
    for (const marker of ["$del", "$keys", "$rows", "$order", "$key"]) expect(text).toContain(`"${marker}"`);
    expect(cases.length).toBeGreaterThan(20);
  });

  test.each(cases.map((c, i) => [i, c]))("case %i: old + delta = new, key order included", (_, c) => {
    const old = deepFreeze(structuredClone(c.old)); // (frozen: a write to it throws)
    const applied = applyDelta(old, c.delta);
    expect(applied).toEqual(c.new);
    expect(JSON.stringify(applied)).toBe(JSON.stringify(c.new));
    expect(old).toEqual(c.old);
  });

  test("unchanged rows are the very same objects (screens may keep them)", () => {
    const old = { agents: [{ agent_id: "a", v: 1 }, { agent_id: "b", v: 2 }] };
    const next = applyDelta(old, { agents: { $key: "agent_id", $rows: { b: { v: 3 } } } });
    expect(next.agents[0]).toBe(old.agents[0]);
    expect(next.agents[1]).toEqual({ agent_id: "b", v: 3 });
    expect(old.agents[1].v).toBe(2);
  });
});

const SNAPSHOT = { type: "snapshot", seq: 4, shop_id: "s", live: { now: 1 }, agents: [{ agent_id: "a", n: 0 }] };
const delta = (seq, base, now) => ({ type: "delta", seq, base, changes: { live: { now } } });

describe("deltaReader", () => {
  test("a snapshot, then deltas that follow it: whole update frames", () => {
    const reader = deltaReader(() => {});
    expect(reader.receive(SNAPSHOT)).toEqual(SNAPSHOT);
    expect(reader.receive(delta(5, 4, 2))).toEqual({
      type: "update",
      seq: 5,
      shop_id: "s",
      live: { now: 2 },
      agents: [{ agent_id: "a", n: 0 }],
    });
    expect(reader.seq).toBe(5);
    for (const other of [{ type: "alert", kind: "x" }, { type: "heartbeat", now: 3 }]) {
      expect(reader.receive(other)).toBe(other);
    }
  });

  test("a gap asks for a snapshot once and applies nothing until it comes; the resync snapshot is an update", () => {
    const ask = vi.fn();
    const reader = deltaReader(ask);
    reader.receive(SNAPSHOT);
    expect(reader.receive(delta(6, 5, 9))).toBeNull(); // 5 never came
    expect(reader.receive(delta(7, 6, 10))).toBeNull();
    expect(ask).toHaveBeenCalledTimes(1);
    const resync = { ...SNAPSHOT, seq: 7, live: { now: 10 } };
    expect(reader.receive(resync)).toEqual({ ...resync, type: "update" });
    expect(reader.receive(delta(8, 7, 11)).live).toEqual({ now: 11 });
    reader.receive(delta(10, 9, 12));
    expect(ask).toHaveBeenCalledTimes(2);
  });

  test("a delta before any snapshot is a gap", () => {
    const ask = vi.fn();
    expect(deltaReader(ask).receive(delta(2, 1, 1))).toBeNull();
    expect(ask).toHaveBeenCalledTimes(1);
  });
});

describe("connectStream with deltas", () => {
  let sockets;
  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    globalThis.WebSocket = class {
      constructor(url) {
        this.url = url;
        this.readyState = 1;
        this.sent = [];
        sockets.push(this);
      }
      send(text) {
        this.sent.push(JSON.parse(text));
      }
      close() {}
    };
  });
  afterEach(() => {
    vi.useRealTimers();
    delete globalThis.WebSocket;
  });

  const open = () => {
    const frames = [];
    connectStream({
      url: "ws://x/api/v1/shops/s/stream?token=t",
      onFrame: (f) => frames.push(f),
      onState: () => {},
      onAuthError: () => {},
    });
    const ws = sockets.at(-1);
    const push = (f) => ws.onmessage({ data: JSON.stringify(f) });
    return { ws, frames, push };
  };

  test("asks for deltas and hands the screen whole frames", () => {
    const { ws, frames, push } = open();
    expect(ws.url).toBe("ws://x/api/v1/shops/s/stream?token=t&deltas=1");
    push(SNAPSHOT);
    push(delta(5, 4, 2));
    expect(frames.map((f) => [f.type, f.seq, f.live.now, f.agents.length])).toEqual([
      ["snapshot", 4, 1, 1],
      ["update", 5, 2, 1],
    ]);
  });

  test("a gap sends {type: resync} on the socket and the screen gets nothing wrong meanwhile", () => {
    const { ws, frames, push } = open();
    push(SNAPSHOT);
    push(delta(6, 5, 9));
    expect(ws.sent).toEqual([{ type: "resync" }]);
    expect(frames).toHaveLength(1);
    push({ ...SNAPSHOT, seq: 6, live: { now: 9 } });
    expect(frames.at(-1)).toMatchObject({ type: "update", seq: 6, live: { now: 9 } });
  });

  test("a reconnect starts from the new connection's snapshot", () => {
    const first = open();
    first.push(SNAPSHOT);
    first.ws.onclose({ code: 1006 });
    vi.advanceTimersByTime(30_000);
    const second = sockets.at(-1);
    expect(second).not.toBe(first.ws);
    second.onmessage({ data: JSON.stringify(delta(5, 4, 2)) }); // a delta of the old sequence: a gap here
    expect(second.sent).toEqual([{ type: "resync" }]);
    second.onmessage({ data: JSON.stringify({ ...SNAPSHOT, seq: 1 }) });
    expect(first.frames.at(-1)).toMatchObject({ type: "snapshot", seq: 1 });
  });
});

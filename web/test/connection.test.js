// The stream's reconnects (connection.js): after a long outage the page reloads once the server
// answers again, whichever way it first notices that — the /healthz probe before a retry, or a new
// WebSocket that delivers a frame. A socket opened just after /healthz failed can reach the restarted
// server (Chrome delays WebSockets after failed ones; a loaded machine stretches the gap); a kiosk
// wall must reload then too (the browser test that restarts the API missed its reload once in CI).
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { connectStream } from "../src/connection.js";

const RELOAD_AFTER_MS = 10_000;
const SNAPSHOT = JSON.stringify({ type: "snapshot", seq: 1, live: { now: 1 } });

describe("connectStream after an outage", () => {
  let sockets;
  let serverUp;
  let reload;
  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    serverUp = false;
    globalThis.WebSocket = class {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        sockets.push(this);
      }
      send() {}
      close() {}
    };
    globalThis.fetch = vi.fn(async () => {
      if (!serverUp) throw new TypeError("Failed to fetch");
      return { ok: true };
    });
    reload = vi.spyOn(window.location, "reload").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    delete globalThis.WebSocket;
    delete globalThis.fetch;
  });

  function connect() {
    const frames = [];
    const states = [];
    connectStream({
      url: "ws://x/api/v1/shops/s/stream?token=t",
      onFrame: (f) => frames.push(f),
      onState: (s) => states.push(s.state),
      onAuthError: () => {},
      reloadAfterMs: RELOAD_AFTER_MS,
    });
    sockets.at(-1).onmessage({ data: SNAPSHOT });
    return { frames, states };
  }

  /** The server is down: every socket opened fails, until the outage has lasted `ms`. */
  async function downFor(ms) {
    sockets.at(-1).onclose({ code: 1012 });
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const before = sockets.length;
      await vi.advanceTimersByTimeAsync(250);
      if (sockets.length > before) sockets.at(-1).onclose({ code: 1006 });
    }
  }

  test("a short outage: the new connection goes live, no reload", async () => {
    const { frames, states } = connect();
    await downFor(2_000);
    serverUp = true;
    const opened = sockets.length;
    while (sockets.length === opened) await vi.advanceTimersByTimeAsync(250); // the next retry
    sockets.at(-1).onmessage({ data: SNAPSHOT });
    expect(states.at(-1)).toBe("live");
    expect(frames).toHaveLength(2);
    expect(reload).not.toHaveBeenCalled();
  });

  test("a long outage: the retry that finds /healthz answering reloads instead of connecting", async () => {
    connect();
    await downFor(RELOAD_AFTER_MS + 1_000);
    const opened = sockets.length;
    serverUp = true;
    await vi.advanceTimersByTimeAsync(25_000);
    expect(reload).toHaveBeenCalledTimes(1);
    expect(sockets).toHaveLength(opened);
  });

  test("a long outage: a socket opened while /healthz still failed reloads on its first frame", async () => {
    const { frames, states } = connect();
    await downFor(RELOAD_AFTER_MS + 1_000);
    const opened = sockets.length;
    // the next retry: /healthz fails, so a socket is opened…
    while (sockets.length === opened) await vi.advanceTimersByTimeAsync(250);
    expect(fetch).toHaveBeenCalled();
    serverUp = true; // …and reaches the server once it is back
    sockets.at(-1).onmessage({ data: SNAPSHOT });
    expect(reload).toHaveBeenCalledTimes(1);
    expect(states.at(-1)).toBe("reloading");
    expect(frames).toHaveLength(1); // the old page shows nothing more
    sockets.at(-1).onmessage({ data: SNAPSHOT });
    expect(frames).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.length).toBe(opened + 1); // and opens nothing more
  });
});

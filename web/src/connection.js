// The live stream: WS /api/v1/shops/{shop}/stream?token=…
// - reconnects by itself with exponential backoff (1 s, 2 s, 4 s … capped at 20 s, ±20 % jitter);
// - no frame for 20 s (heartbeats come at least every 15 s) = a dead connection → reconnect;
// - close code 4401/4403, or a refused handshake while REST says 401/403 → auth error, no retry;
// - after an outage longer than 5 minutes the page reloads itself (fresh assets, fresh state), but
//   only once the server answers again, so a kiosk never lands on a browser error page: /healthz
//   before a retry, or the first frame of a new connection (the server can come back between a
//   failed /healthz and the socket opened after it: Chrome delays WebSockets after failed ones).
// - asks for delta frames (?deltas=1, docs/websocket.md) and hands onFrame whole frames rebuilt from
//   them (frameDelta.js); a gap in the sequence numbers sends {"type": "resync"}, and the snapshot that
//   answers it comes to onFrame as an update. A new connection starts from its own snapshot.

import { deltaReader } from "./frameDelta.js";

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 20000;
const STALE_AFTER_MS = 20000;
const RELOAD_AFTER_MS = 5 * 60 * 1000; // default; ?reload_after_s= on the page URL changes it
const AUTH_CODES = new Set([4401, 4403]);

function withDeltas(url) {
  return url + (url.includes("?") ? "&" : "?") + "deltas=1";
}

/**
 * @param {object} o
 * @param {string} o.url              WebSocket URL
 * @param {(frame: object) => void} o.onFrame
 * @param {(state: object) => void} o.onState   {state: connecting|live|reconnecting|reloading, attempt, retryAt}
 * @param {(status: number) => void} o.onAuthError
 * @param {() => Promise<number>} [o.checkAuth]  resolves to the HTTP status of a REST probe (401/403 = auth)
 * @param {number} [o.reloadAfterMs]  outage after which the page reloads (once the server answers again)
 */
export function connectStream({ url, onFrame, onState, onAuthError, checkAuth, reloadAfterMs = RELOAD_AFTER_MS }) {
  let ws = null;
  let generation = 0;
  let attempt = 0;
  let retryTimer = null;
  let lastFrameAt = 0;
  let outageSince = null;
  let stopped = false;

  const setState = (state, extra = {}) => onState({ state, attempt, ...extra });

  function open() {
    clearTimeout(retryTimer);
    retryTimer = null;
    const gen = ++generation;
    let gotFrame = false;
    setState(outageSince === null && attempt === 0 ? "connecting" : "reconnecting");
    try {
      ws = new WebSocket(withDeltas(url));
    } catch {
      scheduleRetry();
      return;
    }
    lastFrameAt = Date.now();
    const socket = ws;
    const frames = deltaReader(() => {
      if (gen === generation && socket.readyState === 1) socket.send(JSON.stringify({ type: "resync" }));
    });
    ws.onmessage = (event) => {
      if (gen !== generation) return;
      lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!gotFrame) {
        if (outageSince !== null && Date.now() - outageSince > reloadAfterMs) {
          reloadPage();
          return;
        }
        gotFrame = true;
        attempt = 0;
        outageSince = null;
        setState("live");
      }
      const whole = frames.receive(frame);
      if (whole) onFrame(whole);
    };
    ws.onclose = (event) => {
      if (gen !== generation) return;
      ws = null;
      handleClose(event.code, gotFrame);
    };
    ws.onerror = () => {
      // onclose follows with the details
    };
  }

  async function handleClose(code, hadFrames) {
    if (stopped) return;
    if (AUTH_CODES.has(code)) {
      stopped = true;
      onAuthError(code - 4000);
      return;
    }
    if (!hadFrames && checkAuth) {
      // A server that refuses the handshake gives the browser only 1006: ask REST why.
      const status = await checkAuth().catch(() => 0);
      if (status === 401 || status === 403) {
        stopped = true;
        onAuthError(status);
        return;
      }
    }
    scheduleRetry();
  }

  function scheduleRetry() {
    if (stopped || retryTimer) return;
    if (outageSince === null) outageSince = Date.now();
    const delay = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt) * (0.8 + Math.random() * 0.4);
    attempt += 1;
    const retryAt = Date.now() + delay;
    setState("reconnecting", { retryAt });
    retryTimer = setTimeout(async () => {
      retryTimer = null;
      if (Date.now() - outageSince > reloadAfterMs && (await serverUp())) {
        reloadPage();
        return;
      }
      open();
    }, delay);
  }

  function reloadPage() {
    stopped = true;
    generation += 1; // whatever a socket still says is for the page that replaces this one
    setState("reloading");
    location.reload();
  }

  async function serverUp() {
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      return response.ok;
    } catch {
      return false;
    }
  }

  // Dead-connection watchdog: a half-open TCP connection never fires onclose by itself.
  setInterval(() => {
    if (stopped || !ws) return;
    if (Date.now() - lastFrameAt > STALE_AFTER_MS) {
      const dead = ws;
      generation += 1; // ignore whatever the old socket still says
      ws = null;
      try {
        dead.close(4000, "no frame for 20 s");
      } catch {
        // already closing
      }
      scheduleRetry();
    }
  }, 2000);

  // The network came back: do not wait for the rest of the backoff.
  window.addEventListener("online", () => {
    if (!stopped && retryTimer) open();
  });

  open();

  return {
    /** Force a reconnect now (used by tests and by the console's retry button). */
    reconnect() {
      if (!stopped && !ws) open();
    },
  };
}

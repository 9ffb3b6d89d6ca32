// Delta frames (docs/websocket.md): the stream (with ?deltas=1) sends a numbered snapshot, then for each
// frame only what changed since the previous one. This module turns them back into whole frames, so the
// wall and the console get exactly what full frames would have given them. The patch format is the one
// streams/core/frame_delta.py builds (its docstring is the reference); web/test/frameDelta.test.js checks
// this applier against deltas the Python side built.
// No DOM here. Objects a screen was given are never modified: changed parts are new objects,
// unchanged ones are shared.

const DELETE = "$del";
const KEYS = "$keys";
const ROW_KEY = "$key";
const ROWS = "$rows";
const ORDER = "$order";

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** `old` with the object patch applied (a new object; `old` is left as it was). */
export function applyDelta(old, patch) {
  const out = { ...old };
  for (const key of patch[DELETE] ?? []) delete out[key];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DELETE || key === KEYS) continue;
    const before = Object.hasOwn(out, key) ? out[key] : undefined;
    if (isObject(before) && isObject(value)) out[key] = applyDelta(before, value);
    else if (Array.isArray(before) && isObject(value) && Object.hasOwn(value, ROWS)) out[key] = applyRows(before, value);
    else out[key] = value;
  }
  if (patch[KEYS]) return Object.fromEntries(patch[KEYS].map((k) => [k, out[k]]));
  return out;
}

function applyRows(old, patch) {
  const field = patch[ROW_KEY];
  const byId = new Map(old.map((row) => [row[field], row]));
  const changed = patch[ROWS];
  const ids = patch[ORDER] ?? old.map((row) => row[field]);
  return ids.map((id) => {
    const before = byId.get(id);
    const change = Object.hasOwn(changed, id) ? changed[id] : undefined;
    if (before === undefined) return change;
    return change === undefined ? before : applyDelta(before, change);
  });
}

/**
 * One connection's frames in, whole frames out. `receive(frame)` returns what the screen gets:
 * - the first snapshot as it is ({type: "snapshot", ...}), a later snapshot (a resync) as an update;
 * - a delta that follows the frame held: {type: "update", seq, ...the frame with the delta applied};
 * - a delta that does not (a gap in seq, or none held yet): null, and `requestSnapshot()` is called once
 *   until a snapshot comes;
 * - anything else (update, alert, heartbeat) as it is.
 */
export function deltaReader(requestSnapshot) {
  let frame = null; // the frame held, without type and seq
  let seq = null;
  let snapshots = 0;
  let asked = false;
  return {
    receive(message) {
      if (message.type === "snapshot") {
        const { type, seq: n, ...rest } = message; // eslint-disable-line no-unused-vars
        frame = rest;
        seq = n ?? null;
        asked = false;
        snapshots += 1;
        return snapshots === 1 ? message : { ...message, type: "update" };
      }
      if (message.type !== "delta") return message;
      if (seq === null || message.base !== seq) {
        if (!asked) {
          asked = true;
          requestSnapshot();
        }
        return null;
      }
      frame = applyDelta(frame, message.changes);
      seq = message.seq;
      return { type: "update", seq, ...frame };
    },
    get seq() {
      return seq;
    },
  };
}

"""Delta frames: what changed between two of a screen's frames, and how to apply it.

A frame is JSON (objects, lists, scalars). `frame_delta(old, new)` is an *object patch*:

- `{key: value}` for each key added or changed in `new`; when the old and the new value are both
  objects, `value` is their object patch (recursively); when both are row lists (below), `value` is
  their row patch; otherwise it is the new value itself.
- `"$del": [key, ...]`: keys of `old` that `new` no longer has.
- `"$keys": [key, ...]`: every key of `new` in its order, only when that is not the old keys' order
  followed by the added keys (a group that sorts before the others appeared): screens list some
  objects in their order.

A *row list* is a non-empty list of objects that all carry a distinct string `agent_id` (or, failing
that, a distinct string `shop_id`): the agent rows of a frame. Its patch is
`{"$key": "agent_id", "$rows": {id: row patch, or the whole row for an id new to the list},
"$order": [id, ...]}`; `"$order"` appears only when the ids or their order changed (an agent
appeared or left) and lists every id of the new list; rows not named in `"$rows"` are unchanged.

The receiver tells a patch from a value by the old value it holds: an object patch applies to an old
object, a row patch (an object with `"$rows"`) to an old list; anything else replaces the old value.
Frames never have keys that begin with `$`, so the markers cannot collide with figures.

Invariant (tests/unit/test_frame_delta.py, property-style): `apply_delta(old, frame_delta(old, new))`
equals `new`, JSON for JSON. Values compare with `==`, as JSON numbers do in the browser: a field
holds one JSON type in every frame (the catalogue's), so `1` vs `1.0` never hides a change that a
screen could show. web/src/frameDelta.js applies the same patches in the browser.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import orjson

DELETE = "$del"
KEYS = "$keys"
ROW_KEY = "$key"
ROWS = "$rows"
ORDER = "$order"
ROW_ID_FIELDS = ("agent_id", "shop_id")
_MISSING = object()


def row_key(rows: Any) -> str | None:
    """The field that identifies the rows of a row list (None: not a row list)."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return None
    for field in ROW_ID_FIELDS:
        if field in rows[0]:
            try:
                ids = set(map(itemgetter(field), rows))  # (in C: this runs over every row of every frame)
            except (KeyError, TypeError):  # a row without the field, not an object, or an unhashable id
                return None
            if len(ids) == len(rows) and set(map(type, ids)) == {str}:
                return field
            return None
    return None


def frame_delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The object patch that turns `old` into `new` (empty when they are equal)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if before is _MISSING:
            patch[key] = value
        elif before == value:
            continue
        elif isinstance(before, dict) and isinstance(value, dict):
            patch[key] = frame_delta(before, value)
        elif isinstance(before, list) and isinstance(value, list) and (
                (field := row_key(value)) is not None and row_key(before) == field):
            patch[key] = _rows_delta(before, value, field)
        else:
            patch[key] = value
    removed = [key for key in old if key not in new]
    if removed:
        patch[DELETE] = removed
    # Kept keys stay in place and added ones follow them, unless "$keys" gives the order.
    if [key for key in old if key in new] + [key for key in new if key not in old] != list(new):
        patch[KEYS] = list(new)
    return patch


def _rows_delta(old: list[dict[str, Any]], new: list[dict[str, Any]], field: str) -> dict[str, Any]:
    old_by_id = {row[field]: row for row in old}
    rows: dict[str, Any] = {}
    for row in new:
        before = old_by_id.get(row[field])
        if before is None:
            rows[row[field]] = row
        elif before is not row and before != row:  # (the same object: a row the hub's memo reused;
            # dict == in C: the cheap test for the other rows that did not change)
            rows[row[field]] = frame_delta(before, row)
    patch: dict[str, Any] = {ROW_KEY: field, ROWS: rows}
    if [row[field] for row in new] != [row[field] for row in old]:
        patch[ORDER] = [row[field] for row in new]
    return patch


def apply_delta(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`old` with the object patch applied: a new object; `old` is not changed, unchanged parts are shared."""
    out = dict(old)
    for key in patch.get(DELETE, ()):
        out.pop(key, None)
    for key, value in patch.items():
        if key in (DELETE, KEYS):
            continue
        before = out.get(key, _MISSING)
        if isinstance(before, dict) and isinstance(value, dict):
            out[key] = apply_delta(before, value)
        elif isinstance(before, list) and isinstance(value, dict) and ROWS in value:
            out[key] = _apply_rows(before, value)
        else:
            out[key] = value
    if KEYS in patch:
        out = {key: out[key] for key in patch[KEYS]}
    return out


def _apply_rows(old: list[dict[str, Any]], patch: dict[str, Any]) -> list[dict[str, Any]]:
    field = patch[ROW_KEY]
    old_by_id = {row[field]: row for row in old}
    changed = patch[ROWS]
    order = patch.get(ORDER)
    ids = order if order is not None else [row[field] for row in old]
    rows = []
    for row_id in ids:
        before = old_by_id.get(row_id)
        change = changed.get(row_id)
        if before is None:
            rows.append(change)
        elif change is None:
            rows.append(before)
        else:
            rows.append(apply_delta(before, change))
    return rows


class ShopFrames:
    """One shop's frame at one sequence number, in the forms screens take, each encoded (JSON text) at
    most once however many screens get it, and only when one does:

    - `snapshot_text()`: `{"type": "snapshot", "seq": n, ...frame}`, a screen's first frame or resync;
    - `update_text()`: `{"type": "update", "seq": n, ...frame}`, the full frame for screens that did
      not ask for deltas (api.md's update frame, with the optional `seq`);
    - `delta_text()`: `{"type": "delta", "seq": n, "base": n - 1, "changes": patch}`, for screens
      holding frame n - 1; None for the first frame of a stream.

    `ShopFrames.next(previous, frame)` gives the next one; sequence numbers grow by one per frame."""

    __slots__ = ("seq", "frame", "_previous", "_texts")

    def __init__(self, seq: int, frame: dict[str, Any], previous: dict[str, Any] | None) -> None:
        self.seq = seq
        self.frame = frame
        self._previous = previous  # only until the delta is built
        self._texts: dict[str, str | None] = {}

    @classmethod
    def next(cls, previous: ShopFrames | None, frame: dict[str, Any]) -> ShopFrames:
        if previous is None:
            return cls(1, frame, None)
        return cls(previous.seq + 1, frame, previous.frame)

    def snapshot_text(self) -> str:
        return self._text("snapshot")

    def update_text(self) -> str:
        return self._text("update")

    def delta_text(self) -> str | None:
        if "delta" not in self._texts:
            previous, self._previous = self._previous, None
            self._texts["delta"] = None if previous is None else orjson.dumps(
                {"type": "delta", "seq": self.seq, "base": self.seq - 1,
                 "changes": frame_delta(previous, self.frame)}).decode()
        return self._texts["delta"]

    def _text(self, kind: str) -> str:
        text = self._texts.get(kind)
        if text is None:
            text = self._texts[kind] = orjson.dumps({"type": kind, "seq": self.seq, **self.frame}).decode()
        return text

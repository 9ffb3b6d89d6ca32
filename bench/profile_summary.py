"""Summarise a py-spy raw (collapsed) profile: the top functions by inclusive and by self samples.

    .venv/bin/py-spy record -p <worker pid> -d 20 -f raw -o prof.txt
    .venv/bin/python -m bench.profile_summary prof.txt [top]
"""

from __future__ import annotations

import re
import sys
from collections import Counter


def frame_name(frame: str) -> str:
    # "function (path/to/file.py:123)" → "function (file.py)"
    match = re.match(r"(.*?) \((.*?):\d+\)$", frame.strip())
    if not match:
        return frame.strip()
    func, path = match.groups()
    return f"{func} ({path.rsplit('/', 2)[-2] + '/' if '/' in path else ''}{path.rsplit('/', 1)[-1]})"


def summarise(path: str, top: int = 25) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as lines:
        text = lines.read().splitlines()
    for line in text:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25))

"""Runs the Quix Streams peer (bench/peer_quix.py) in its own virtualenv on the bench stack.

The venv (${XDG_CACHE_HOME:-~/.cache}/kefu-pulse/bench-peer-venv) is made on first use with
`pip install -r bench/requirements-peer.txt` (quixstreams 3.28.1 cannot be installed into the project's
venv: it requires pydantic-settings < 2.16, the project pins 2.16.3).

What is timed: K processes in one consumer group read the pre-loaded topics; from the first event
seen by any of them until all N events have passed their per-agent window stage (progress files polled
every 0.1 s). Start-up (topic creation, group join, RocksDB) is outside the timed span.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, BenchStack, say

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kefu-pulse"
PEER_VENV = CACHE / "bench-peer-venv"
REQUIREMENTS = REPO / "bench" / "requirements-peer.txt"


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        return python
    say(f"peer: creating {PEER_VENV} (pip install -r {REQUIREMENTS.relative_to(REPO)})")
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run([str(base), "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                    str(REQUIREMENTS)], check=True, stdout=subprocess.DEVNULL)
    stamp.write_text(REQUIREMENTS.read_text())
    return python


def run_peer(stack: BenchStack, expected: int, processes: int, timeout: float = 600) -> dict[str, Any]:
    python = peer_python()
    work = Path(tempfile.mkdtemp(prefix="bench-quix-", dir=stack.data_dir))
    group = f"bench-quix-{int(time.time() * 1000)}"
    procs = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    try:
        for i in range(processes):
            progress = work / f"progress-{i}.txt"
            log = open(work / f"quix-{i}.log", "wb")  # noqa: SIM115 - closed with the process
            procs.append((subprocess.Popen(
                [str(python), str(REPO / "bench" / "peer_quix.py"), stack.bootstrap, group,
                 str(work / f"state-{i}"), str(progress)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True), progress, log))
        deadline = time.monotonic() + timeout
        last_report = time.monotonic()
        while True:
            firsts, total = [], 0
            for proc, progress, _ in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"Quix process exited ({proc.returncode}):\n"
                                       + (work / "quix-0.log").read_text(errors="replace")[-3000:])
                try:
                    first, done = progress.read_text().split()
                except (OSError, ValueError):
                    continue
                if float(first) > 0:
                    firsts.append(float(first))
                total += int(done)
            now = time.monotonic()
            if total >= expected and firsts:
                elapsed = now - min(firsts)
                break
            if now > deadline:
                raise RuntimeError(f"Quix peer: {total:,} of {expected:,} events after {timeout}s")
            if now - last_report > 10 and firsts:
                say(f"  … Quix: {total:,} / {expected:,} ({total / (now - min(firsts)):,.0f}/s)")
                last_report = now
            time.sleep(0.1)
    finally:
        for proc, _, _log in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _, log in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        shutil.rmtree(work, ignore_errors=True)
    eps = expected / elapsed
    say(f"  Quix Streams, {processes} process(es): {expected:,} events through the per-agent windows in "
        f"{elapsed:.2f}s = {eps:,.0f} events/s")
    return {"processes": processes, "events": expected, "seconds": round(elapsed, 3), "eps": round(eps)}

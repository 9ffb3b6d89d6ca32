"""Shared pieces of the benchmark: the bench stack (deploy/local/stack.sh on its own ports and data dir),
Kafka/Redis helpers, the machine description, progress lines and percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STACK_SH = REPO / "deploy" / "local" / "stack.sh"
PY = sys.executable

INGEST_TOKEN = "bench-ingest"
VIEWER_TOKEN = "bench-viewer"
ADMIN_TOKEN = "bench-admin"

_T0 = time.monotonic()


def say(text: str) -> None:
    """A progress line (stderr, flushed): elapsed time since the benchmark started."""
    sys.stderr.write(f"[bench {time.monotonic() - _T0:6.1f}s] {text}\n")
    sys.stderr.flush()


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def stolen_cpu_s() -> float:
    """CPU seconds (all cores) the hypervisor gave to other guests since boot (/proc/stat "steal"): on a
    shared virtual machine the same code runs up to 2× slower while this grows fast, so the bench reports
    it for each pipeline run and for the whole bench. 0 where the kernel does not count it."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def stolen_share(stolen_s: float, elapsed_s: float) -> float:
    """The share of the machine's cores the hypervisor gave to other guests over `elapsed_s`."""
    return stolen_s / (elapsed_s * (os.cpu_count() or 1)) if elapsed_s > 0 else 0.0


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    java = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20)
        java = (out.stderr or out.stdout).splitlines()[0]
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "java": java,
    }


def percentile(values: Iterable[float], q: float) -> float | None:
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children: not needed here), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class BenchStack:
    """Kafka + Redis (+ workers, API) of the benchmark, through deploy/local/stack.sh.

    Own ports (Kafka 59092/59093, Redis 56379, API 58000; BENCH_*_PORT override them) and data dir
    (/tmp/bench-stack, BENCH_DATA_DIR), so it runs beside a developer's or a test session's stack."""

    def __init__(self, partitions: int = 8) -> None:
        self.data_dir = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/bench-stack"))
        self.kafka_port = int(os.environ.get("BENCH_KAFKA_PORT", "59092"))
        self.redis_port = int(os.environ.get("BENCH_REDIS_PORT", "56379"))
        self.api_port = int(os.environ.get("BENCH_API_PORT", "58000"))
        self.partitions = partitions
        self.env: dict[str, str] = {
            "KEFU_DATA_DIR": str(self.data_dir),
            "KEFU_KAFKA_PORT": str(self.kafka_port),
            "KEFU_KAFKA_CONTROLLER_PORT": str(self.kafka_port + 1),
            "KEFU_REDIS_PORT": str(self.redis_port),
            "KEFU_API_PORT": str(self.api_port),
            "KEFU_API_REPLICAS": "1",
            "KEFU_WORKERS": "2",
            "KEFU_PARTITIONS": str(partitions),
            "KEFU_INGEST_TOKEN": INGEST_TOKEN,
            "KEFU_VIEWER_TOKEN": VIEWER_TOKEN,
            "KEFU_ADMIN_TOKEN": ADMIN_TOKEN,
            "KEFU_CLOCK": "event",
            "KEFU_APP_ID": "kefu-bench",
            "KEFU_LOG_LEVEL": "warn",
        }
        self.started = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def process_env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        base.update(self.env)
        base.update(extra)
        return base

    def stack(self, *args: str, timeout: float = 300, check: bool = True, **extra: str) -> str:
        proc = subprocess.run(["bash", str(STACK_SH), *args], cwd=REPO, env=self.process_env(**extra),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"stack.sh {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        return proc.stdout

    def start(self) -> None:
        for port in (self.kafka_port, self.kafka_port + 1, self.redis_port, self.api_port):
            deadline = time.monotonic() + 20  # these ports are in Linux's ephemeral range: an outgoing
            while not port_free(port) and time.monotonic() < deadline:  # connection may hold one briefly
                time.sleep(0.5)
            if not port_free(port):
                raise RuntimeError(f"port {port} is in use: stop what runs there or set BENCH_*_PORT / "
                                   f"`bash deploy/local/stack.sh down` with KEFU_DATA_DIR={self.data_dir}")
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True)
        (self.data_dir / ".kefu-data-dir").write_text("Kefu Pulse benchmark stack (bench/)\n")
        self.started = True
        self.stack("start-kafka")
        self.stack("start-redis")

    def stop(self) -> None:
        if not self.started:
            return
        self.stack("down", timeout=180, check=False, KEFU_WORKERS="4")
        self.started = False
        if os.environ.get("BENCH_KEEP_DATA") != "1":
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def pid(self, name: str) -> int | None:
        try:
            pid = int((self.data_dir / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def start_workers(self, count: int, **extra: str) -> list[int]:
        for i in range(1, count + 1):
            self.stack("start-worker", str(i), **extra)
        pids = [self.pid(f"worker-{i}") for i in range(1, count + 1)]
        if None in pids:
            raise RuntimeError(f"a worker did not start: {pids}\n{self.log('worker-1')[-2000:]}")
        return [p for p in pids if p is not None]

    def stop_workers(self, count: int) -> None:
        for i in range(1, count + 1):
            self.stack("stop-worker", str(i), check=False)

    def signal_workers(self, count: int, sig: int) -> None:
        for i in range(1, count + 1):
            pid = self.pid(f"worker-{i}")
            if pid is not None:
                os.kill(pid, sig)

    def start_api(self, **extra: str) -> int:
        self.stack("start-api", "1", **extra)
        pid = self.pid("api-1")
        if pid is None:
            raise RuntimeError("the API did not start")
        return pid

    def stop_api(self) -> None:
        self.stack("stop-api", "1", check=False)

    def log(self, name: str) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.is_file() else ""


def quiet_kafka_logs() -> None:
    for name in ("aiokafka", "kafka"):
        logging.getLogger(name).setLevel(logging.ERROR)


async def reset_topics(stack: BenchStack, app_id: str) -> None:
    """Delete the source topics (so a run reads exactly what it pre-loads), then create every topic of
    `app_id` (sources and that app's changelogs), as `python -m streams.kafka` does before a worker."""
    from aiokafka.admin import AIOKafkaAdminClient

    from streams.config import Config
    from streams.core.topics import AGENT_EVENTS, CHAT_EVENTS, DEAD_LETTERS, ORDER_EVENTS
    from streams.kafka import create_topics

    quiet_kafka_logs()
    sources = [CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS, DEAD_LETTERS]
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in sources if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
        deadline = time.monotonic() + 60
        while set(await admin.list_topics()) & set(doomed):
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics {doomed} not deleted after 60 s")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    config = Config(kafka_port=stack.kafka_port, partitions=stack.partitions, app_id=app_id)
    for attempt in range(50):  # a just-deleted topic may still be "marked for deletion" for a moment
        try:
            await create_topics(config)
            break
        except Exception:  # noqa: BLE001 - TopicAlreadyExists/InvalidReplication while deletion completes
            if attempt == 49:
                raise
            await asyncio.sleep(0.3)
    await wait_topics_ready(stack, [CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS])


async def wait_topics_ready(stack: BenchStack, topics: list[str]) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap)
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            await consumer._client.force_metadata_update()
            found = [consumer.partitions_for_topic(t) or set() for t in topics]
            if all(len(p) == stack.partitions for p in found):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics {topics} not ready")
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def wait_group_stable(stack: BenchStack, group: str, members: int, timeout: float = 90) -> None:
    """Until the consumer group is Stable with `members` members (every worker joined and assigned)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):
                [response] = await admin.describe_consumer_groups([group])
                _, _, state, _, _, found = response.groups[0][:6]
                if state == "Stable" and len(found) == members:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"group {group} not Stable with {members} members after {timeout}s")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def produce_records(stack: BenchStack, records: list[tuple[str, int, bytes, bytes]]) -> float:
    """Send pre-encoded (topic, partition, key, value) records (acks=all, idempotent); returns seconds."""
    from streams.kafka import start_producer

    quiet_kafka_logs()
    producer = await start_producer(stack.bootstrap, linger_ms=20, max_batch_size=1_048_576,
                                    max_request_size=8 * 1024 * 1024)
    t0 = time.monotonic()
    try:
        futures = []
        for topic, partition, key, value in records:
            futures.append(await producer.send(topic, value, key=key, partition=partition))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.monotonic() - t0


async def flush_redis(stack: BenchStack) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(stack.redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def stop_signal(pids: list[int], sig: int = signal.SIGSTOP) -> None:
    for pid in pids:
        os.kill(pid, sig)

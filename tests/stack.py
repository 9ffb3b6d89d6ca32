"""A dedicated local stack for the test session: Kafka, Redis, Faust worker(s), alert dispatcher, API replica(s).

`LocalStack().start()` runs `deploy/local/stack.sh up` with its own KEFU_DATA_DIR under /tmp, free
ports (Kafka, its controller, Redis, a block of API ports), fixed tokens ("test-ingest",
"test-viewer", "test-admin"), KEFU_CLOCK=event and KEFU_PARTITIONS=4, so it runs beside a
developer's `make up` stack without touching it. `stop()` runs `stack.sh down`, copies the stack's
logs to tests/artifacts/stack-logs/ and removes the data dir (kept when KEFU_TEST_KEEP_DATA=1).
`LocalStack(redis_cluster=True)` runs a 3-node Redis Cluster instead of one Redis (KEFU_REDIS_CLUSTER=1),
`LocalStack(kafka_brokers=3)` three KRaft brokers (KEFU_KAFKA_BROKERS=3); see deploy/local/stack.sh.

Reusing a running stack: set KEFU_TEST_STACK_URL to its API base URL (e.g. http://127.0.0.1:8000
after `make up`). Then nothing is started or stopped; the ports, data dir and tokens are read from
the KEFU_* environment variables (defaults as in shared/spec/local-stack.md) and, for tokens not set
there, from <data dir>/tokens.env. The control methods (kill_worker, stop_kafka, ...) act on that
stack through stack.sh, so it must be a local one started by stack.sh.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
STACK_SH = REPO / "deploy" / "local" / "stack.sh"
ARTIFACTS = REPO / "tests" / "artifacts"

INGEST_TOKEN = "test-ingest"
VIEWER_TOKEN = "test-viewer"
ADMIN_TOKEN = "test-admin"

# Below Linux's ephemeral range (32768-60999), so an outgoing connection cannot take a chosen port.
_PORT_RANGE = (20000, 32000)


class StackError(RuntimeError):
    pass


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(n: int = 1, taken: set[int] | None = None) -> int:
    """First port of `n` consecutive free ports on 127.0.0.1 (none of them in `taken`)."""
    taken = taken or set()
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1] - n)
        ports = range(base, base + n)
        if not taken.intersection(ports) and all(_port_free(p) for p in ports):
            return base
    raise StackError(f"no block of {n} free ports found in {_PORT_RANGE}")


def _proc_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie not yet reaped by init counts as gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] not in ("Z", "X")
    except OSError:
        return False
    return False


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.startswith("KEFU_"):
                values[key] = value.strip().strip("'\"")
    return values


class LocalStack:
    """A Kefu Pulse stack for tests; see the module docstring."""

    def __init__(
        self,
        workers: int = 1,
        api_replicas: int = 1,
        partitions: int = 4,
        clock: str = "event",
        extra_env: dict[str, str] | None = None,
        timeout: float = 300.0,
        redis_cluster: bool = False,
        kafka_brokers: int = 1,
    ) -> None:
        self.timeout = timeout
        self.reused_url = os.environ.get("KEFU_TEST_STACK_URL", "").rstrip("/")
        self.started = False
        if self.reused_url:
            self._init_reused()
            return
        self.data_dir = Path(tempfile.mkdtemp(prefix="kefu-test-stack-"))
        # Kafka: a broker and a controller port per broker (broker i: kafka + 2(i-1), controller + 1).
        kafka = free_port_block(2 * kafka_brokers)
        taken = set(range(kafka, kafka + 2 * kafka_brokers))
        # Redis: one port, or three client ports and three cluster bus ports for a cluster.
        redis = free_port_block(6 if redis_cluster else 1, taken=taken)
        taken |= set(range(redis, redis + (6 if redis_cluster else 1)))
        api = free_port_block(api_replicas, taken=taken)
        cluster_env = ({"KEFU_REDIS_CLUSTER": "1", "KEFU_REDIS_CLUSTER_BUS_PORT": str(redis + 3)}
                       if redis_cluster else {})
        brokers_env = ({"KEFU_KAFKA_BROKERS": str(kafka_brokers),
                        "KEFU_KAFKA_BOOTSTRAP": ",".join(f"127.0.0.1:{kafka + 2 * i}" for i in range(kafka_brokers))}
                       if kafka_brokers != 1 else {})
        self.env: dict[str, str] = {
            **cluster_env,
            **brokers_env,
            "KEFU_DATA_DIR": str(self.data_dir),
            "KEFU_KAFKA_PORT": str(kafka),
            "KEFU_KAFKA_CONTROLLER_PORT": str(kafka + 1),
            "KEFU_REDIS_PORT": str(redis),
            "KEFU_API_PORT": str(api),
            "KEFU_API_REPLICAS": str(api_replicas),
            "KEFU_WORKERS": str(workers),
            "KEFU_PARTITIONS": str(partitions),
            "KEFU_CLOCK": clock,
            "KEFU_INGEST_TOKEN": INGEST_TOKEN,
            "KEFU_VIEWER_TOKEN": VIEWER_TOKEN,
            "KEFU_ADMIN_TOKEN": ADMIN_TOKEN,
            "KEFU_ALLOW_PRIVATE_WEBHOOKS": "1",
            **(extra_env or {}),
        }

    def _init_reused(self) -> None:
        outer = {k: v for k, v in os.environ.items() if k.startswith("KEFU_") and k != "KEFU_TEST_STACK_URL"}
        data_dir = Path(outer.get("KEFU_DATA_DIR", ".run"))
        self.data_dir = data_dir if data_dir.is_absolute() else REPO / data_dir
        kafka = int(outer.get("KEFU_KAFKA_PORT", "9092"))
        env = {
            "KEFU_DATA_DIR": str(self.data_dir),
            "KEFU_KAFKA_PORT": str(kafka),
            "KEFU_KAFKA_CONTROLLER_PORT": str(kafka + 1),
            "KEFU_REDIS_PORT": "6379",
            "KEFU_API_PORT": str(urlsplit(self.reused_url).port or 80),
            "KEFU_API_REPLICAS": "1",
            "KEFU_WORKERS": "1",
            "KEFU_CLOCK": "wall",
        }
        env.update(_read_env_file(self.data_dir / "tokens.env"))
        env.update(outer)
        self.env = env

    # ------------------------------------------------------------------------------- addresses

    @property
    def reused(self) -> bool:
        return bool(self.reused_url)

    @property
    def api_url(self) -> str:
        """Base URL of API replica 1."""
        return self.reused_url or self.api_url_of(1)

    def api_url_of(self, i: int) -> str:
        """Base URL of API replica `i` (1-based)."""
        if self.reused_url and i == 1:
            return self.reused_url
        return f"http://127.0.0.1:{int(self.env['KEFU_API_PORT']) + i - 1}"

    @property
    def api_urls(self) -> list[str]:
        return [self.api_url_of(i) for i in range(1, int(self.env["KEFU_API_REPLICAS"]) + 1)]

    @property
    def bootstrap(self) -> str:
        return self.env.get("KEFU_KAFKA_BOOTSTRAP") or f"127.0.0.1:{self.env['KEFU_KAFKA_PORT']}"

    @property
    def redis_cluster(self) -> bool:
        return self.env.get("KEFU_REDIS_CLUSTER") == "1"

    def redis_client(self, **options):
        """A synchronous client of this stack's Redis (a RedisCluster on a cluster stack)."""
        import redis
        from redis.cluster import RedisCluster

        if self.redis_cluster:
            return RedisCluster.from_url(self.redis_url.removesuffix("/0"), **options)
        return redis.Redis.from_url(self.redis_url, **options)

    @property
    def redis_url(self) -> str:
        return self.env.get("KEFU_REDIS_URL") or f"redis://127.0.0.1:{self.env['KEFU_REDIS_PORT']}/0"

    @property
    def ingest_token(self) -> str:
        return self.env.get("KEFU_INGEST_TOKEN", "")

    @property
    def viewer_token(self) -> str:
        return self.env.get("KEFU_VIEWER_TOKEN", "")

    @property
    def admin_token(self) -> str:
        return self.env.get("KEFU_ADMIN_TOKEN", "")

    def process_env(self) -> dict[str, str]:
        """os.environ without the caller's KEFU_* variables, plus this stack's (for subprocesses)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        base.update(self.env)
        return base

    # ------------------------------------------------------------------------------- lifecycle

    def _stack(self, *args: str, timeout: float | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            ["bash", str(STACK_SH), *args],
            cwd=REPO,
            env=self.process_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout or self.timeout,
        )
        if check and proc.returncode != 0:
            raise StackError(f"stack.sh {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}")
        return proc.stdout

    def start(self) -> LocalStack:
        if self.reused:
            return self
        try:
            self._stack("up")
        except BaseException:
            with contextlib.suppress(Exception):
                self.stop()
            raise
        self.started = True
        return self

    def stop(self) -> None:
        """Stop everything this stack started and remove its data dir (not for a reused stack)."""
        if self.reused:
            return
        try:
            self._stack("down", timeout=120, check=False)
        finally:
            self.started = False
            self._save_logs()
            if os.environ.get("KEFU_TEST_KEEP_DATA") != "1":
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def _save_logs(self) -> None:
        logs = self.data_dir / "logs"
        if not logs.is_dir():
            return
        dest = ARTIFACTS / "stack-logs"
        with contextlib.suppress(OSError):
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(logs, dest)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------- control

    def status(self) -> str:
        return self._stack("status", check=False)

    def pid(self, name: str) -> int | None:
        """pid of a service ("kafka", "redis", "worker-1", "api-2") when it runs, else None."""
        try:
            pid = int((self.data_dir / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _proc_alive(pid) else None

    def worker_pid(self, i: int) -> int | None:
        return self.pid(f"worker-{i}")

    def log(self, name: str) -> str:
        """Text of logs/<name>.log (e.g. "worker-1", "api-1", "kafka")."""
        path = self.data_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker i (no clean shutdown: tests recovery)."""
        self._stack("kill-worker", str(i))

    def start_worker(self, i: int) -> None:
        self._stack("start-worker", str(i))

    def stop_worker(self, i: int) -> None:
        """SIGTERM worker i (clean shutdown), SIGKILL after 15 s."""
        self._stack("stop-worker", str(i))

    def stop_api(self, i: int) -> None:
        self._stack("stop-api", str(i))

    def start_api(self, i: int) -> None:
        """Start API replica i and wait until its /readyz answers 200."""
        self._stack("start-api", str(i))

    def kill_dispatcher(self) -> None:
        """SIGKILL the alert dispatcher (no clean shutdown: tests that nothing is lost)."""
        self._stack("kill-dispatcher")

    def stop_dispatcher(self) -> None:
        self._stack("stop-dispatcher")

    def start_dispatcher(self) -> None:
        self._stack("start-dispatcher")

    def stop_kafka(self) -> None:
        self._stack("stop-kafka")

    def start_kafka(self) -> None:
        self._stack("start-kafka")

    def kill_broker(self, i: int) -> None:
        """SIGKILL Kafka broker i of a KEFU_KAFKA_BROKERS=3 stack."""
        self._stack("kill-broker", str(i))

    def start_broker(self, i: int) -> None:
        """Start broker i again; returns when all brokers are in the metadata."""
        self._stack("start-broker", str(i))

    def stop_redis(self) -> None:
        self._stack("stop-redis")

    def start_redis(self) -> None:
        self._stack("start-redis")

    def signal(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to a service's process directly (e.g. SIGSTOP/SIGCONT to freeze it)."""
        pid = self.pid(name)
        if pid is None:
            raise StackError(f"{name} is not running")
        os.kill(pid, sig)

    def wait_for(self, predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
        """Poll `predicate()` until it returns a truthy value; returns it or raises after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what} not met within {timeout}s")
            time.sleep(interval)

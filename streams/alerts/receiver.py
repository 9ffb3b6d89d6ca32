"""`python -m streams.alerts.receiver --port 9999 [--secret S]`: a tiny webhook receiver for local use.

Prints every delivery (Idempotency-Key, signature check, duplicate or not, the body) and answers 200.
Point a rule at it (the stack must run with KEFU_ALLOW_PRIVATE_WEBHOOKS=1 for a loopback URL):

    {"rules": [{"id": "wait-60", "kind": "buyer_waiting", "threshold": 60, "scope": "agent",
                "webhooks": [{"url": "http://127.0.0.1:9999/hook", "format": "generic", "secret": "S"}]}]}

The `Receiver` class is what the tests and bench/alerts_latency.py use: it can fail the first N calls,
answer slowly, and records what it received with the wall-clock time of arrival.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from streams.alerts.formats import verify_signature


@dataclass
class Delivery:
    received_at: float  # wall clock, seconds
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what we answered
    signature_ok: bool | None  # None: no secret to check against

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Receiver:
    port: int = 0
    host: str = "127.0.0.1"
    secret: str | None = None
    fail_first: int = 0  # answer `fail_status` to the first N calls
    fail_status: int = 500
    delay_s: float = 0.0  # answer this late
    verbose: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    calls: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.calls += 1
                    failing = receiver.calls <= receiver.fail_first
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver.fail_status if failing else 200
                headers = {k.lower(): v for k, v in self.headers.items()}
                signature_ok = None
                if receiver.secret is not None:
                    signature_ok = verify_signature(receiver.secret, body, headers.get("x-kefu-signature"))
                delivery = Delivery(time.time(), self.path, headers, body, status, signature_ok)
                with receiver._lock:
                    duplicate = status == 200 and delivery.key in receiver.accepted_keys()
                    receiver.deliveries.append(delivery)
                if receiver.verbose:
                    receiver.print_delivery(delivery, duplicate)
                answer = b'{"ok": true}' if status == 200 else b'{"ok": false}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="alert-receiver",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def accepted(self) -> list[Delivery]:
        return [d for d in list(self.deliveries) if d.status == 200]

    def accepted_keys(self) -> list[str | None]:
        return [d.key for d in self.deliveries if d.status == 200]

    def print_delivery(self, delivery: Delivery, duplicate: bool) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(delivery.received_at))
        check = {None: "no secret given", True: "signature OK", False: "SIGNATURE INVALID"}[delivery.signature_ok]
        if delivery.signature_ok is None and "x-kefu-signature" not in delivery.headers:
            check = "unsigned"
        flag = " (duplicate: same Idempotency-Key seen before)" if duplicate else ""
        print(f"[{stamp}] POST {delivery.path} → {delivery.status}  Idempotency-Key: {delivery.key}  {check}{flag}")
        try:
            print(json.dumps(delivery.json, ensure_ascii=False, indent=2))
        except ValueError:
            print(delivery.body[:2000].decode(errors="replace"))
        print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print (and verify) Kefu Pulse webhook deliveries")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", help="the webhook's secret: check X-Kefu-Signature")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 500 to the first N calls (try retries)")
    parser.add_argument("--delay", type=float, default=0.0, help="answer after this many seconds")
    args = parser.parse_args()
    receiver = Receiver(args.port, args.host, args.secret, args.fail_first, delay_s=args.delay, verbose=True)
    receiver.start()
    print(f"listening on {receiver.url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()

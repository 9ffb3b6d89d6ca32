"""Alert rules validation, the webhook URL policy, message formats, signatures and single delivery
attempts against a real HTTP receiver on loopback (no stack needed)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import orjson
import pytest

from streams.alerts.dispatcher import Dispatcher, backoff_s
from streams.alerts.formats import GENERIC_FIELDS, accepted, build_request, signature, verify_signature
from streams.alerts.receiver import Receiver
from streams.alerts.rules import DEFAULT_RULES, InvalidRules, check_url, parse_rules, redact_url
from streams.config import Config

# ---- rules ------------------------------------------------------------------------------------------------


def test_a_full_rule_round_trips_and_missing_fields_take_defaults() -> None:
    doc = {"rules": [{"id": "wait-60", "kind": "buyer_waiting", "threshold": 60, "window_s": 300,
                      "scope": "agent", "severity": "warning",
                      "webhooks": [{"url": "https://hooks.example.com/x", "format": "generic", "secret": "s3"}]},
                     {"id": "sla", "kind": "sla_rate", "threshold": 0.9}]}
    rules = parse_rules(doc)
    assert rules[0].webhooks[0].secret == "s3" and rules[0].for_s == 0 and rules[0].clear_s == 30
    assert (rules[1].scope, rules[1].severity, rules[1].window_s, rules[1].webhooks) == ("agent", "warning", 300, ())
    again = parse_rules({"rules": [r.to_json() for r in rules], "shop_id": "s", "version": 3})
    assert again == rules
    redacted = rules[0].to_json(redact=True)["webhooks"][0]
    assert redacted == {"url": "https://hooks.example.com/…", "format": "generic", "has_secret": True}


def test_default_rules() -> None:
    assert [(r.kind, r.threshold, r.scope, r.window_s, r.webhooks) for r in DEFAULT_RULES] == [
        ("buyer_waiting", 60, "agent", 300, ()), ("sla_rate", 0.9, "team", 900, ())]


def _rule(**kw: Any) -> dict[str, Any]:
    return {"id": "r1", "kind": "buyer_waiting", "threshold": 60, **kw}


@pytest.mark.parametrize(("document", "field"), [
    ([], "(body)"),
    ({"rule": []}, "rule"),
    ({}, "rules"),
    ({"rules": {}}, "rules"),
    ({"rules": [{"kind": "buyer_waiting", "threshold": 1}]}, "rules[0].id"),
    ({"rules": [_rule(id="a:b")]}, "rules[0].id"),
    ({"rules": [_rule(kind="lots_of_buyers")]}, "rules[0].kind"),
    ({"rules": [_rule(threshold="60")]}, "rules[0].threshold"),
    ({"rules": [_rule(threshold=True)]}, "rules[0].threshold"),
    ({"rules": [_rule(threshold=-1)]}, "rules[0].threshold"),
    ({"rules": [_rule(kind="sla_rate", threshold=90)]}, "rules[0].threshold"),
    ({"rules": [_rule(window_s=30)]}, "rules[0].window_s"),
    ({"rules": [_rule(window_s=86_400)]}, "rules[0].window_s"),
    ({"rules": [_rule(scope="group")]}, "rules[0].scope"),
    ({"rules": [_rule(severity="fatal")]}, "rules[0].severity"),
    ({"rules": [_rule(clear_s=-5)]}, "rules[0].clear_s"),
    ({"rules": [_rule(colour="red")]}, "rules[0].colour"),
    ({"rules": [_rule(webhooks={})]}, "rules[0].webhooks"),
    ({"rules": [_rule(webhooks=[{"format": "generic"}])]}, "rules[0].webhooks[0].url"),
    ({"rules": [_rule(webhooks=[{"url": "https://a.example/x", "format": "teams"}])]}, "rules[0].webhooks[0].format"),
    ({"rules": [_rule(webhooks=[{"url": "https://a.example/x", "secret": 5}])]}, "rules[0].webhooks[0].secret"),
    ({"rules": [_rule(webhooks=[{"url": "https://a.example/x", "token": "t"}])]}, "rules[0].webhooks[0].token"),
    ({"rules": [_rule(), _rule(webhooks=[{"url": "https://a.example/x"}, {"url": "http://127.0.0.1/x"}])]},
     "rules[1].webhooks[1].url"),
    ({"rules": [_rule(), _rule()]}, "rules[1].id"),
    ({"rules": [_rule(id=f"r{i}") for i in range(51)]}, "rules"),
])
def test_invalid_rules_name_the_field(document: Any, field: str) -> None:
    with pytest.raises(InvalidRules) as caught:
        parse_rules(document)
    assert caught.value.field == field, caught.value


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9999/hook", "http://localhost/x", "http://api.localhost/x", "http://10.1.2.3/x",
    "http://192.168.1.10/x", "http://172.16.5.4/x", "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/", "http://[::1]/x", "http://[fe80::1]/x",
    "http://[::ffff:127.0.0.1]/x", "http://[fd00::1]/x", "http://0.0.0.0/x", "http://100.64.0.1/x",
    "http://2130706433/x", "http://0x7f.1/x", "http://127.1/x", "http://224.0.0.1/x",
])
def test_private_and_local_addresses_are_refused(url: str) -> None:
    assert check_url(url, allow_private=False) is not None
    assert check_url(url, allow_private=True) is None  # KEFU_ALLOW_PRIVATE_WEBHOOKS=1 (local testing)


@pytest.mark.parametrize("url", [
    "ftp://hooks.example.com/x", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)", "https://",
    "https://user:pw@hooks.example.com/x", "http://hooks.example.com:0/x", "https://hooks.example.com/a b",
    "https://hooks.example.com:99999/x", "", "x" * 3000,
])
def test_malformed_urls_are_refused_even_when_private_ones_are_allowed(url: str) -> None:
    assert check_url(url, allow_private=True) is not None


@pytest.mark.parametrize("url", [
    "https://oapi.dingtalk.com/robot/send?access_token=abc", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    "https://open.feishu.cn/open-apis/bot/v2/hook/abc", "https://hooks.slack.com/services/T/B/X",
    "http://8.8.8.8:8080/hook", "https://[2001:4860:4860::8888]/hook",
])
def test_public_urls_are_accepted(url: str) -> None:
    assert check_url(url, allow_private=False) is None


def test_redacted_urls_keep_only_scheme_host_and_port() -> None:
    assert redact_url("https://oapi.dingtalk.com/robot/send?access_token=secret") == "https://oapi.dingtalk.com/…"
    assert redact_url("http://[::1]:8080/a/b") == "http://[::1]:8080/…"


# ---- formats and signatures -------------------------------------------------------------------------------

ALERT = {"alert_id": "shop-1:wait-60:A:1700000061000", "rule_id": "wait-60", "kind": "buyer_waiting",
         "shop_id": "shop-1", "agent_id": "A", "state": "firing", "value": 61.0, "threshold": 60,
         "severity": "warning", "ts": 1700000061000, "scope": "agent", "window_s": 300,
         "fired_at": 1700000061000, "rules_version": 2}


def test_generic_body_has_exactly_the_api_fields_and_a_valid_signature() -> None:
    request = build_request(ALERT, {"url": "https://h.example/x", "format": "generic", "secret": "s3cr3t"},
                            now_ms=0)
    body = orjson.loads(request.body)
    assert tuple(body) == GENERIC_FIELDS
    assert body == {k: ALERT[k] for k in GENERIC_FIELDS}
    assert request.headers["Idempotency-Key"] == "shop-1:wait-60:A:1700000061000:firing"
    expected = "sha256=" + hmac.new(b"s3cr3t", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Kefu-Signature"] == expected == signature("s3cr3t", request.body)
    assert verify_signature("s3cr3t", request.body, expected)
    assert not verify_signature("other", request.body, expected)
    assert not verify_signature("s3cr3t", request.body + b" ", expected)
    unsigned = build_request(ALERT, {"url": "https://h.example/x", "format": "generic"}, now_ms=0)
    assert "X-Kefu-Signature" not in unsigned.headers
    team = build_request({**ALERT, "agent_id": None, "state": "resolved"}, {"url": "https://h/x"}, now_ms=0)
    assert orjson.loads(team.body)["agent_id"] is None
    assert team.headers["Idempotency-Key"].endswith(":resolved")


def test_dingtalk_markdown_and_signed_url() -> None:
    now = 1700000062000
    request = build_request(ALERT, {"url": "https://oapi.dingtalk.com/robot/send?access_token=t", "format": "dingtalk",
                                    "secret": "SECabc"}, now_ms=now)
    body = orjson.loads(request.body)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "【告警】买家等待过久"
    assert "客服 A" in body["markdown"]["text"] and "61 秒" in body["markdown"]["text"]
    query = parse_qs(urlsplit(request.url).query)
    assert query["access_token"] == ["t"] and query["timestamp"] == [str(now)]
    digest = hmac.new(b"SECabc", f"{now}\nSECabc".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()]
    assert unquote_plus(request.url.split("sign=")[1]) == base64.b64encode(digest).decode()


def test_wecom_feishu_slack_messages() -> None:
    resolved = {**ALERT, "state": "resolved", "value": 0, "kind": "sla_rate", "threshold": 0.9, "agent_id": None}
    wecom = orjson.loads(build_request(resolved, {"url": "https://q/x", "format": "wecom"}, now_ms=0).body)
    assert wecom["msgtype"] == "markdown" and "【恢复】3分钟人工响应率过低" in wecom["markdown"]["content"]
    assert "全体客服" in wecom["markdown"]["content"] and "低于 90.0%" in wecom["markdown"]["content"]
    now = 1700000062000
    feishu = orjson.loads(build_request(ALERT, {"url": "https://f/x", "format": "feishu", "secret": "k"},
                                        now_ms=now).body)
    assert feishu["msg_type"] == "text" and feishu["content"]["text"].startswith("【告警】买家等待过久")
    assert feishu["timestamp"] == str(now // 1000)
    key = f"{now // 1000}\nk".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    slack = orjson.loads(build_request(ALERT, {"url": "https://s/x", "format": "slack"}, now_ms=0).body)
    assert "买家等待过久" in slack["text"] and slack["blocks"][0]["text"]["type"] == "mrkdwn"


def test_platform_answers_with_error_codes_are_failures() -> None:
    assert accepted("generic", 204, b"") == (True, None)
    assert accepted("generic", 500, b"")[0] is False
    assert accepted("dingtalk", 200, b'{"errcode": 0, "errmsg": "ok"}') == (True, None)
    ok, why = accepted("dingtalk", 200, b'{"errcode": 310000, "errmsg": "sign not match"}')
    assert not ok and "310000" in why
    assert accepted("feishu", 200, b'{"code": 19021, "msg": "sign match fail"}')[0] is False
    assert accepted("slack", 200, b"ok") == (True, None)


def test_backoff_grows_with_jitter_and_stays_bounded() -> None:
    for attempt in range(1, 9):
        full = min(120.0, 2 ** (attempt - 1))
        for _ in range(50):
            assert full * 0.5 <= backoff_s(attempt, 1.0, 120.0) <= full
    worst = sum(min(120.0, 2 ** (a - 1)) for a in range(1, Dispatcher.MAX_ATTEMPTS))
    assert worst <= Dispatcher.MAX_AGE_MS / 1000  # 8 attempts fit in the 10-minute bound


# ---- attempts against a real receiver ---------------------------------------------------------------------


class FakeRedis:
    """Records what the dispatcher writes after an attempt (pipelines only)."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, tuple]] = []

    def pipeline(self, transaction: bool = True) -> FakeRedis._Pipe:
        return FakeRedis._Pipe(self)

    class _Pipe:
        def __init__(self, owner: FakeRedis) -> None:
            self.owner, self.ops = owner, []

        def __getattr__(self, name: str) -> Any:
            return lambda *args, **kwargs: self.ops.append((name, args))

        async def execute(self) -> list:
            self.owner.ops += self.ops
            return []

    def records(self) -> list[dict[str, Any]]:
        return [orjson.loads(args[1]) for name, args in self.ops if name == "lpush"]

    async def zadd(self, *args: Any, **kwargs: Any) -> int:
        self.ops.append(("zadd", args))
        return 0

    async def aclose(self) -> None:
        pass


def job(url: str, fmt: str = "generic", secret: str | None = "k", state: str = "firing") -> dict[str, Any]:
    hook = {"url": url, "format": fmt, **({"secret": secret} if secret else {})}
    return {"id": f"{ALERT['alert_id']}:{state}:0", "shop": "shop-1", "alert": {**ALERT, "state": state},
            "webhook": hook, "attempt": 0, "created": int(time.time() * 1000), "timezone": "Asia/Shanghai"}


@contextlib.asynccontextmanager
async def local_dispatcher(allow_private: bool = True) -> AsyncIterator[Dispatcher]:
    d = Dispatcher(Config(allow_private_webhooks=allow_private), redis=FakeRedis())
    try:
        yield d
    finally:
        await d.close()


async def test_attempt_delivers_signed_generic_json() -> None:
    async with local_dispatcher() as dispatcher:
        with Receiver(secret="k") as receiver:
            record = await dispatcher.attempt(job(receiver.url))
            assert record["result"] == "delivered" and record["http_status"] == 200
            (delivery,) = receiver.deliveries
            assert delivery.signature_ok and delivery.key == f"{ALERT['alert_id']}:firing"
            assert delivery.json == {k: ALERT[k] for k in GENERIC_FIELDS}
            assert record["url"] == f"http://127.0.0.1:{receiver.port}/…"  # recorded without the path
        ops = [name for name, _ in dispatcher.redis.ops]
        assert ops == ["hdel", "zrem", "lpush", "ltrim"]  # done: job removed, attempt recorded


async def test_failed_attempt_is_rescheduled_with_backoff_then_delivered() -> None:
    async with local_dispatcher() as dispatcher:
        with Receiver(fail_first=1) as receiver:
            j = job(receiver.url)
            first = await dispatcher.attempt(j)
            assert first["result"] == "retrying" and first["http_status"] == 500 and first["error"] == "HTTP 500"
            assert 500 <= first["next_attempt_at"] - first["ts"] <= 1000
            second = await dispatcher.attempt(j)
            assert second["result"] == "delivered" and second["attempt"] == 2
            assert [d.key for d in receiver.deliveries] == [f"{ALERT['alert_id']}:firing"] * 2  # same logical delivery


@pytest.mark.parametrize(("status", "result"), [(404, "failed"), (410, "failed"), (429, "retrying"),
                                                (408, "retrying"), (503, "retrying")])
async def test_permanent_and_transient_http_errors(status: int, result: str) -> None:
    async with local_dispatcher() as dispatcher:
        with Receiver(fail_first=1, fail_status=status) as receiver:
            assert (await dispatcher.attempt(job(receiver.url)))["result"] == result


async def test_slow_receiver_times_out_and_is_retried() -> None:
    async with local_dispatcher() as dispatcher:
        dispatcher.REQUEST_TIMEOUT_S = 0.3
        with Receiver(delay_s=1.0) as receiver:
            started = time.monotonic()
            record = await dispatcher.attempt(job(receiver.url))
            assert time.monotonic() - started < 1.0
            assert record["result"] == "retrying" and record["http_status"] is None


async def test_dead_receiver_is_retried_then_given_up() -> None:
    async with local_dispatcher() as dispatcher:
        with Receiver() as receiver:
            url = receiver.url
        j = job(url)
        for attempt in range(1, Dispatcher.MAX_ATTEMPTS):
            assert (await dispatcher.attempt(j))["result"] == "retrying", attempt
        last = await dispatcher.attempt(j)
        assert last["result"] == "failed" and last["attempt"] == Dispatcher.MAX_ATTEMPTS


async def test_private_destination_refused_without_the_local_switch() -> None:
    async with local_dispatcher(allow_private=False) as strict:
        with Receiver() as receiver:
            record = await strict.attempt(job(receiver.url))
            assert record["result"] == "failed" and record["error"].startswith("refused")
            assert receiver.deliveries == []
            assert (await strict.destination_problem("http://localhost:1/x") or "").startswith("refused")


async def test_a_slow_receiver_never_delays_another() -> None:
    async with local_dispatcher() as dispatcher:
        dispatcher.REQUEST_TIMEOUT_S = 5.0
        with Receiver(delay_s=3.0) as slow, Receiver() as fast:
            for i in range(3):
                dispatcher.enqueue({**job(slow.url), "id": f"slow-{i}"})
            started = time.monotonic()
            dispatcher.enqueue({**job(fast.url), "id": "fast-0"})
            dispatcher.enqueue({**job(fast.url), "id": "fast-1"})
            while len(fast.deliveries) < 2 and time.monotonic() - started < 5:
                await asyncio.sleep(0.01)
            assert len(fast.deliveries) == 2 and time.monotonic() - started < 1.0
            assert len(slow.deliveries) == 0  # still busy with the first

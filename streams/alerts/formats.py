"""Webhook requests: the generic JSON of api.md and the chat platforms' incoming-webhook messages.

- generic   exactly the api.md fields; `Idempotency-Key: <alert_id>:<state>`; with a secret,
            `X-Kefu-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
- dingtalk  钉钉自定义机器人: {"msgtype": "markdown", "markdown": {"title", "text"}}; with a secret, 加签:
            `&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret, "<ms>\\n<secret>")>` on the URL.
- wecom     企业微信群机器人: {"msgtype": "markdown", "markdown": {"content"}} (no signing: the key is the URL).
- feishu    飞书自定义机器人: {"msg_type": "text", "content": {"text"}}; with a secret, "timestamp" (s) and
            "sign" = base64 HMAC-SHA256(key="<s>\\n<secret>", message="") in the body.
- slack     incoming webhook: {"text", "blocks": [mrkdwn section]}.
Every request carries the Idempotency-Key header. The text is Chinese first (the screens' language).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import orjson

GENERIC_FIELDS = ("alert_id", "rule_id", "kind", "shop_id", "agent_id", "state", "value", "threshold", "severity",
                  "ts")
KIND_NAMES = {  # the screens' wording (web/src/i18n.js alert_kind_*; tests/unit/test_alert_wording.py)
    "buyer_waiting": "买家等待过久",
    "slow_response": "慢响应",
    "avg_response": "平均响应时长过高",
    "sla_rate": "3分钟人工响应率过低",
    "waiting_buyers": "排队人数过多",
    "active_conversations": "接待量过高",
    "queue_waiting": "转人工排队人数过多",
    "queue_wait": "转人工排队过久",
    "agent_away": "挂起过久",
    "staffing": "人手不足",
}
SEVERITY_NAMES = {"info": "提示", "warning": "警告", "critical": "严重"}
STATE_NAMES = {"firing": "告警", "resolved": "恢复"}


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(signature(secret, body), header)


def idempotency_key(alert: dict[str, Any]) -> str:
    return f"{alert['alert_id']}:{alert['state']}"


def generic_payload(alert: dict[str, Any]) -> dict[str, Any]:
    return {name: alert.get(name) for name in GENERIC_FIELDS}


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def describe_value(kind: str, value: Any) -> str:
    if value is None:
        return "无数据"
    if kind == "sla_rate":
        return f"{value * 100:.1f}%"
    if kind in ("buyer_waiting", "avg_response", "queue_wait", "agent_away"):
        return f"{_number(value)} 秒"
    if kind == "slow_response":
        return f"{value} 次"
    return f"{value} 人"


def describe_threshold(kind: str, threshold: Any, window_s: Any) -> str:
    minutes = f"{_number((window_s or 0) / 60)} 分钟" if window_s else ""
    if kind == "sla_rate":
        return f"低于 {threshold * 100:.1f}%(最近 {minutes})"
    if kind == "buyer_waiting":
        return f"超过 {_number(threshold)} 秒未获人工回复"
    if kind == "avg_response":
        return f"高于 {_number(threshold)} 秒(最近 {minutes})"
    if kind == "slow_response":
        return f"有响应慢于 {_number(threshold)} 秒(最近 {minutes})"
    if kind == "queue_wait":
        return f"排队超过 {_number(threshold)} 秒未转入人工"
    if kind == "agent_away":
        return f"挂起超过 {_number(threshold)} 秒且有买家等待"
    if kind == "staffing":
        return f"需增派超过 {_number(threshold)} 人"
    return f"超过 {_number(threshold)} 人"


def local_time(ts_ms: int, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except Exception:
        zone = ZoneInfo("Asia/Shanghai")
    return datetime.fromtimestamp(ts_ms / 1000, zone).strftime("%Y-%m-%d %H:%M:%S")


def message_lines(alert: dict[str, Any], timezone: str) -> tuple[str, list[tuple[str, str]]]:
    """(title, [(label, text)]) of a chat message."""
    kind = alert["kind"]
    state = STATE_NAMES.get(alert["state"], alert["state"])
    title = f"【{state}】{KIND_NAMES.get(kind, kind)}"
    if alert.get("agent_id") is not None:
        subject = f"客服 {alert['agent_id']}"
    elif alert.get("group") is not None:
        subject = f"分组 {alert['group']}"
    else:
        subject = "全体客服(团队)"
    lines = [
        ("店铺", str(alert["shop_id"])),
        ("对象", subject),
        ("当前值", describe_value(kind, alert.get("value"))),
        ("条件", describe_threshold(kind, alert.get("threshold"), alert.get("window_s"))),
        ("级别", SEVERITY_NAMES.get(alert.get("severity", ""), str(alert.get("severity")))),
        ("时间", local_time(int(alert["ts"]), timezone)),
        ("规则", str(alert["rule_id"])),
        ("告警ID", str(alert["alert_id"])),
    ]
    return title, lines


def build_request(alert: dict[str, Any], webhook: dict[str, Any], *, timezone: str = "Asia/Shanghai",
                  now_ms: int) -> Request:
    """The POST for one alert transition and one webhook ({url, format, secret?})."""
    fmt = webhook.get("format", "generic")
    secret = webhook.get("secret")
    url = webhook["url"]
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key(alert),
               "User-Agent": "kefu-pulse-alerts/1"}
    if fmt == "generic":
        body = orjson.dumps(generic_payload(alert))
        if secret:
            headers["X-Kefu-Signature"] = signature(secret, body)
        return Request(url, body, headers)
    title, lines = message_lines(alert, timezone)
    if fmt == "dingtalk":
        text = f"#### {title}\n\n" + "\n\n".join(f"- **{label}**: {value}" for label, value in lines)
        body = orjson.dumps({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
        if secret:
            string_to_sign = f"{now_ms}\n{secret}".encode()
            sign = base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()
            url = f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={quote_plus(sign)}"
        return Request(url, body, headers)
    if fmt == "wecom":
        color = "warning" if alert["state"] == "firing" else "info"
        content = f'### <font color="{color}">{title}</font>\n' + "\n".join(
            f"> {label}: {value}" for label, value in lines)
        return Request(url, orjson.dumps({"msgtype": "markdown", "markdown": {"content": content}}), headers)
    if fmt == "feishu":
        text = title + "\n" + "\n".join(f"{label}: {value}" for label, value in lines)
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            timestamp = str(now_ms // 1000)
            key = f"{timestamp}\n{secret}".encode()
            payload["timestamp"] = timestamp
            payload["sign"] = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return Request(url, orjson.dumps(payload), headers)
    if fmt == "slack":
        text = f"*{title}*\n" + "\n".join(f"*{label}*: {value}" for label, value in lines)
        payload = {"text": f"{title} · {alert['shop_id']}",
                   "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
        return Request(url, orjson.dumps(payload), headers)
    raise ValueError(f"unknown webhook format {fmt!r}")


def accepted(fmt: str, status: int, body: bytes) -> tuple[bool, str | None]:
    """Did the receiver take the message? The chat platforms answer 200 with an error code inside."""
    if not 200 <= status < 300:
        return False, f"HTTP {status}"
    if fmt in ("dingtalk", "wecom", "feishu"):
        try:
            answer = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return True, None
        if isinstance(answer, dict):
            code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
            if code not in (0, None):
                message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
                return False, f"{fmt} error {code}: {str(message)[:200]}"
    return True, None

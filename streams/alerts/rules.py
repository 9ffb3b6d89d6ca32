"""Alert rules: the document of `PUT /api/v1/shops/{shop}/alert-rules`, strictly validated.

A rule (api.md; `for_s` and `clear_s` are this project's optional additions, see docs/alerts.md):

    {"id": "wait-60", "kind": "buyer_waiting", "threshold": 60, "window_s": 300, "scope": "agent",
     "severity": "warning", "for_s": 0, "clear_s": 30,
     "webhooks": [{"url": "https://hooks.example/x", "format": "generic", "secret": "…"}]}

Every error names the field (`rules[0].webhooks[1].url`) and the rule broken. Webhook URLs must be
http(s) and, unless `KEFU_ALLOW_PRIVATE_WEBHOOKS=1`, must not point at loopback, private, link-local
(cloud metadata 169.254.169.254 included), shared, multicast or reserved addresses; the dispatcher
checks the resolved addresses again before every POST.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streams.core.errors import Invalid

KINDS = ("buyer_waiting", "slow_response", "avg_response", "sla_rate", "waiting_buyers", "active_conversations",
         "queue_waiting", "queue_wait", "agent_away", "staffing")
# judged on the live facts at "now"
LIVE_KINDS = ("buyer_waiting", "waiting_buyers", "active_conversations", "queue_waiting", "queue_wait", "agent_away")
WINDOW_KINDS = ("slow_response", "avg_response", "sla_rate")  # judged on the minute buckets of window_s
FORMATS = ("generic", "dingtalk", "wecom", "feishu", "slack")
SCOPES = ("agent", "team", "group")
# The scopes each kind accepts, the first being its default (api.md: the queue belongs to nobody, so
# the queue kinds are team only; the staffing now-cast is per group, or summed over the groups).
KIND_SCOPES: dict[str, tuple[str, ...]] = {
    **{kind: ("agent", "team") for kind in KINDS},
    "queue_waiting": ("team",),
    "queue_wait": ("team",),
    "staffing": ("group", "team"),
}
SEVERITIES = ("info", "warning", "critical")

RULE_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # no ':' — alert ids are "{shop}:{rule}:{subject}:{ms}"
MAX_RULES = 50
MAX_WEBHOOKS = 10
MAX_URL_LENGTH = 2048
MAX_SECRET_LENGTH = 256
WINDOW_RANGE_S = (60, 3600)  # minute buckets: whole minutes, at most the sliding hour of /series
HOLD_RANGE_S = (0, 3600)
DEFAULT_WINDOW_S = 300
DEFAULT_FOR_S = 0
DEFAULT_CLEAR_S = 30
BLOCKED_HOSTNAMES = ("localhost", "metadata", "metadata.google.internal", "instance-data")
RULE_FIELDS = ("id", "kind", "threshold", "window_s", "scope", "severity", "for_s", "clear_s", "webhooks")
WEBHOOK_FIELDS = ("url", "format", "secret")


class InvalidRules(Invalid):
    """Alert rules that break a rule of their contract (the shop cannot save them)."""


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "generic"
    secret: str | None = None

    def to_json(self, *, redact: bool = False) -> dict[str, Any]:
        if redact:
            return {"url": redact_url(self.url), "format": self.format, "has_secret": self.secret is not None}
        data: dict[str, Any] = {"url": self.url, "format": self.format}
        if self.secret is not None:
            data["secret"] = self.secret
        return data


@dataclass(frozen=True)
class AlertRule:
    id: str
    kind: str
    threshold: float
    window_s: float = DEFAULT_WINDOW_S
    scope: str = "agent"
    severity: str = "warning"
    for_s: float = DEFAULT_FOR_S  # the condition must hold this long (shop clock) before it fires
    clear_s: float = DEFAULT_CLEAR_S  # ... and be clear this long before a firing alert resolves
    webhooks: tuple[Webhook, ...] = field(default_factory=tuple)

    def to_json(self, *, redact: bool = False) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "threshold": self.threshold, "window_s": self.window_s,
            "scope": self.scope, "severity": self.severity, "for_s": self.for_s, "clear_s": self.clear_s,
            "webhooks": [w.to_json(redact=redact) for w in self.webhooks],
        }


DEFAULT_RULES: tuple[AlertRule, ...] = (
    # A buyer has waited more than a minute for a human reply (per agent).
    AlertRule("default-buyer-waiting", "buyer_waiting", 60, window_s=300, scope="agent", severity="warning"),
    # The team's 3-minute response rate of the last 15 minutes is under 90 % (Tmall's target).
    AlertRule("default-sla-rate", "sla_rate", 0.9, window_s=900, scope="team", severity="warning"),
)


def rules_to_json(rules: tuple[AlertRule, ...] | list[AlertRule], *, redact: bool = False) -> list[dict[str, Any]]:
    return [rule.to_json(redact=redact) for rule in rules]


def redact_url(url: str) -> str:
    """What a viewer may see of a webhook URL: scheme and host (tokens live in paths and queries)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


# ---- URL policy ------------------------------------------------------------------------------------


def address_allowed(address: str) -> bool:
    """A public unicast address (not loopback, private, link-local/metadata, shared, reserved, multicast)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    """The address a host names literally, including the legacy IPv4 forms (2130706433, 127.1, 0x7f.1)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host) and not host.endswith("."):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: Any, allow_private: bool) -> str | None:
    """None when the webhook URL is acceptable, else the rule it breaks."""
    if not isinstance(url, str) or not url:
        return "must be a URL string"
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (user:password@); use the secret"
    if port == 0:
        return "must not use port 0"
    if allow_private:
        return None
    literal = literal_address(host)
    if literal is not None:
        if not address_allowed(literal):
            return "must not point at a loopback, private, link-local or reserved address"
        return None
    lowered = host.lower()
    if lowered in BLOCKED_HOSTNAMES or lowered.endswith(".localhost"):
        return "must not point at this machine or a metadata service"
    return None


# ---- parsing ---------------------------------------------------------------------------------------


def _number(value: Any, where: str, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidRules(where, "must be a number")
    if value < low or (high is not None and value > high):
        raise InvalidRules(where, f"must be between {low} and {high}" if high is not None else f"must be ≥ {low}")
    return value


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidRules(where, f"must be one of {', '.join(choices)}")
    return value


def parse_webhook(data: Any, where: str, allow_private: bool) -> Webhook:
    if not isinstance(data, dict):
        raise InvalidRules(where, "must be an object {url, format, secret?}")
    for name in data:
        if name not in WEBHOOK_FIELDS:
            raise InvalidRules(f"{where}.{name}", "is not a webhook field (url, format, secret)")
    if "url" not in data:
        raise InvalidRules(f"{where}.url", "is required")
    problem = check_url(data["url"], allow_private)
    if problem:
        raise InvalidRules(f"{where}.url", problem)
    fmt = _choice(data.get("format", "generic"), f"{where}.format", FORMATS)
    secret = data.get("secret")
    if secret is not None and (not isinstance(secret, str) or not 1 <= len(secret) <= MAX_SECRET_LENGTH):
        raise InvalidRules(f"{where}.secret", f"must be a string of 1–{MAX_SECRET_LENGTH} characters")
    return Webhook(data["url"], fmt, secret)


def parse_rule(data: Any, where: str, allow_private: bool) -> AlertRule:
    if not isinstance(data, dict):
        raise InvalidRules(where, "must be an object")
    for name in data:
        if name not in RULE_FIELDS:
            raise InvalidRules(f"{where}.{name}", f"is not a rule field ({', '.join(RULE_FIELDS)})")
    for name in ("id", "kind", "threshold"):
        if name not in data:
            raise InvalidRules(f"{where}.{name}", "is required")
    rule_id = data["id"]
    if not isinstance(rule_id, str) or not RULE_ID_RE.fullmatch(rule_id):
        raise InvalidRules(f"{where}.id", "must be 1–64 characters of A-Z a-z 0-9 _ . -")
    kind = _choice(data["kind"], f"{where}.kind", KINDS)
    if kind == "sla_rate":
        threshold = _number(data["threshold"], f"{where}.threshold", 0, 1)
    else:
        threshold = _number(data["threshold"], f"{where}.threshold", 0, 10**9)
    window_s = _number(data.get("window_s", DEFAULT_WINDOW_S), f"{where}.window_s", *WINDOW_RANGE_S)
    scope = _choice(data.get("scope", KIND_SCOPES[kind][0]), f"{where}.scope", KIND_SCOPES[kind])
    severity = _choice(data.get("severity", "warning"), f"{where}.severity", SEVERITIES)
    for_s = _number(data.get("for_s", DEFAULT_FOR_S), f"{where}.for_s", *HOLD_RANGE_S)
    clear_s = _number(data.get("clear_s", DEFAULT_CLEAR_S), f"{where}.clear_s", *HOLD_RANGE_S)
    hooks = data.get("webhooks", [])
    if not isinstance(hooks, list):
        raise InvalidRules(f"{where}.webhooks", "must be a list")
    if len(hooks) > MAX_WEBHOOKS:
        raise InvalidRules(f"{where}.webhooks", f"at most {MAX_WEBHOOKS} webhooks per rule")
    webhooks = tuple(parse_webhook(h, f"{where}.webhooks[{i}]", allow_private) for i, h in enumerate(hooks))
    return AlertRule(rule_id, kind, threshold, window_s, scope, severity, for_s, clear_s, webhooks)


def parse_rules(document: Any, *, allow_private: bool = False) -> tuple[AlertRule, ...]:
    """Validate `{"rules": [...]}` (a GET answer may be sent back as is: shop_id/version/default ignored)."""
    if not isinstance(document, dict):
        raise InvalidRules("(body)", 'must be a JSON object {"rules": [...]}')
    for name in document:
        if name not in ("rules", "shop_id", "version", "default"):
            raise InvalidRules(name, 'is not a field of the document (expected {"rules": [...]})')
    if "rules" not in document:
        raise InvalidRules("rules", "is required")
    items = document["rules"]
    if not isinstance(items, list):
        raise InvalidRules("rules", "must be a list")
    if len(items) > MAX_RULES:
        raise InvalidRules("rules", f"at most {MAX_RULES} rules")
    rules = tuple(parse_rule(item, f"rules[{i}]", allow_private) for i, item in enumerate(items))
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise InvalidRules(f"rules[{i}].id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    return rules


def load_stored_rules(document: Any) -> tuple[AlertRule, ...]:
    """A stored document (already validated when it was PUT): no URL policy applied again here."""
    return parse_rules(document, allow_private=True)

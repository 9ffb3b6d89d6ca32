"""Tokens and roles: ingest, viewer, admin (admin reads too). Compared in constant time, never logged.

Tokens come from configuration: KEFU_INGEST_TOKEN / KEFU_VIEWER_TOKEN / KEFU_ADMIN_TOKEN (valid for
every shop; local and test use) and KEFU_TOKENS_FILE, a JSON file
`{"tokens": [{"token": "...", "role": "viewer", "shops": ["shop-a", "shop-b"]}]}`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

import orjson
from fastapi import Request

from api.errors import ApiError
from streams.config import Config

ROLES = ("ingest", "viewer", "admin")
ALL_SHOPS = "*"


@dataclass(frozen=True)
class Grant:
    token: str
    role: str
    shops: frozenset[str]

    def allows(self, shop_id: str) -> bool:
        return ALL_SHOPS in self.shops or shop_id in self.shops


class Tokens:
    def __init__(self, grants: list[Grant]) -> None:
        self.grants = grants

    @classmethod
    def from_config(cls, config: Config) -> Tokens:
        grants = [
            Grant(token, role, frozenset({ALL_SHOPS}))
            for role, token in (
                ("ingest", config.ingest_token),
                ("viewer", config.viewer_token),
                ("admin", config.admin_token),
            )
            if token
        ]
        if config.tokens_file:
            for entry in orjson.loads(Path(config.tokens_file).read_bytes())["tokens"]:
                if entry["role"] not in ROLES:
                    raise ValueError(f"{config.tokens_file}: unknown role {entry['role']!r}")
                grants.append(Grant(entry["token"], entry["role"], frozenset(entry["shops"])))
        return cls(grants)

    def lookup(self, token: str) -> list[Grant]:
        # Compare against every grant (no early exit) so timing says nothing about which matched.
        matches = []
        for grant in self.grants:
            if hmac.compare_digest(grant.token.encode(), token.encode()):
                matches.append(grant)
        return matches


def token_of(request_headers: dict[str, str] | object, query_token: str | None) -> str | None:
    header = getattr(request_headers, "get", lambda _k, _d=None: None)("authorization")
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return query_token


def grants_of(tokens: Tokens, token: str | None) -> list[Grant]:
    """The token's grants; 401 when the token is missing or unknown."""
    if not token:
        raise ApiError(401, "missing token: send Authorization: Bearer <token> (or ?token= on pages)")
    grants = tokens.lookup(token)
    if not grants:
        raise ApiError(401, "invalid token")
    return grants


def authorize(tokens: Tokens, token: str | None, shop_id: str, roles: tuple[str, ...]) -> None:
    """401 when the token is missing or unknown; 403 when it does not give one of `roles` on the shop."""
    grants = grants_of(tokens, token)
    if not any(g.role in roles and g.allows(shop_id) for g in grants):
        raise ApiError(
            403, f"this token may not {'read' if 'viewer' in roles else 'do this for'} shop {shop_id!r}"
        )


def request_token(request: Request) -> str | None:
    return token_of(request.headers, request.query_params.get("token"))


VIEW_ROLES = ("viewer", "admin")
ADMIN_ROLES = ("admin",)

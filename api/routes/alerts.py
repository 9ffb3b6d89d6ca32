"""Alert rules (GET viewer, PUT admin), recent alerts and delivery attempts (api.md, docs/alerts.md)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Query, Request

from api.auth import request_token
from api.deps import AdminDep, StateDep, ViewerDep
from api.errors import AUTHORIZED_ERRORS, ApiError, error_responses
from api.responses import JsonResponse
from api.state import AppState
from streams.alerts.rules import InvalidRules, parse_rules, rules_to_json
from streams.alerts.store import (
    current_rules_version,
    load_rules,
    put_rules,
    read_state,
    recent_alerts,
    recent_deliveries,
)

router = APIRouter(prefix="/api/v1/shops/{shop_id}", tags=["alerts"], default_response_class=JsonResponse,
                   responses=error_responses(*AUTHORIZED_ERRORS))


def is_admin(request: Request, state: AppState, shop_id: str) -> bool:
    token = request_token(request)
    return bool(token) and any(g.role == "admin" and g.allows(shop_id) for g in state.tokens.lookup(token))


async def rules_payload(state: AppState, shop_id: str, *, redact: bool) -> dict[str, Any]:
    version = await current_rules_version(state.redis, shop_id)
    rules = await load_rules(state.redis, shop_id, version)
    return {"shop_id": shop_id, "version": version, "default": version == 0,
            "rules": rules_to_json(rules, redact=redact)}


@router.get("/alert-rules", summary="The shop's alert rules (webhook URLs and secrets only for admins)")
async def get_alert_rules(request: Request, shop_id: ViewerDep, state: StateDep):
    return await rules_payload(state, shop_id, redact=not is_admin(request, state, shop_id))


@router.put(
    "/alert-rules",
    summary="Replace the shop's alert rules (admin); in force for the next evaluation after the answer",
)
async def put_alert_rules(request: Request, shop_id: AdminDep, state: StateDep):
    try:
        document = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}", "malformed_json") from None
    try:
        rules = parse_rules(document, allow_private=state.config.allow_private_webhooks)
    except InvalidRules as exc:
        raise ApiError(422, f"{exc.field}: {exc.error}", field=exc.field) from None
    await put_rules(state.redis, shop_id, rules)
    return await rules_payload(state, shop_id, redact=False)


@router.get("/alerts", summary="Recent alert transitions (firing/resolved), newest first; and what fires now")
async def get_alerts(shop_id: ViewerDep, state: StateDep, limit: int = Query(100, ge=1, le=500)):
    alert_state = await read_state(state.redis, shop_id)
    firing = [
        {"alert_id": entry["alert_id"], "rule_id": rule_id, "kind": entry["kind"], "shop_id": shop_id,
         "agent_id": subject if entry["scope"] == "agent" else None, "state": "firing", "value": entry.get("value"),
         "threshold": entry["threshold"], "severity": entry["severity"], "ts": entry["fired_at"],
         "group": subject if entry["scope"] == "group" else None}
        for rule_id, entries in alert_state.get("firing", {}).items() for subject, entry in entries.items()
    ]
    firing.sort(key=lambda a: a["ts"], reverse=True)
    return {"shop_id": shop_id, "alerts": await recent_alerts(state.redis, shop_id, limit), "firing": firing}


@router.get("/alert-deliveries", summary="Recent webhook delivery attempts, newest first")
async def get_alert_deliveries(shop_id: ViewerDep, state: StateDep, limit: int = Query(100, ge=1, le=500)):
    return {"shop_id": shop_id, "deliveries": await recent_deliveries(state.redis, shop_id, limit)}

"""Tenant isolation on every route (found automatically, so a new route cannot forget it), roles,
rate limit, security headers. In-process: auth is decided before any Kafka or Redis access."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.main import create_app
from streams.config import Config

TOKENS = {"viewer-a": ("viewer", ["shop-a"]), "admin-a": ("admin", ["shop-a"]), "ingest-a": ("ingest", ["shop-a"]),
          "viewer-ab": ("viewer", ["shop-a", "shop-b"])}
SET_PREFIX = "/api/v1/shop-set"  # a set of shops (the multi-shop wall): ?shops=a,b


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tokens_file = Path(tmp_path_factory.mktemp("tokens")) / "tokens.json"
    tokens_file.write_text(json.dumps({"tokens": [{"token": t, "role": r, "shops": s}
                                                  for t, (r, s) in TOKENS.items()]}))
    # Nothing listens on these ports: every answer below must come before any Kafka/Redis access.
    config = Config(tokens_file=str(tokens_file), kafka_port=1, redis_port=1, ingest_rate_per_token=5,
                    ingest_burst_per_token=10)
    with TestClient(create_app(config), raise_server_exceptions=False) as test_client:
        yield test_client


def shop_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every published HTTP route of a shop, from the OpenAPI document."""
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, methods in paths.items() if "{shop_id}" in path for method in methods]


def websocket_paths(routes: list) -> list[str]:
    found = []
    for route in routes:
        if isinstance(route, APIWebSocketRoute):
            found.append(route.path)
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps them wrapped)
            prefix = getattr(route, "include_context", None)
            found += [getattr(prefix, "prefix", "") + p for p in websocket_paths(route.original_router.routes)]
    return found


def test_every_shop_route_is_found(client: TestClient) -> None:
    paths = {path for _, path in shop_routes(client)}
    for expected in ("agents", "summary", "live", "series", "lag", "settings", "unpaid-orders", "progress", "period"):
        assert f"/api/v1/shops/{{shop_id}}/{expected}" in paths


def test_a_viewer_of_shop_a_gets_403_on_every_route_of_shop_b(client: TestClient) -> None:
    for method, path in shop_routes(client):
        url = path.replace("{shop_id}", "shop-b")
        for token in ("viewer-a", "admin-a", "ingest-a"):
            response = client.request(method, url, headers={"Authorization": f"Bearer {token}"}, json={})
            assert response.status_code == 403, (method, url, token, response.text)
            assert response.json()["error"] == "forbidden"
        assert client.request(method, url).status_code == 401, (method, url)
        assert client.request(method, url, params={"token": "viewer-a"}).status_code == 403, (method, url)


def test_websockets_refuse_other_shops(client: TestClient) -> None:
    ws_routes = websocket_paths(client.app.routes)
    assert sorted(ws_routes) == [f"{SET_PREFIX}/stream", "/api/v1/shops/{shop_id}/stream"]
    for path in (p for p in ws_routes if "{shop_id}" in p):
        for token, code in (("viewer-a", 4403), ("nope", 4401)):
            with pytest.raises(WebSocketDisconnect) as closed, \
                    client.websocket_connect(path.replace("{shop_id}", "shop-b") + f"?token={token}") as ws:
                ws.receive_text()
            assert closed.value.code == code


def set_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every published HTTP route of a set of shops (a `shops` query parameter), from the OpenAPI document."""
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, methods in paths.items() for method, op in methods.items()
            if any(p["name"] == "shops" for p in op.get("parameters", []))]


def test_a_set_with_a_shop_the_token_does_not_hold_is_refused_whole(client: TestClient) -> None:
    routes = set_routes(client)
    assert ("GET", SET_PREFIX) in routes
    refused = [("viewer-ab", "shop-a,shop-c"), ("viewer-ab", "shop-c"), ("viewer-a", "shop-a,shop-b"),
               ("admin-a", "shop-b,shop-a"), ("ingest-a", "shop-a"), ("ingest-a", None)]
    for method, path in routes:
        for token, shops in refused:
            params = {"shops": shops} if shops else {}
            response = client.request(method, path, params=params, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 403, (method, path, token, shops, response.text)
            assert response.json()["error"] == "forbidden"
        assert client.request(method, path, params={"shops": "shop-a"}).status_code == 401
        assert client.request(method, path, params={"shops": "shop-a", "token": "nope"}).status_code == 401
        for bad in ("", "shop-a,bad id", ",".join(f"s{i}" for i in range(101))):
            response = client.request(method, path, params={"shops": bad, "token": "viewer-ab"})
            assert response.status_code == 422 and response.json()["field"] == "shops", (bad, response.text)
        # allowed: past auth, the answer needs Redis, which is not there (so never 401/403/422)
        for token, shops in (("viewer-ab", "shop-b,shop-a"), ("viewer-ab", None), ("admin-a", "shop-a")):
            params = {"shops": shops} if shops else {}
            response = client.request(method, path, params={**params, "token": token})
            assert response.status_code not in (401, 403, 422), (token, shops, response.text)


def test_the_set_stream_refuses_a_set_with_a_shop_the_token_does_not_hold(client: TestClient) -> None:
    for query, code in (("shops=shop-a,shop-c&token=viewer-ab", 4403), ("shops=shop-c&token=viewer-ab", 4403),
                        ("shops=shop-a,shop-b&token=viewer-a", 4403), ("shops=shop-a&token=ingest-a", 4403),
                        ("shops=shop-a&token=nope", 4401), ("shops=shop-a", 4401),
                        ("shops=a,bad%20id&token=viewer-ab", 4422)):
        with pytest.raises(WebSocketDisconnect) as closed, \
                client.websocket_connect(f"{SET_PREFIX}/stream?{query}") as ws:
            ws.receive_text()
        assert closed.value.code == code, query


def test_roles(client: TestClient) -> None:
    # A viewer cannot change settings of its own shop; an ingest token cannot read it.
    assert client.put("/api/v1/shops/shop-a/settings", json={},
                      headers={"Authorization": "Bearer viewer-a"}).status_code == 403
    assert client.get("/api/v1/shops/shop-a/live", headers={"Authorization": "Bearer ingest-a"}).status_code == 403
    event = {"event_id": "e", "shop_id": "shop-b", "type": "agent.status", "ts": 1_794_362_400_000,
             "agent_id": "A", "status": "online"}
    response = client.post("/api/v1/events", json=[event], headers={"Authorization": "Bearer ingest-a"})
    assert response.status_code == 403


def test_ingest_rate_limit_answers_429_with_retry_after(client: TestClient) -> None:
    events = [{"event_id": f"e{i}", "shop_id": "shop-a", "type": "agent.status", "ts": 1_794_362_400_000,
               "agent_id": "A", "status": "online"} for i in range(11)]
    response = client.post("/api/v1/events", json=events, headers={"Authorization": "Bearer ingest-a"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"] == "rate_limited"


def test_security_headers_and_error_bodies(client: TestClient) -> None:
    response = client.get("/healthz")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "access-control-allow-origin" not in response.headers
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and set(missing.json()) == {"error", "message"}
    bad_day = client.get("/api/v1/shops/shop-a/agents", params={"day": "2026-13-01"},
                         headers={"Authorization": "Bearer viewer-a"})
    assert bad_day.status_code == 422 and bad_day.json()["field"] == "day"
    assert not re.search(r"Traceback|File \"", bad_day.text)

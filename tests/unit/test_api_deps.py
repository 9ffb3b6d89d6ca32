"""api/deps.py: the state and role dependencies every route takes (no Kafka or Redis needed)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.auth import Grant, Tokens
from api.deps import AdminDep, StateDep, ViewerDep

ROUTES = Path(__file__).resolve().parents[2] / "api" / "routes"


def client() -> TestClient:
    app = FastAPI()
    errors.install(app)
    tokens = Tokens([Grant("v-a", "viewer", frozenset({"shop-a"})), Grant("adm", "admin", frozenset({"*"})),
                     Grant("ing", "ingest", frozenset({"*"}))])
    app.state.kefu = SimpleNamespace(tokens=tokens, name="the state")

    @app.get("/{shop_id}/view")
    def view(shop_id: ViewerDep, state: StateDep) -> dict[str, str]:
        return {"shop": shop_id, "state": state.name}

    @app.put("/{shop_id}/change")
    def change(shop_id: AdminDep) -> dict[str, str]:
        return {"shop": shop_id}

    return TestClient(app)


def status(c: TestClient, method: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return c.request(method, path, headers=headers).status_code


def test_viewer_and_admin_roles_per_shop() -> None:
    c = client()
    assert c.get("/shop-a/view", headers={"Authorization": "Bearer v-a"}).json() == {"shop": "shop-a",
                                                                                     "state": "the state"}
    assert [status(c, "GET", "/shop-a/view", t) for t in (None, "nope", "ing", "adm")] == [401, 401, 403, 200]
    assert status(c, "GET", "/shop-b/view", "v-a") == 403  # a viewer of shop-a only
    assert [status(c, "PUT", "/shop-a/change", t) for t in (None, "v-a", "adm")] == [401, 403, 200]
    assert status(c, "GET", "/bad%20shop/view", "adm") == 422  # the shop id pattern


def test_routes_take_the_aliases_instead_of_repeating_depends() -> None:
    for path in ROUTES.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"Depends\(get_state\)", text), f"{path.name} repeats Depends(get_state): use StateDep"
        assert "from api.routes." not in text, f"{path.name} borrows from another route module: use api/deps.py"

"""The metric catalogue (streams/core/catalogue.py) is the one list of figures: the files generated from it
are current, its rows are exactly the keys the core and the oracle return per scope, its ratios are
their numerator ÷ denominator, and the OpenAPI models built from it describe the real payloads."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import catalogue
from streams.core.catalogue import (
    AGENT,
    FIGURES,
    GROUP,
    LIVE,
    LIVE_TEAM,
    SCOPES,
    SECTIONS,
    SERIES,
    TEAM,
    scope_figures,
    scope_keys,
)
from tests import oracle
from tests.scenarios import SCENARIOS

SCENARIO_IDS = [s["name"] for s in SCENARIOS]

# Every counter figures.figures(team=True) and series_point read (facts.py names).
COUNTERS = ("consult", "received", "replied", "buyer_messages", "agent_messages", "responses", "response_ms",
            "first_responses", "first_response_ms", "slow", "sla_buyers", "sla_met", "inquiry", "ordered", "paid",
            "sales_fen", "sales_buyers", "sales_items", "refunds", "refund_fen", "ratings", "satisfied",
            "silent_fen", "robot_only", "new_consult", "paid_fen", "after_hours",
            "robot_buyers", "to_human", "queue_waits", "queue_wait_ms", "queue_abandoned")


# ------------------------------------------------------------------------------------ generated files
def test_generated_files_are_what_the_catalogue_renders() -> None:
    for path, expected in catalogue.generated_files().items():
        assert path.read_text(encoding="utf-8") == expected, (
            f"{path.relative_to(catalogue.ROOT)} is out of date: run python -m streams.core.catalogue --write")


def test_check_and_write_on_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "docs" / "metrics.md"
    doc.parent.mkdir()
    doc.write_text(catalogue.METRICS_DOC.read_text(encoding="utf-8").replace("| `sales` |", "| `sales` | stale |"),
                   encoding="utf-8")
    monkeypatch.setattr(catalogue, "ROOT", tmp_path)
    monkeypatch.setattr(catalogue, "METRICS_DOC", doc)
    monkeypatch.setattr(catalogue, "GENERATED_JS", tmp_path / "catalogue.generated.js")
    assert catalogue.main(["--check"]) == 1
    assert "out of date: docs/metrics.md" in capsys.readouterr().out
    assert catalogue.main(["--write"]) == 0
    assert catalogue.main(["--check"]) == 0
    assert "| `sales` | 客服销售额 |" in doc.read_text(encoding="utf-8")


def test_docs_without_a_marker_block_are_refused() -> None:
    with pytest.raises(ValueError, match="catalogue:ratings"):
        catalogue.render_docs(catalogue.METRICS_DOC.read_text(encoding="utf-8").replace("catalogue:ratings", "x"))


# ------------------------------------------------------------------------------------ the rows
def test_rows_are_well_formed() -> None:
    keys = [f.key for f in FIGURES]
    assert len(keys) == len(set(keys))
    for f in FIGURES:
        assert f.scopes and f.scopes <= set(SCOPES), f.key
        assert f.section in SECTIONS, f.key
        assert f.zh and f.en, f.key
        assert (f.numerator is None) == (f.denominator is None), f.key
        if not f.is_ratio:
            assert f.define_en and f.define_zh, f"{f.key}: a definition in both languages"
        assert (f.chart_zh is not None) == (f.chart_en is not None) == (SERIES in f.scopes), f.key
        assert bool(f.choices) == (f.unit is catalogue.STATUS), f.key


def test_ratio_parts_exist_in_every_scope_of_the_ratio() -> None:
    ratios = [f for f in FIGURES if f.is_ratio]
    assert ratios
    for f in ratios:
        for part in (f.numerator, f.denominator):
            assert part in catalogue.BY_KEY, f"{f.key}: {part} is no figure"
            assert f.scopes <= catalogue.BY_KEY[part].scopes, f"{f.key}: {part} is not in all of {sorted(f.scopes)}"


def test_status_choices_are_the_contract_statuses() -> None:
    from streams.core.events import AGENT_STATUSES

    assert set(catalogue.BY_KEY["status"].choices) == AGENT_STATUSES | {"unknown"}


def test_the_catalogue_imports_no_infrastructure() -> None:
    probe = ("import sys, streams.core.catalogue; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'faust', 'aiokafka', 'redis', 'fastapi', 'pydantic', 'starlette', 'orjson'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=catalogue.ROOT).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------------------------ rows = what the core returns
def _payloads(scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """The /agents, /summary, /live and /series payloads the views build for a scenario (engine path)."""
    from streams.core import views
    from streams.tools import engine

    captured: dict[str, list[dict[str, Any]]] = {"agents": [], "summary": [], "live": [], "series": [],
                                                 "unpaid_orders": []}

    def capture(name: str, view: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            payload = view(*args, **kwargs)
            captured[name].append(copy.deepcopy(payload))  # the engine reshapes the rows afterwards
            return payload
        return wrapper

    def points(buckets: dict[int, Any], agent: str | None) -> Any:
        now = max(buckets, default=0) + 30_000
        captured["series"].append(views.series_view("shop", agent, buckets, now, 60))
        return original_points(buckets, agent)

    original_points = engine._points
    for name in ("agents", "summary", "live", "unpaid_orders"):
        monkeypatch.setattr(engine, f"{name}_view", capture(name, getattr(views, f"{name}_view")))
    monkeypatch.setattr(engine, "_points", points)
    engine.compute_batch(scenario["events"], scenario["settings"], scenario["now_ms"])
    return captured


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_each_scope_is_exactly_the_catalogue_rows_in_order(scenario: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    payloads = _payloads(scenario, monkeypatch)
    figures_only = lambda row: [k for k in row if k not in ("agent_id", "group", "minute")]  # noqa: E731
    for page in payloads["agents"]:
        for row in page["agents"]:
            assert figures_only(row) == list(scope_keys(AGENT))
    for page in payloads["summary"]:
        assert list(page["team"]) == list(scope_keys(TEAM))
        for group in page["groups"].values():
            assert list(group) == list(scope_keys(GROUP))
    for page in payloads["live"]:
        for row in page["agents"]:
            assert figures_only(row) == list(scope_keys(LIVE))
        assert list(page["team"]) == list(scope_keys(LIVE_TEAM))
    for page in payloads["series"]:
        for point in page["points"]:
            assert figures_only(point) == list(scope_keys(SERIES))
        for window in page["sliding"].values():
            assert list(window) == list(scope_keys(SERIES))
    assert all(payloads.values()), "the scenario exercised every view"


def test_the_oracle_computes_exactly_the_catalogue_rows() -> None:
    """A catalogue row without an oracle rule (or the reverse) fails here."""
    checked: set[str] = set()
    for scenario in SCENARIOS:
        result = oracle.compute(scenario["events"], scenario["settings"], scenario["now_ms"])
        for scope, rows in ((AGENT, [r for day in result["agents"].values() for r in day.values()]),
                            (GROUP, [g for day in result["groups"].values() for g in day.values()]),
                            (TEAM, list(result["team"].values())),
                            (LIVE, list(result["live"]["agents"].values())),
                            (LIVE_TEAM, [result["live"]["team"]]),
                            (SERIES, [p for s in [result["series"]["team"], *result["series"]["agents"].values()]
                                      for p in s.values()])):
            for row in rows:
                assert set(row) == set(scope_keys(scope)), f"{scenario['name']}: {scope}"
                checked.add(scope)
    assert checked == set(SCOPES), "every scope was checked at least once"


counters = st.fixed_dictionaries({name: st.integers(0, 50) | st.integers(0, 10**7) for name in COUNTERS})


@settings(max_examples=200, deadline=None)
@given(counters)
def test_ratio_rows_are_numerator_over_denominator(c: dict[str, int]) -> None:
    from streams.core.figures import figures, series_point

    for scope, values in ((TEAM, figures(c, team=True)), (AGENT, figures(c)),
                          (SERIES, series_point(0, c))):
        for f in scope_figures(scope):
            if not f.is_ratio:
                continue
            numerator, denominator = values[f.numerator], values[f.denominator]
            if denominator == 0:
                assert values[f.key] is None, f.key
            else:
                assert values[f.key] == pytest.approx(numerator / denominator, rel=1e-12), f.key


@settings(max_examples=100, deadline=None)
@given(counters, st.integers(0, 5))
def test_values_have_the_catalogue_unit_and_null_only_where_it_says(c: dict[str, int], aged: int) -> None:
    from streams.core.figures import figures, series_point

    for scope, values in ((TEAM, figures(c, aged, team=True)), (GROUP, figures(c, aged)),
                          (SERIES, series_point(0, c))):
        for f in scope_figures(scope):
            value = values[f.key]
            if value is None:
                assert f.can_be_null, f"{f.key} is None but the catalogue says it never is"
            elif f.unit.json_type is int:
                assert type(value) is int, f.key
            else:
                assert isinstance(value, int | float) and not isinstance(value, bool), f.key


def test_nullable_rows_are_null_when_there_is_nothing_to_divide() -> None:
    from streams.core.figures import figures, series_point

    for scope, values in ((TEAM, figures({}, team=True)), (SERIES, series_point(0, {}))):
        assert {k for k, v in values.items() if v is None} == {f.key for f in scope_figures(scope) if f.can_be_null}


# ------------------------------------------------------------------------------------ the API models
@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_the_openapi_models_describe_the_real_payloads(scenario: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from api import figure_models as models

    payloads = _payloads(scenario, monkeypatch)
    for name, model in (("agents", models.AgentsResponse), ("summary", models.SummaryResponse),
                        ("live", models.LiveResponse), ("series", models.SeriesResponse),
                        ("unpaid_orders", models.UnpaidOrdersResponse)):
        for payload in payloads[name]:
            # Strict (no coercion) and a round trip: no field missing, none extra, every type right.
            assert model.model_validate(payload, strict=True).model_dump() == payload, name


def test_openapi_documents_the_figure_payloads() -> None:
    from api.main import create_app

    schema = create_app().openapi()
    paths = schema["paths"]
    for path, model in (("agents", "AgentsResponse"), ("summary", "SummaryResponse"), ("live", "LiveResponse"),
                        ("series", "SeriesResponse"), ("unpaid-orders", "UnpaidOrdersResponse")):
        ok = paths[f"/api/v1/shops/{{shop_id}}/{path}"]["get"]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    agent = schema["components"]["schemas"]["AgentFigures"]["properties"]
    assert list(agent) == ["agent_id", "group", *scope_keys(AGENT)]
    assert agent["sla_rate"]["title"] == "3分钟人工响应率 · 3-min response rate"

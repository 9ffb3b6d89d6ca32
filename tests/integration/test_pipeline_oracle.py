"""Random event logs through the real pipeline (ingest → Kafka → Faust → Redis → REST) equal the
independent batch oracle, for every figure: per agent, team, groups and live."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.client import Api, assert_same_figures
from tests.event_logs import event_logs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(log=event_logs())
def test_pipeline_equals_oracle(api: Api, log: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    events, shop_settings = log
    shop = events[0]["shop_id"]
    api.put_settings(shop, shop_settings)
    response = api.ingest(events)
    assert response.status_code == 202 and not response.json()["rejected"], response.text
    api.wait_processed(shop)
    assert_same_figures(api, shop, events, shop_settings)

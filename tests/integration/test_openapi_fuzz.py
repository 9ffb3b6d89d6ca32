"""Schemathesis against the running API's own /openapi.json: every REST operation, with requests generated
from its schema (valid and invalid), under each role's token. Never a 5xx or a traceback, and every
status code is documented. The stack is the real one (Kafka, Redis, worker)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.fuzzing import count_case, examples
from tests.stack import LocalStack

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


def not_ready_as_asked(case: schemathesis.Case, response) -> bool:  # type: ignore[no-untyped-def]
    """`/readyz?processing=true&workers=n` is 503 while fewer than n workers process (the stack has 1):
    the endpoint's documented answer, not a server error."""
    if case.operation.label != "GET /readyz" or response.status_code != 503:
        return False
    body = response.json()
    return body.get("error") == "not_ready" and body["processing_workers"] < int((case.query or {}).get("workers", 0))


def not_a_server_error(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    assert "Traceback" not in response.text


@pytest.mark.integration
@schema.parametrize()
@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_without_server_errors(case: schemathesis.Case, stack: LocalStack) -> None:
    count_case(f"schemathesis: {case.operation.label}")
    # Each case under each role (schemathesis' lazy schemas take no parametrized fixtures).
    for token in (stack.ingest_token, stack.viewer_token, stack.admin_token):
        response = case.call(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        if not not_ready_as_asked(case, response):
            not_a_server_error(response)
        case.validate_response(response, checks=[status_code_conformance])

"""Property: any delivered event either sends a request the strict local Service Catalog accepts, or
raises ``InvalidEventError`` and sends nothing. Never a generic exception. Fixed seed, fixed count."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from engine_result_notifier.errors import InvalidEventError
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.template import functions
from tests.conftest import TEMPLATE, handler_name
from tests.fuzz.strategies import any_event

EXAMPLES = 2000
ENTRY_POINTS = [handler_name(function) for function in functions(TEMPLATE)]


@seed(20261126)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(delivered=any_event, entry_point=st.sampled_from(ENTRY_POINTS))
def test_any_event_sends_an_accepted_request_or_raises_the_named_error(
    local_services: ModuleType, service_catalog: ServiceCatalogEndpoint, delivered: Any, entry_point: str
) -> None:
    received_before = len(service_catalog.requests)
    try:
        result = getattr(local_services, entry_point)(delivered, LocalLambdaContext())
    except InvalidEventError:
        event("InvalidEventError")
        assert len(service_catalog.requests) == received_before, "a rejected event must send nothing"
        return
    event(result["outcome"])
    sent = service_catalog.requests[received_before:]
    assert [request.answer_status for request in sent] == [200] * len(sent), [r.answer_error for r in sent]
    assert len(sent) == (1 if result["outcome"] == "NOTIFIED" else 0)

"""Property: any delivered event either sends a request the strict local Service Catalog accepts, or
raises ``InvalidEventError`` and sends nothing. Never a generic exception. A failure reason sent never holds the
event's workflow token or a value it marks sensitive, wherever its cause quoted them. Fixed seed, fixed count."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, seed, settings

from engine_result_notifier.errors import InvalidEventError, NotificationConflictError
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from tests.conftest import LocalFunctions
from tests.fuzz.strategies import SECRET_MARKER, deliveries

EXAMPLES = 2000
SECRET_LENGTH_CHECKED = 8
"""Shorter tokens are left out too (from 4 characters), but may occur in the package's own words by chance."""


@seed(20261126)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(delivery=deliveries())
def test_any_event_sends_an_accepted_request_or_raises_the_named_error(
    local_services: LocalFunctions, service_catalog: ServiceCatalogEndpoint, delivery: tuple[str, Any]
) -> None:
    entry_point, delivered = delivery
    received_before = len(service_catalog.requests)
    try:
        result = local_services.handler(entry_point)(delivered, LocalLambdaContext())
    except InvalidEventError:
        event("InvalidEventError")
        assert len(service_catalog.requests) == received_before, "a rejected event must send nothing"
        return
    except NotificationConflictError:  # another notification for a record the engine's event notified already
        event("NotificationConflictError")
        assert len(service_catalog.requests) == received_before, "a conflict must send nothing"
        return
    event(result["outcome"])
    sent = service_catalog.requests[received_before:]
    assert [request.answer_status for request in sent] == [200] * len(sent), [r.answer_error for r in sent]
    assert len(sent) == (1 if result["outcome"] == "NOTIFIED" else 0)
    reasons = [request.parameters.get("FailureReason", "") for request in sent]
    assert [secret[:12] for secret in secrets_of(delivered) for reason in reasons if secret in reason] == []


def secrets_of(delivered: Any) -> set[str]:
    """The event's workflow token and what it marks sensitive (long enough not to occur in text by chance)."""
    if not isinstance(delivered, dict):
        return set()
    if delivered.get("source") == "aws.states":
        detail = delivered.get("detail")
        execution_input = detail.get("input") if isinstance(detail, dict) else None
        try:
            payload = json.loads(execution_input) if isinstance(execution_input, str) else None
        except (ValueError, RecursionError):
            return set()
        if not isinstance(payload, dict):
            return set()
        # A password parameter reaches a reason only through the quoted input, which must be left out.
        parameters = payload.get("parameters")
        passwords = [p.get("value") for p in parameters if isinstance(p, dict)] if isinstance(parameters, list) else []
        return {text for text in [payload.get("token"), *passwords] if _long_text(text)}  # any JSON: not all hashable
    outputs = delivered.get("outputs")
    listed = outputs if isinstance(outputs, list) else list(outputs.values()) if isinstance(outputs, dict) else []
    sensitive = [o.get("value") for o in listed if isinstance(o, dict) and o.get("sensitive") is True]
    texts = [delivered.get("token"), *(text for value in sensitive for text in _strings(value))]
    return {text for text in texts if _long_text(text) and (text == delivered.get("token") or SECRET_MARKER in text)}


def _long_text(text: Any) -> bool:
    return isinstance(text, str) and len(text) >= SECRET_LENGTH_CHECKED


def _strings(value: Any) -> list[str]:
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found

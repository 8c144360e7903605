"""X-Ray as Lambda sends it: segment documents received over UDP from a Lambda-like process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local_aws.service_catalog import ServiceCatalogEndpoint
from tests.conftest import TABLE_NAME, handler_path, load_event
from tests.lambda_process import LambdaRun, run_in_lambda_process

REJECTED_RECORD = "rec-rejected-by-service-catalog"


@pytest.fixture
def traced_run(local_services: Any, service_catalog: ServiceCatalogEndpoint, dynamodb_url: str) -> LambdaRun:
    service_catalog.reject(REJECTED_RECORD)
    rejected = {**load_event("provision-failed.json"), "recordId": REJECTED_RECORD}
    provision = handler_path("NotifyProvisionResultFunction")
    return run_in_lambda_process(
        [(provision, load_event("provision-succeeded.json")), (provision, rejected)],
        {
            "IDEMPOTENCY_TABLE_NAME": TABLE_NAME,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_SFN": dynamodb_url,
            "AWS_ENDPOINT_URL_SERVICE_CATALOG": service_catalog.endpoint_url,
        },
    )


def find(segments: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [segment for segment in segments if predicate(segment)]


def test_both_invocations_ran(traced_run: LambdaRun) -> None:
    assert traced_run.results[0]["result"]["outcome"] == "NOTIFIED"
    assert traced_run.results[1]["errorType"] == "NotificationRejectedError"


def test_the_service_catalog_call_is_an_aws_subsegment_named_for_its_operation(traced_run: LambdaRun) -> None:
    calls = find(traced_run.segments, lambda s: s.get("namespace") == "aws" and s["name"] == "servicecatalog")
    operations = [call["aws"]["operation"] for call in calls]
    assert operations == ["NotifyProvisionProductEngineWorkflowResult"] * 2


def test_the_idempotency_table_calls_are_aws_subsegments_too(traced_run: LambdaRun) -> None:
    calls = find(traced_run.segments, lambda s: s.get("namespace") == "aws" and s["name"] == "dynamodb")
    assert {call["aws"]["operation"] for call in calls} >= {"PutItem", "UpdateItem", "DeleteItem"}


def test_record_id_operation_and_status_are_annotations_of_the_handler(traced_run: LambdaRun) -> None:
    handlers = find(traced_run.segments, lambda s: s["name"] == "## lambda_handler")
    expected = {
        "record_id": "rec-ka2yffz3cwguk",
        "operation": "PROVISION_PRODUCT",
        "status": "SUCCEEDED",
        "outcome": "NOTIFIED",
    }
    assert expected.items() <= handlers[0]["annotations"].items()
    assert handlers[1]["annotations"]["record_id"] == REJECTED_RECORD
    assert handlers[1]["annotations"]["status"] == "FAILED"


def test_the_failing_path_records_the_error(traced_run: LambdaRun) -> None:
    handler = find(traced_run.segments, lambda s: s["name"] == "## lambda_handler")[1]
    assert handler.get("fault") or handler.get("error")
    assert [exception["type"] for exception in handler["cause"]["exceptions"]][:1] == ["NotificationRejectedError"]
    rejected_call = find(traced_run.segments, lambda s: s["name"] == "servicecatalog")[1]
    assert rejected_call["error"] is True
    assert rejected_call["http"]["response"]["status"] == 400

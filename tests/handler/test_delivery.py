"""Exactly once per record, through the entry points (botocore's Stubber for Service Catalog, moto's server for the
table): duplicates, conflicts, releases for a retry, what the table holds and what is counted."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.stub import Stubber

from engine_result_notifier.delivery import Delivery
from engine_result_notifier.errors import (
    IdempotencyStoreUnavailableError,
    NotificationConflictError,
    NotificationRejectedError,
    ServiceCatalogUnavailableError,
)
from tests.conftest import (
    SAMPLE_FUNCTIONS,
    SAMPLE_TOKEN,
    LocalFunctions,
    invoke,
    invoke_sample,
    load_event,
    while_calling_service_catalog,
)
from tests.handler.conftest import EXPECTED_REQUESTS, emitted_metrics


def test_event_claiming_another_operation_for_a_notified_record_makes_no_second_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Given an update notified for its record
    method, expected = EXPECTED_REQUESTS["update-succeeded.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "update-succeeded.json")
    # When an event for the same record arrives at the provision entry point, Then it is a conflict on the record,
    # raised for the state machine to see, not a second notification (the stubber has no response left)
    with pytest.raises(NotificationConflictError, match="already holds UPDATE_PROVISIONED_PRODUCT SUCCEEDED"):
        invoke(lambdas, load_event("update-succeeded.json"), "NotifyProvisionResultFunction")


def test_duplicate_delivery_makes_no_second_call_and_returns_the_stored_result(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Given a notification already made
    method, expected = EXPECTED_REQUESTS["provision-succeeded.json"]
    stubber.add_response(method, {}, expected)
    first = invoke_sample(lambdas, "provision-succeeded.json")
    # When the same event is delivered again (the stubber has no response left: a call would fail the test)
    second = invoke_sample(lambdas, "provision-succeeded.json")
    # Then the stored result comes back, marked as a duplicate
    assert second == {**first, "outcome": "DUPLICATE"}


def test_duplicate_with_other_carried_fields_is_still_a_duplicate(lambdas: LocalFunctions, stubber: Stubber) -> None:
    method, expected = EXPECTED_REQUESTS["terminate-succeeded.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "terminate-succeeded.json")
    redelivered = {**load_event("terminate-succeeded.json"), "executionName": "retry-2", "awsAccountId": "444455556666"}
    assert invoke(lambdas, redelivered, SAMPLE_FUNCTIONS["terminate-succeeded.json"])["outcome"] == "DUPLICATE"


def test_different_notification_for_the_same_record_makes_no_call_and_is_logged_as_a_conflict(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO
) -> None:
    # Given a SUCCEEDED notification already made for the record
    method, expected = EXPECTED_REQUESTS["provision-succeeded.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "provision-succeeded.json")
    # When a FAILED one arrives for the same record
    failed = {**load_event("provision-succeeded.json"), "error": "States.TaskFailed", "errorMessage": "late"}
    with pytest.raises(NotificationConflictError) as raised:
        invoke(lambdas, failed, SAMPLE_FUNCTIONS["provision-succeeded.json"])
    # Then no call is made, the error names what is held and what was asked, and a warning says it field by field
    assert "already holds PROVISION_PRODUCT SUCCEEDED, notified at 20" in str(raised.value)
    assert "by the engine's notify task: this PROVISION_PRODUCT FAILED was not sent" in str(raised.value)
    warnings = [json.loads(line) for line in captured_logs.getvalue().splitlines() if '"WARNING"' in line]
    (conflict,) = [line for line in warnings if "Conflicting notification" in line["message"]]
    assert (conflict["held_status"], conflict["held_by"], conflict["asked_status"]) == (
        "SUCCEEDED",
        "the engine's notify task",
        "FAILED",
    )
    assert SAMPLE_TOKEN not in captured_logs.getvalue()


def test_throttled_notification_is_released_and_the_retry_sends_the_same_idempotency_token(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    method, expected = EXPECTED_REQUESTS["update-succeeded.json"]
    # Given Service Catalog throttles the first delivery
    stubber.add_client_error(method, service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(ServiceCatalogUnavailableError):
        invoke_sample(lambdas, "update-succeeded.json")
    # When the state machine retries, Then the call is made again with the same IdempotencyToken
    stubber.add_response(method, {}, expected)
    assert invoke_sample(lambdas, "update-succeeded.json")["outcome"] == "NOTIFIED"


def test_server_error_is_a_retryable_error(lambdas: LocalFunctions, stubber: Stubber) -> None:
    method, _ = EXPECTED_REQUESTS["terminate-succeeded.json"]
    stubber.add_client_error(method, service_error_code="InternalFailure", http_status_code=500)
    with pytest.raises(ServiceCatalogUnavailableError, match="InternalFailure"):
        invoke_sample(lambdas, "terminate-succeeded.json")


@pytest.mark.parametrize("code", ["InvalidParametersException", "ResourceNotFoundException"])
def test_rejected_notification_raises_the_terminal_error(lambdas: LocalFunctions, stubber: Stubber, code: str) -> None:
    method, _ = EXPECTED_REQUESTS["provision-failed.json"]
    stubber.add_client_error(method, service_error_code=code, service_message=f"bad token {SAMPLE_TOKEN}")
    with pytest.raises(NotificationRejectedError, match=code) as raised:
        invoke_sample(lambdas, "provision-failed.json")
    assert SAMPLE_TOKEN not in str(raised.value)


def test_the_idempotency_table_holds_no_token_and_no_output_value(
    lambdas: LocalFunctions, stubber: Stubber, dynamodb_url: str, idempotency_table: str
) -> None:
    method, expected = EXPECTED_REQUESTS["provision-succeeded-terraform-outputs.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "provision-succeeded-terraform-outputs.json")
    items = boto3.client("dynamodb", endpoint_url=dynamodb_url).scan(TableName=idempotency_table)["Items"]
    assert len(items) == 1
    stored = json.dumps(items)
    for secret in (SAMPLE_TOKEN, "correct-horse-battery-staple", "arn:aws:s3:::orders"):
        assert secret not in stored


def test_record_in_progress_raises_the_retryable_powertools_error(lambdas: LocalFunctions, stubber: Stubber) -> None:
    # Given a delivery that is still making its call when a second one arrives
    method, expected = EXPECTED_REQUESTS["terminate-succeeded.json"]
    refusals: list[str] = []

    def deliver_again() -> None:
        with pytest.raises(IdempotencyAlreadyInProgressError):
            invoke_sample(lambdas, "terminate-succeeded.json")
        refusals.append("second delivery refused")

    stubber.add_response(method, {}, expected)
    with while_calling_service_catalog(lambdas, deliver_again):
        assert invoke_sample(lambdas, "terminate-succeeded.json")["outcome"] == "NOTIFIED"
    assert refusals == ["second delivery refused"]


def test_notification_is_counted_by_operation_and_status(
    lambdas: LocalFunctions, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    method, expected = EXPECTED_REQUESTS["provision-failed.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "provision-failed.json")
    (document,) = emitted_metrics(capsys.readouterr().out)
    assert document["Notifications"] == [1.0]
    assert document["operation"] == "PROVISION_PRODUCT"
    assert document["status"] == "FAILED"
    assert ["operation", "status", "service"] in document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]


def test_duplicate_delivery_is_counted(
    lambdas: LocalFunctions, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    method, expected = EXPECTED_REQUESTS["terminate-succeeded.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "terminate-succeeded.json")
    invoke_sample(lambdas, "terminate-succeeded.json")
    first, second = emitted_metrics(capsys.readouterr().out)
    assert "DuplicateDeliveries" not in first
    assert second["DuplicateDeliveries"] == [1.0]


def test_different_notification_while_the_first_is_in_progress_raises_the_retryable_error(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Given a SUCCEEDED notification whose call is under way (it may yet fail and be released)
    method, expected = EXPECTED_REQUESTS["provision-succeeded.json"]
    refusals: list[str] = []
    failed = {**load_event("provision-succeeded.json"), "error": "States.Timeout"}

    def deliver_failure() -> None:
        # When a FAILED notification for the same record arrives meanwhile
        with pytest.raises(IdempotencyAlreadyInProgressError, match="different notification"):
            invoke(lambdas, failed, SAMPLE_FUNCTIONS["provision-succeeded.json"])
        refusals.append("retry later")

    stubber.add_response(method, {}, expected)
    with while_calling_service_catalog(lambdas, deliver_failure):
        invoke_sample(lambdas, "provision-succeeded.json")
    # Then it was told to retry rather than dropped as a conflict
    assert refusals == ["retry later"]


def test_duplicate_of_a_result_stored_by_another_version_is_still_a_duplicate(
    lambdas: LocalFunctions, stubber: Stubber, dynamodb_url: str, idempotency_table: str
) -> None:
    # Given a notification made, whose stored result another version wrote (a field more, a field less)
    method, expected = EXPECTED_REQUESTS["terminate-succeeded.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "terminate-succeeded.json")
    client = boto3.client("dynamodb", endpoint_url=dynamodb_url)
    (item,) = client.scan(TableName=idempotency_table)["Items"]
    stored = json.loads(item["data"]["S"])
    del stored["idempotency_token"]
    client.update_item(
        TableName=idempotency_table,
        Key={"id": item["id"]},
        UpdateExpression="SET #data = :data",
        ExpressionAttributeNames={"#data": "data"},
        ExpressionAttributeValues={":data": {"S": json.dumps({**stored, "added_later": "x"})}},
    )
    # When the event is delivered again, Then it is a duplicate, not a TypeError
    result = invoke_sample(lambdas, "terminate-succeeded.json")
    assert result["outcome"] == "DUPLICATE"
    assert result["recordId"] == "rec-h3c6mzw2b7k4u"


def test_reading_a_record_from_a_table_that_does_not_exist_is_the_named_error_naming_the_table(
    lambdas: LocalFunctions, idempotency_table: str
) -> None:
    # Found by the simulation: an operator's show-record or rescue during a DynamoDB outage ended in botocore's own
    # exception (Powertools reads a record with the client's errors)
    settings = replace(lambdas.settings, idempotency_table_name="no-such-table")
    delivery = Delivery(settings, lambdas.service_catalog_client, lambdas.dynamodb_client)
    with pytest.raises(IdempotencyStoreUnavailableError, match=r"no-such-table could not be read \(ResourceNotFound"):
        delivery.record_state("rec-m3xw8pq2vt6ra")

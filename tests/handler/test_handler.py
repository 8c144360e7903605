"""The handler end to end with the exact request Service Catalog would receive (botocore Stubber)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.stub import Stubber

import engine_result_notifier
from engine_result_notifier.errors import (
    InvalidEventError,
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
    nested,
    while_calling_service_catalog,
)

PROVISION = "notify_provision_product_engine_workflow_result"
UPDATE = "notify_update_provisioned_product_engine_workflow_result"
TERMINATE = "notify_terminate_provisioned_product_engine_workflow_result"
TRACER_TAG = {"Key": "SERVICE_CATALOG_TERRAFORM_INTEGRATION-DO_NOT_DELETE"}
OPERATIONS = {
    PROVISION: "PROVISION_PRODUCT",
    UPDATE: "UPDATE_PROVISIONED_PRODUCT",
    TERMINATE: "TERMINATE_PROVISIONED_PRODUCT",
}

EXPECTED_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "provision-succeeded.json": (
        PROVISION,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-ka2yffz3cwguk",
            "Status": "SUCCEEDED",
            "IdempotencyToken": "provision-rec-ka2yffz3cwguk",
            "Outputs": [
                {"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders", "Description": "ARN of the bucket"},
                {"OutputKey": "replica_regions", "OutputValue": '["eu-west-1","us-west-2"]'},
                {"OutputKey": "ports", "OutputValue": "[5432,5433]"},
                {"OutputKey": "versioning", "OutputValue": "true"},
            ],
            "ResourceIdentifier": {"UniqueTag": {**TRACER_TAG, "Value": "pp-7v4ekvrx2ydva"}},
        },
    ),
    "provision-succeeded-terraform-outputs.json": (
        PROVISION,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-v6ps2ajdn5w7y",
            "Status": "SUCCEEDED",
            "IdempotencyToken": "provision-rec-v6ps2ajdn5w7y",
            "Outputs": [
                {"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders"},
                {"OutputKey": "replica_count", "OutputValue": "2"},
                {"OutputKey": "versioning", "OutputValue": "true"},
                {"OutputKey": "endpoints", "OutputValue": '{"primary":"orders.s3.amazonaws.com"}'},
                {"OutputKey": "admin_password", "OutputValue": "<sensitive>"},
            ],
            "ResourceIdentifier": {"UniqueTag": {**TRACER_TAG, "Value": "pp-3xqzwd6m2kq4e"}},
        },
    ),
    "provision-failed.json": (
        PROVISION,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-4jvnz3rc6dd2m",
            "Status": "FAILED",
            "IdempotencyToken": "provision-rec-4jvnz3rc6dd2m",
            "FailureReason": "╷\n│ Error: creating S3 Bucket (orders): BucketAlreadyExists\n│\n╵",
            "ResourceIdentifier": {"UniqueTag": {**TRACER_TAG, "Value": "pp-k2hq4sbc5fyza"}},
        },
    ),
    "update-succeeded.json": (
        UPDATE,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-2n5t7fhsyqmlw",
            "Status": "SUCCEEDED",
            "IdempotencyToken": "update-rec-2n5t7fhsyqmlw",
            "Outputs": [
                {"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders", "Description": "ARN of the bucket"},
                {"OutputKey": "lifecycle_days", "OutputValue": "30"},
            ],
        },
    ),
    "update-failed.json": (
        UPDATE,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-p8m2xk5tq7wcd",
            "Status": "FAILED",
            "IdempotencyToken": "update-rec-p8m2xk5tq7wcd",
            # Step Functions' States.Runtime message quoted the whole state input: token and db_password.
            "FailureReason": (
                "An error occurred while executing the state 'Send apply command' (entered at the event id #7). "
                "The JSONPath '$.launchRoleArn' specified for the field 'launchRoleArn.$' could not be found in the "
                "input '<JSON left out: it may quote the workflow token or parameters>'"
            ),
        },
    ),
    "terminate-failed.json": (
        TERMINATE,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-w7c3nq9fz2kdt",
            "Status": "FAILED",
            "IdempotencyToken": "terminate-rec-w7c3nq9fz2kdt",
            "FailureReason": (
                "╷\n│ Error: deleting ElastiCache Replication Group (orders-cache): InvalidReplicationGroupState: "
                "Replication group must be in available state to modify.\n│\n╵"
            ),
        },
    ),
    "terminate-succeeded.json": (
        TERMINATE,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-h3c6mzw2b7k4u",
            "Status": "SUCCEEDED",
            "IdempotencyToken": "terminate-rec-h3c6mzw2b7k4u",
        },
    ),
    "terminate-failed-catch.json": (
        TERMINATE,
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-9f2wq7ynd4xbs",
            "Status": "FAILED",
            "IdempotencyToken": "terminate-rec-9f2wq7ynd4xbs",
            "FailureReason": (
                "TerraformDestroyError: terraform destroy exited with 1: Error: deleting S3 Bucket (orders): "
                "BucketNotEmpty"
            ),
        },
    ),
}


@pytest.mark.parametrize("sample", sorted(EXPECTED_REQUESTS))
def test_sample_event_sends_the_exact_request(lambdas: LocalFunctions, stubber: Stubber, sample: str) -> None:
    # Given the request the sample must produce
    method, expected = EXPECTED_REQUESTS[sample]
    stubber.add_response(method, {}, expected)
    # When the sample is delivered
    result = invoke_sample(lambdas, sample)
    # Then exactly that request was sent, and the result names what was notified
    assert result == {
        "outcome": "NOTIFIED",
        "recordId": expected["RecordId"],
        "operation": OPERATIONS[method],
        "status": expected["Status"],
        "idempotencyToken": expected["IdempotencyToken"],
    }


@pytest.mark.parametrize(
    ("function", "method", "idempotency_token"),
    [
        ("NotifyProvisionResultFunction", PROVISION, "provision-rec-entry-point"),
        ("NotifyUpdateResultFunction", UPDATE, "update-rec-entry-point"),
        ("NotifyTerminateResultFunction", TERMINATE, "terminate-rec-entry-point"),
    ],
)
def test_operation_entry_point_makes_its_own_call_for_an_event_without_operation(
    lambdas: LocalFunctions, stubber: Stubber, function: str, method: str, idempotency_token: str
) -> None:
    event = {"token": SAMPLE_TOKEN, "recordId": "rec-entry-point"}
    stubber.add_response(
        method,
        {},
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-entry-point",
            "Status": "SUCCEEDED",
            "IdempotencyToken": idempotency_token,
        },
    )
    assert invoke(lambdas, event, function)["operation"] == OPERATIONS[method]


def test_event_contradicting_its_entry_point_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # The reference engine's provision failure task names its operation; delivered to the update entry point
    with pytest.raises(InvalidEventError, match="PROVISION_PRODUCT contradicts this entry point") as raised:
        invoke(lambdas, load_event("provision-failed.json"), "NotifyUpdateResultFunction")
    assert "NotifyUpdateResultFunctionArn" in str(raised.value)


def test_generic_entry_point_never_guesses_a_missing_operation(lambdas: LocalFunctions, stubber: Stubber) -> None:
    with pytest.raises(InvalidEventError, match="operation: is missing") as raised:
        invoke(lambdas, load_event("provision-succeeded.json"))
    for output in (
        "NotifyProvisionResultFunctionArn",
        "NotifyUpdateResultFunctionArn",
        "NotifyTerminateResultFunctionArn",
    ):
        assert output in str(raised.value)


def test_event_claiming_another_operation_for_a_notified_record_makes_no_second_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Given an update notified for its record
    method, expected = EXPECTED_REQUESTS["update-succeeded.json"]
    stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, "update-succeeded.json")
    # When an event for the same record arrives at the provision entry point
    result = invoke(lambdas, load_event("update-succeeded.json"), "NotifyProvisionResultFunction")
    # Then it is a conflict on the record, not a second notification (the stubber has no response left)
    assert (result["outcome"], result["operation"]) == ("CONFLICT", "PROVISION_PRODUCT")


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
    result = invoke(lambdas, failed, SAMPLE_FUNCTIONS["provision-succeeded.json"])
    # Then no call is made, the result says conflict, and a warning says so
    assert result["outcome"] == "CONFLICT"
    assert result["status"] == "FAILED"
    warnings = [json.loads(line) for line in captured_logs.getvalue().splitlines() if '"WARNING"' in line]
    assert any("Conflicting notification" in line["message"] for line in warnings)


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


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"recordId": "rec-1", "operation": "PROVISION_PRODUCT"}, "token: is missing"),
        ({"token": SAMPLE_TOKEN, "recordId": "rec/!!", "operation": "PROVISION_PRODUCT"}, "RecordId: may only hold"),
        ({"token": SAMPLE_TOKEN, "recordId": "rec-1", "operation": "PROVISION_PRODUCT", "status": "DONE"}, "status:"),
        (
            {
                "token": SAMPLE_TOKEN,
                "recordId": "rec-1",
                "operation": "PROVISION_PRODUCT",
                "tracerTag": {"key": "a;b", "value": "v"},
            },
            "UniqueTag.Key: may only hold",
        ),
        (["not", "an", "object"], "event: must be a JSON object"),
    ],
)
def test_invalid_event_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber, event: Any, reason: str
) -> None:
    with pytest.raises(InvalidEventError, match=reason):
        invoke(lambdas, event)


def test_the_token_and_sensitive_values_never_reach_the_logs(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    for sample, (method, expected) in EXPECTED_REQUESTS.items():
        stubber.add_response(method, {}, expected)
        invoke_sample(lambdas, sample)
        invoke_sample(lambdas, sample)
    logs = captured_logs.getvalue() + capsys.readouterr().out
    assert "Service Catalog notified" in logs
    assert SAMPLE_TOKEN not in logs
    assert "correct-horse-battery-staple" not in logs


@pytest.mark.parametrize("sample", ["provision-succeeded.json", "execution-succeeded.json"])
def test_every_log_line_of_an_invocation_carries_the_package_version(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO, sample: str
) -> None:
    # Given two invocations, the second of which clears the first one's keys (clear_state)
    if sample in EXPECTED_REQUESTS:
        method, expected = EXPECTED_REQUESTS[sample]
        stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, sample)
    invoke_sample(lambdas, sample)
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert len(lines) >= 2
    assert {line.get("version") for line in lines} == {engine_result_notifier.__version__}


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


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """The EMF documents Powertools printed, one per invocation."""
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


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


def test_rejected_event_is_counted_without_the_dimensions_of_an_earlier_invocation(
    lambdas: LocalFunctions, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    method, _ = EXPECTED_REQUESTS["terminate-succeeded.json"]
    stubber.add_client_error(method, service_error_code="ThrottlingException")
    with pytest.raises(ServiceCatalogUnavailableError):
        invoke_sample(lambdas, "terminate-succeeded.json")
    with pytest.raises(InvalidEventError):
        invoke(lambdas, {"recordId": "rec-1"})
    unavailable, rejected = emitted_metrics(capsys.readouterr().out)
    assert unavailable["ServiceCatalogUnavailable"] == [1.0]
    assert rejected["RejectedEvents"] == [1.0]
    assert "operation" not in rejected


def test_output_nested_too_deeply_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Found by the fuzzer: a RecursionError escaped the handler (from about 970 levels on Python 3.11).
    event = {"token": SAMPLE_TOKEN, "recordId": "rec-1", "outputs": [{"key": "deep", "value": nested(100_000)}]}
    with pytest.raises(InvalidEventError, match="nested too deeply"):
        invoke(lambdas, event, "NotifyProvisionResultFunction")


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

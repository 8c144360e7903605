"""Handler tests: botocore's Stubber stands in for Service Catalog, moto's server is the idempotency table; the
requests each sample must make."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from engine_result_notifier.observability import logger
from tests.conftest import SAMPLE_TOKEN, LambdaContainer, LocalFunctions, lambda_container


@pytest.fixture
def step_functions(local_services: LocalFunctions) -> Iterator[tuple[Stubber, LambdaContainer]]:
    """Step Functions stubbed on a client of its own, and a container whose rescue reads through it; every queued
    response must be used."""
    client = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(client) as stubbed:
        yield stubbed, lambda_container(step_functions_client=client)
        stubbed.assert_no_pending_responses()


@pytest.fixture
def stubber(lambdas: LocalFunctions, idempotency_table: str) -> Iterator[Stubber]:
    """Service Catalog stubbed on the handler's own client; every queued response must be used."""
    with Stubber(lambdas.service_catalog_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes, at DEBUG."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, __import__("logging").StreamHandler)
    previous_stream = handler.setStream(buffer)
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    yield buffer
    logger.setLevel(previous_level)
    handler.setStream(previous_stream)


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


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """The EMF documents Powertools printed, one per invocation."""
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]

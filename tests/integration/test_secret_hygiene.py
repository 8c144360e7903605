"""Secret hygiene end to end: no workflow token and no sensitive output value anywhere we write or send.

Every sample in events/ and generated events run through a Lambda-like process with the logger at DEBUG,
the root logger at DEBUG (as under AWS_LAMBDA_LOG_LEVEL=DEBUG), tracing on and metrics on. Searched:
stdout and stderr (logs and EMF), every X-Ray segment document, every idempotency-table item, every
return value and error; and every member of every request Service Catalog received but the WorkflowToken
itself: outputs, and failure reasons made from causes that quote the token, a sensitive value or the state input.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from random import Random
from typing import Any

import boto3

from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.template import NOTIFY_FUNCTION
from tests.conftest import EVENTS, SAMPLE_FUNCTIONS, SAMPLE_TOKEN, TABLE_NAME, handler_path
from tests.lambda_process import Delivery, run_in_lambda_process

SAMPLE_SENSITIVE_VALUE = "correct-horse-battery-staple"
GENERATED = 150


OPERATION_ENTRY_POINTS = {
    "PROVISION_PRODUCT": handler_path("NotifyProvisionResultFunction"),
    "UPDATE_PROVISIONED_PRODUCT": handler_path("NotifyUpdateResultFunction"),
    "TERMINATE_PROVISIONED_PRODUCT": handler_path("NotifyTerminateResultFunction"),
}
GENERIC_ENTRY_POINT = handler_path(NOTIFY_FUNCTION)


def secret_bearing_event(random: Random) -> tuple[Delivery, list[str]]:
    """A delivery of an event holding a token and sensitive values (in either output shape, or in an error),
    to an entry point that takes it (its operation's, or the generic one with the operation named), and its
    secrets."""
    token = base64.b64encode(random.randbytes(random.randint(18, 60))).decode()
    marker = f"s3cr3t-{random.randbytes(8).hex()}"
    record_id = f"rec-{random.randbytes(6).hex()}"
    sensitive_value = random.choice([marker, {"password": marker}, [marker, 1]])
    kind = random.choice(["listed", "terraform", "failed", "status-change"])
    operation = random.choice(list(OPERATION_ENTRY_POINTS))
    event: dict[str, Any] = {"token": token, "recordId": record_id}
    if kind == "listed":
        event["outputs"] = [
            {"key": "arn", "value": "arn:aws:s3:::x"},
            {"key": "pw", "value": sensitive_value, "sensitive": True},
        ]
    elif kind == "terraform":
        event["outputs"] = {"pw": {"value": sensitive_value, "type": "string", "sensitive": True}}
    elif kind == "failed":
        # An engine that dumps its own input, and a sensitive output's value, into the error.
        event["outputs"] = [{"key": "pw", "value": sensitive_value, "sensitive": True}]
        event.update(
            error="States.TaskFailed",
            errorMessage=random.choice(
                [
                    f"apply failed for input {json.dumps(event)}",
                    f"apply failed: token {token}, password {marker}",
                    json.dumps({"errorType": "ApplyError", "errorMessage": f"{marker} rejected for {token}"}),
                ]
            ),
        )
    else:
        # Step Functions' own runtime error, quoting the state input: the token and a password parameter.
        execution_input = {
            "token": token,
            "recordId": record_id,
            "operation": operation,
            "parameters": [{"key": "db_password", "value": marker}],
        }
        detail = {
            "executionArn": f"arn:aws:states:us-east-1:111122223333:execution:engine:{record_id}",
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": (
                "An error occurred while executing the state 'Send apply command' (entered at the event id #7). "
                "The JSONPath '$.launchRoleArn' specified for the field 'launchRoleArn.$' could not be found in the "
                f"input '{json.dumps(execution_input, separators=(',', ':'))}'"
            ),
            "input": json.dumps(execution_input),
            "inputDetails": {"included": True},
        }
        status_change = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": detail,
        }
        return (GENERIC_ENTRY_POINT, status_change), [token, marker]
    if random.random() < 0.5:
        return (GENERIC_ENTRY_POINT, {**event, "operation": operation}), _secrets(kind, token, marker)
    return (OPERATION_ENTRY_POINTS[operation], event), _secrets(kind, token, marker)


def _secrets(kind: str, token: str, marker: str) -> list[str]:
    return [token, marker] if kind in ("listed", "terraform", "failed") else [token]


def sample_deliveries() -> list[Delivery]:
    return [
        (handler_path(SAMPLE_FUNCTIONS[sample]), json.loads((EVENTS / sample).read_text(encoding="utf-8")))
        for sample in sorted(SAMPLE_FUNCTIONS)
    ]


def test_no_token_and_no_sensitive_value_is_written_anywhere(
    local_services: Any, service_catalog: ServiceCatalogEndpoint, dynamodb_url: str
) -> None:
    random = Random(20261126)  # noqa: S311 (a fixed seed for repeatable test data, not a secret)
    generated = [secret_bearing_event(random) for _ in range(GENERATED)]
    # Given every sample and the generated events, each delivered twice
    deliveries = sample_deliveries() + [delivery for delivery, _ in generated]
    secrets = {SAMPLE_TOKEN, SAMPLE_SENSITIVE_VALUE} | {secret for _, found in generated for secret in found}
    run = run_in_lambda_process(
        deliveries + deliveries,
        {
            "IDEMPOTENCY_TABLE_NAME": TABLE_NAME,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_SFN": dynamodb_url,
            "AWS_ENDPOINT_URL_SERVICE_CATALOG": service_catalog.endpoint_url,
        },
    )
    # Then the invocations really ran: notified, duplicates, and the sample that cannot be notified
    outcomes = [result.get("result", {}).get("outcome", result.get("errorType")) for result in run.results]
    assert outcomes.count("NOTIFIED") >= GENERATED
    assert outcomes.count("DUPLICATE") >= GENERATED
    assert run.segments
    assert '"_aws"' in run.stdout
    assert "DEBUG" in run.stderr
    # And no secret is in anything the function wrote
    table = boto3.client("dynamodb", endpoint_url=dynamodb_url).scan(TableName=TABLE_NAME)["Items"]
    written = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "x-ray": "\n".join(run.datagrams),
        "table": json.dumps(table),
        "results": json.dumps(run.results),
    }
    leaks = [(where, secret[:12]) for where, text in written.items() for secret in secrets if secret in text]
    assert leaks == []
    # And nothing Service Catalog received but the WorkflowToken member itself holds a token or a sensitive value
    sent = json.dumps(
        [{k: v for k, v in request.parameters.items() if k != "WorkflowToken"} for request in service_catalog.requests]
    )
    assert "FailureReason" in sent
    assert [secret[:12] for secret in secrets if secret in sent] == []


def test_the_samples_hold_the_secrets_this_test_looks_for() -> None:
    texts = [Path(path).read_text(encoding="utf-8") for path in sorted(EVENTS.glob("*.json"))]
    assert sum(SAMPLE_TOKEN in text for text in texts) >= 10
    assert any(SAMPLE_SENSITIVE_VALUE in text for text in texts)

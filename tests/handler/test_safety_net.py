"""The safety net: Step Functions status-change events from EventBridge, through the handler."""

from __future__ import annotations

import io
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from engine_result_notifier.errors import InvalidEventError
from tests.conftest import SAMPLE_TOKEN, invoke, load_event

PROVISION = "notify_provision_product_engine_workflow_result"
UPDATE = "notify_update_provisioned_product_engine_workflow_result"
TERMINATE = "notify_terminate_provisioned_product_engine_workflow_result"


def failed_notification(record_id: str, token_prefix: str, reason: Any = ANY) -> dict[str, Any]:
    return {
        "WorkflowToken": SAMPLE_TOKEN,
        "RecordId": record_id,
        "Status": "FAILED",
        "IdempotencyToken": f"{token_prefix}-{record_id}",
        "FailureReason": reason,
    }


def test_failed_execution_is_notified_as_failed_with_its_cause(handler_module: ModuleType, stubber: Stubber) -> None:
    event = load_event("execution-failed.json")
    stubber.add_response(
        PROVISION,
        {},
        failed_notification(
            "rec-m3xw8pq2vt6ra",
            "provision",
            "The engine's execution pp-k2hq4sbc5fyza-rec-m3xw8pq2vt6ra failed before it notified Service Catalog "
            "(UnsupportedOperationError): UnsupportedOperationError: Unknown operation: PROVISION_PRODUCTS",
        ),
    )
    assert invoke(handler_module, event)["outcome"] == "NOTIFIED"


def test_timed_out_execution_is_notified_with_a_reason_that_says_it_timed_out(
    handler_module: ModuleType, stubber: Stubber
) -> None:
    stubber.add_response(
        UPDATE,
        {},
        failed_notification(
            "rec-t8wq3kzr5nf2c",
            "update",
            "The engine's execution pp-7v4ekvrx2ydva-rec-t8wq3kzr5nf2c timed out before it notified Service Catalog "
            "(States.Timeout).",
        ),
    )
    result = invoke(handler_module, load_event("execution-timed-out.json"))
    assert result["operation"] == "UPDATE_PROVISIONED_PRODUCT"


def test_aborted_execution_is_notified_for_its_own_operation(handler_module: ModuleType, stubber: Stubber) -> None:
    stubber.add_response(
        TERMINATE,
        {},
        failed_notification(
            "rec-a6ej4tq9zm2hv",
            "terminate",
            "The engine's execution pp-q5nd2zx7wbr3k-rec-a6ej4tq9zm2hv was stopped (aborted) before it notified "
            "Service Catalog.",
        ),
    )
    assert invoke(handler_module, load_event("execution-aborted.json"))["status"] == "FAILED"


@pytest.mark.parametrize("status", ["SUCCEEDED", "RUNNING", "PENDING_REDRIVE"])
def test_execution_that_did_not_fail_is_ignored_without_a_call(
    handler_module: ModuleType, stubber: Stubber, status: str
) -> None:
    event = load_event("execution-succeeded.json")
    event["detail"]["status"] = status
    result = invoke(handler_module, event)
    assert result == {
        "outcome": "IGNORED",
        "executionArn": event["detail"]["executionArn"],
        "executionStatus": status,
    }


def test_input_left_out_raises_the_named_error_logs_the_execution_and_makes_no_call(
    handler_module: ModuleType, stubber: Stubber, captured_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("execution-input-left-out.json")
    arn = event["detail"]["executionArn"]
    with pytest.raises(InvalidEventError, match="its input was left out"):
        invoke(handler_module, event)
    warning = json.loads(captured_logs.getvalue().splitlines()[-1])
    assert warning["execution_arn"] == arn
    assert arn in warning["reason"]
    assert '"RejectedEvents":[1.0]' in capsys.readouterr().out


def test_execution_failing_after_the_state_machine_notified_makes_no_second_call(
    handler_module: ModuleType, stubber: Stubber
) -> None:
    # Given the state machine's notify step already reported the workflow
    stubber.add_response(TERMINATE, {}, None)
    completion = {"token": SAMPLE_TOKEN, "recordId": "rec-a6ej4tq9zm2hv", "operation": "TERMINATE_PROVISIONED_PRODUCT"}
    invoke(handler_module, completion)
    # When the execution fails afterwards and the safety net receives its status change
    result = invoke(handler_module, load_event("execution-aborted.json"))
    # Then no second call is made (the stubber has no response left)
    assert result["outcome"] == "CONFLICT"


def test_status_change_delivered_twice_makes_one_call(handler_module: ModuleType, stubber: Stubber) -> None:
    stubber.add_response(PROVISION, {}, failed_notification("rec-m3xw8pq2vt6ra", "provision"))
    first = invoke(handler_module, load_event("execution-failed.json"))
    second = invoke(handler_module, load_event("execution-failed.json"))
    assert (first["outcome"], second["outcome"]) == ("NOTIFIED", "DUPLICATE")

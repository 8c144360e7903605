"""The safety net: Step Functions status-change events from EventBridge, through the handler.

The samples' executions do not exist in the local Step Functions (moto's server): these are executions whose
history is no longer kept, the rescue's last resort. What the rescue reads from real histories is tested in
tests/state_machines, with executions run in moto's interpreter.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from engine_result_notifier.errors import InvalidEventError
from tests.conftest import SAMPLE_TOKEN, LocalFunctions, invoke, invoke_sample, load_event

PROVISION = "notify_provision_product_engine_workflow_result"
UPDATE = "notify_update_provisioned_product_engine_workflow_result"
TERMINATE = "notify_terminate_provisioned_product_engine_workflow_result"
UPDATE_ENTRY = "NotifyUpdateResultFunction"
TERMINATE_ENTRY = "NotifyTerminateResultFunction"


def failed_notification(record_id: str, token_prefix: str, reason: Any = ANY) -> dict[str, Any]:
    return {
        "WorkflowToken": SAMPLE_TOKEN,
        "RecordId": record_id,
        "Status": "FAILED",
        "IdempotencyToken": f"{token_prefix}-{record_id}",
        "FailureReason": reason,
    }


def test_failed_execution_whose_history_is_gone_is_notified_as_failed_with_its_cause_saying_so(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    event = load_event("execution-failed.json")
    stubber.add_response(
        PROVISION,
        {},
        failed_notification(
            "rec-m3xw8pq2vt6ra",
            "provision",
            "The engine's execution pp-k2hq4sbc5fyza-rec-m3xw8pq2vt6ra failed; its history is no longer kept, so what "
            "it reported is unknown (UnsupportedOperationError): UnsupportedOperationError: Unknown operation: "
            "PROVISION_PRODUCTS",
        ),
    )
    assert invoke(lambdas, event)["outcome"] == "NOTIFIED"


def test_timed_out_execution_whose_history_is_gone_is_notified_with_a_reason_that_says_it_timed_out(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    stubber.add_response(
        UPDATE,
        {},
        failed_notification(
            "rec-t8wq3kzr5nf2c",
            "update",
            "The engine's execution pp-7v4ekvrx2ydva-rec-t8wq3kzr5nf2c timed out; its history is no longer kept, so "
            "what it reported is unknown (States.Timeout).",
        ),
    )
    result = invoke_sample(lambdas, "execution-timed-out.json")
    assert result["operation"] == "UPDATE_PROVISIONED_PRODUCT"


def test_aborted_execution_is_notified_for_its_own_operation(lambdas: LocalFunctions, stubber: Stubber) -> None:
    stubber.add_response(
        TERMINATE,
        {},
        failed_notification(
            "rec-a6ej4tq9zm2hv",
            "terminate",
            "The engine's execution pp-q5nd2zx7wbr3k-rec-a6ej4tq9zm2hv was stopped (aborted); its history is no longer "
            "kept, so what it reported is unknown.",
        ),
    )
    assert invoke_sample(lambdas, "execution-aborted.json")["status"] == "FAILED"


@pytest.mark.parametrize("status", ["SUCCEEDED", "RUNNING", "PENDING_REDRIVE"])
def test_execution_that_did_not_fail_is_ignored_without_a_call(
    lambdas: LocalFunctions, stubber: Stubber, status: str
) -> None:
    event = load_event("execution-succeeded.json")
    event["detail"]["status"] = status
    result = invoke(lambdas, event)
    assert result == {
        "outcome": "IGNORED",
        "executionArn": event["detail"]["executionArn"],
        "executionStatus": status,
    }


def test_input_left_out_of_an_execution_that_is_gone_raises_the_named_error_logs_it_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    # (An execution that still exists is read from Step Functions instead: tests/state_machines.)
    event = load_event("execution-input-left-out.json")
    arn = event["detail"]["executionArn"]
    with pytest.raises(InvalidEventError, match="its input was left out of the event and the execution no longer"):
        invoke(lambdas, event)
    warning = json.loads(captured_logs.getvalue().splitlines()[-1])
    assert warning["execution_arn"] == arn
    assert arn in warning["reason"]
    assert '"RejectedEvents":[1.0]' in capsys.readouterr().out


def test_safety_net_is_quiet_about_a_record_the_state_machine_notified(
    lambdas: LocalFunctions,
    stubber: Stubber,
    captured_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the reference engine's terminate task notified the record (its own event, at its entry point)
    stubber.add_response(TERMINATE, {}, None)
    invoke(lambdas, {**load_event("terminate-succeeded.json"), "recordId": "rec-a6ej4tq9zm2hv"}, TERMINATE_ENTRY)
    # When the execution then ends ABORTED and the safety net receives its status change
    result = invoke_sample(lambdas, "execution-aborted.json")
    # Then no second call is made (the stubber has no response left), with an info line and a metric of its own
    assert result["outcome"] == "ALREADY_NOTIFIED"
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert [line["level"] for line in lines if "already notified" in line["message"]] == ["INFO"]
    assert [line for line in lines if line["level"] == "WARNING"] == []
    assert '"AlreadyNotified":[1.0]' in capsys.readouterr().out


def test_update_whose_engine_step_raised_is_notified_once_across_both_paths(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Given the reference engine's update failure task (no operation in it) reported the engine step's error
    failure = {
        "token": SAMPLE_TOKEN,
        "awsAccountId": "111122223333",
        "provisionedProductId": "pp-7v4ekvrx2ydva",
        "provisionedProductName": "orders-bucket",
        "recordId": "rec-t8wq3kzr5nf2c",
        "error": "TerraformApplyError",
        "errorMessage": json.dumps({"errorMessage": "apply failed", "errorType": "TerraformApplyError"}),
    }
    stubber.add_response(UPDATE, {}, failed_notification("rec-t8wq3kzr5nf2c", "update"))
    assert invoke(lambdas, failure, UPDATE_ENTRY)["outcome"] == "NOTIFIED"
    # When its execution ends FAILED (the engine's Fail state: no error, no cause) and the status change arrives
    change = load_event("execution-timed-out.json")
    change["detail"].update(status="FAILED", error=None, cause=None)
    result = invoke(lambdas, change)
    # Then the safety net makes no second call: the key is the record, whatever the operation
    assert (result["outcome"], result["operation"]) == ("ALREADY_NOTIFIED", "UPDATE_PROVISIONED_PRODUCT")


def test_execution_input_without_operation_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    event = load_event("execution-failed.json")
    workflow = json.loads(event["detail"]["input"])
    del workflow["operation"]
    event["detail"]["input"] = json.dumps(workflow)
    with pytest.raises(InvalidEventError, match=r"input\.operation: is missing"):
        invoke(lambdas, event)


def test_status_change_at_an_operation_entry_point_is_refused(lambdas: LocalFunctions, stubber: Stubber) -> None:
    with pytest.raises(InvalidEventError, match="only the generic function"):
        invoke(lambdas, load_event("execution-failed.json"), "NotifyProvisionResultFunction")


def test_status_change_delivered_twice_makes_one_call(lambdas: LocalFunctions, stubber: Stubber) -> None:
    stubber.add_response(PROVISION, {}, failed_notification("rec-m3xw8pq2vt6ra", "provision"))
    first = invoke_sample(lambdas, "execution-failed.json")
    second = invoke_sample(lambdas, "execution-failed.json")
    assert (first["outcome"], second["outcome"]) == ("NOTIFIED", "DUPLICATE")

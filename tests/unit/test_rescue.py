"""What the rescue sends for an ended execution, from its last notify attempt: a pure decision, case by case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.models import (
    EngineError,
    ExecutionStatusChange,
    NotifyAttempt,
    Operation,
    Status,
    TaskOutcome,
    WorkflowPayload,
)
from engine_result_notifier.rescue import decide
from engine_result_notifier.settings import SensitiveOutputs
from tests.conftest import SAMPLE_TOKEN

WORKFLOW = WorkflowPayload(
    workflow_token=SAMPLE_TOKEN, record_id="rec-1", operation=Operation.UPDATE_PROVISIONED_PRODUCT
)
CHANGE = ExecutionStatusChange(
    execution_arn="arn:aws:states:us-east-1:111122223333:execution:Manage:pp-1-rec-1",
    execution_name="pp-1-rec-1",
    status="FAILED",
    engine_error=EngineError(error="ServiceCatalogUnavailableError", cause=None),
    execution_input=None,
)
SUCCESS = {
    "token": SAMPLE_TOKEN,
    "recordId": "rec-1",
    "outputs": [{"key": "arn", "value": "arn:aws:s3:::x", "description": None}],
}


def attempt(outcome: TaskOutcome, error: str | None = None, payload: Any = SUCCESS, cause: str = "") -> NotifyAttempt:
    return NotifyAttempt(
        function_name="stack-notify-update",
        entry_operation=Operation.UPDATE_PROVISIONED_PRODUCT,
        payload=payload,
        outcome=outcome,
        error=EngineError(error=error, cause=cause) if error else None,
    )


def rescue_of(notify_attempt: NotifyAttempt | None) -> Any:
    return decide(CHANGE, WORKFLOW, notify_attempt, SensitiveOutputs.REDACT)


def test_no_notify_task_reached_sends_failed_saying_the_execution_ended_before_it_notified() -> None:
    rescue = rescue_of(None)
    assert (rescue.engine_notified, rescue.request.status) == (False, Status.FAILED)
    assert rescue.request.failure_reason == (
        "The engine's execution pp-1-rec-1 failed before it notified Service Catalog (ServiceCatalogUnavailableError)."
    )


def test_a_completed_notify_task_means_the_record_is_notified_and_nothing_is_sent() -> None:
    rescue = rescue_of(attempt(TaskOutcome.SUCCEEDED))
    assert rescue.engine_notified
    assert rescue.request.status is Status.SUCCEEDED


@pytest.mark.parametrize(
    "error",
    [
        "ServiceCatalogUnavailableError",
        "IdempotencyStoreUnavailableError",
        "IdempotencyAlreadyInProgressError",
        "Lambda.ServiceException",
        "States.Timeout",
    ],
)
def test_a_notify_task_that_failed_for_a_passing_reason_sends_what_it_meant_to_send(error: str) -> None:
    rescue = rescue_of(attempt(TaskOutcome.FAILED, error))
    request = rescue.request
    assert (rescue.engine_notified, request.operation, request.status) == (
        False,
        Operation.UPDATE_PROVISIONED_PRODUCT,
        Status.SUCCEEDED,
    )
    assert [(output.key, output.value) for output in request.outputs] == [("arn", "arn:aws:s3:::x")]
    assert request.idempotency_token == "update-rec-1"


def test_an_unfinished_notify_task_sends_what_it_meant_to_send() -> None:
    rescue = rescue_of(attempt(TaskOutcome.UNFINISHED))
    assert (rescue.engine_notified, rescue.request.status) == (False, Status.SUCCEEDED)


@pytest.mark.parametrize("error", ["InvalidEventError", "NotificationRejectedError"])
def test_a_notify_task_refused_for_good_sends_failed_saying_why(error: str) -> None:
    cause = json.dumps(
        {
            "errorType": error,
            "errorMessage": "Service Catalog rejected the notification: InvalidParametersException: bad",
        }
    )
    rescue = rescue_of(attempt(TaskOutcome.FAILED, error, cause=cause))
    assert rescue.request.status is Status.FAILED
    assert rescue.request.failure_reason == (
        f"The engine's execution pp-1-rec-1 failed: its own notification was refused ({error}): "
        f"{error}: Service Catalog rejected the notification: InvalidParametersException: bad"
    )


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (None, "the notify task's payload: must be a JSON object"),
        ({"recordId": "rec-1"}, "token: is missing"),
        ({**SUCCESS, "operation": "PROVISION_PRODUCT"}, "PROVISION_PRODUCT contradicts this entry point"),
        ({**SUCCESS, "recordId": "rec-2"}, "the notify task's recordId is rec-2, not this execution's record"),
    ],
)
def test_a_payload_that_cannot_make_this_records_request_sends_failed_saying_why(payload: Any, why: str) -> None:
    rescue = rescue_of(attempt(TaskOutcome.UNFINISHED, payload=payload))
    assert (rescue.request.status, rescue.request.record_id) == (Status.FAILED, "rec-1")
    assert rescue.request.failure_reason is not None
    assert "its own notification was refused (InvalidEventError)" in rescue.request.failure_reason
    assert why in rescue.request.failure_reason


def test_no_secret_of_the_payload_reaches_a_refusal_reason() -> None:
    payload = {"token": SAMPLE_TOKEN, "recordId": "rec-1", "operation": json.dumps({"token": SAMPLE_TOKEN})}
    reason = rescue_of(attempt(TaskOutcome.UNFINISHED, payload=payload)).request.failure_reason
    assert SAMPLE_TOKEN not in reason


def test_a_failure_that_cannot_make_a_valid_request_raises_the_named_error_instead() -> None:
    # Found by the fuzzer: an execution input with a record id the API refuses
    workflow = WorkflowPayload(workflow_token=SAMPLE_TOKEN, record_id="r" * 101, operation=Operation.PROVISION_PRODUCT)
    with pytest.raises(InvalidEventError, match="RecordId: must be 1 to 100 characters long"):
        decide(CHANGE, workflow, None, SensitiveOutputs.REDACT)


def test_a_notify_task_whose_payload_names_another_operation_is_refused_and_failed_is_sent_for_the_executions() -> None:
    # Given the last notify task, failed for a passing reason, aimed at the generic entry point with a payload naming
    # another operation than the execution's input (UPDATE_PROVISIONED_PRODUCT)
    provision = NotifyAttempt(
        function_name="stack-notify",
        entry_operation=None,
        payload={**SUCCESS, "operation": "PROVISION_PRODUCT"},
        outcome=TaskOutcome.FAILED,
        error=EngineError(error="ServiceCatalogUnavailableError", cause=""),
    )
    # When the rescue decides, Then it does not resend it: FAILED for the execution's own operation, saying why
    rescue = rescue_of(provision)
    assert (rescue.request.operation, rescue.request.status) == (Operation.UPDATE_PROVISIONED_PRODUCT, Status.FAILED)
    assert "PROVISION_PRODUCT, not this execution's UPDATE_PROVISIONED_PRODUCT" in rescue.request.failure_reason
    assert rescue.finding == "its notify task's event is invalid"


RULES = {
    "no notify task reached": (None, False, Status.FAILED),
    "notify task completed": (attempt(TaskOutcome.SUCCEEDED), True, Status.SUCCEEDED),
    "notify task failed, its retry waiting": (
        attempt(TaskOutcome.FAILED, "Lambda.ServiceException"),
        False,
        Status.SUCCEEDED,
    ),
    "notify task failed for good": (attempt(TaskOutcome.FAILED, "NotificationRejectedError"), False, Status.FAILED),
    "notify task unfinished": (attempt(TaskOutcome.UNFINISHED), False, Status.SUCCEEDED),
    "notify task's payload invalid": (
        attempt(TaskOutcome.UNFINISHED, payload={"recordId": "rec-1"}),
        False,
        Status.FAILED,
    ),
}
"""Each rule of the rescue: the last attempt, whether the record is notified already, and the status it holds."""


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_holds_whichever_way_the_execution_ended(rule: str, status: str) -> None:
    notify_attempt, engine_notified, sent = RULES[rule]
    change = ExecutionStatusChange(
        execution_arn=CHANGE.execution_arn,
        execution_name=CHANGE.execution_name,
        status=status,
        engine_error=EngineError(error="States.Timeout" if status == "TIMED_OUT" else None, cause=None),
        execution_input=None,
    )
    rescue = decide(change, WORKFLOW, notify_attempt, SensitiveOutputs.REDACT)
    assert (rescue.engine_notified, rescue.request.status, rescue.request.record_id) == (engine_notified, sent, "rec-1")
    assert rescue.request.idempotency_token == "update-rec-1"

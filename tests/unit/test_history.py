"""Reading an execution's history into its last notify attempt: a pure function, case by case.

The events have the fields Step Functions gives them (and moto's interpreter, whose runs in tests/state_machines
feed the same function): ``id``, ``previousEventId``, ``type`` and the type's details; ``TaskScheduled`` holds the
task's parameters as a JSON string.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine_result_notifier.history import function_name, last_notify_attempt, schedules_a_notify
from engine_result_notifier.models import EngineError, Operation, TaskOutcome

ACCOUNT = "arn:aws:lambda:us-east-1:111122223333:function"
ENTRY_POINTS = {
    "stack-notify-provision": Operation.PROVISION_PRODUCT,
    "stack-notify-update": Operation.UPDATE_PROVISIONED_PRODUCT,
    "stack-notify-terminate": Operation.TERMINATE_PROVISIONED_PRODUCT,
    "stack-notify": None,
}
PAYLOAD = {"token": "VE9LRU4=", "recordId": "rec-1", "outputs": [{"key": "a", "value": "b", "description": None}]}


def event(event_id: int, previous: int, kind: str, **details: Any) -> dict[str, Any]:
    detail_key = kind[0].lower() + kind[1:] + "EventDetails"
    return {"id": event_id, "previousEventId": previous, "type": kind, **({detail_key: details} if details else {})}


def scheduled(event_id: int, function: str, payload: Any = PAYLOAD, resource_type: str = "lambda") -> dict[str, Any]:
    parameters = {"FunctionName": function, "Payload": payload}
    return event(
        event_id,
        event_id - 1,
        "TaskScheduled",
        resourceType=resource_type,
        resource="invoke",
        region="us-east-1",
        parameters=json.dumps(parameters),
        timeoutInSeconds=300,
    )


def started(event_id: int) -> dict[str, Any]:
    return event(event_id, event_id - 1, "TaskStarted", resourceType="lambda", resource="invoke")


def succeeded(event_id: int) -> dict[str, Any]:
    return event(event_id, event_id - 1, "TaskSucceeded", resourceType="lambda", resource="invoke", output="{}")


def failed(event_id: int, error: str, cause: str = "") -> dict[str, Any]:
    return event(
        event_id, event_id - 1, "TaskFailed", resourceType="lambda", resource="invoke", error=error, cause=cause
    )


def history(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [event(1, 0, "ExecutionStarted", input="{}"), *events]


def test_no_task_aimed_at_an_entry_point_is_no_attempt() -> None:
    events = history(scheduled(2, f"{ACCOUNT}:engine-run"), started(3), failed(4, "EngineError"))
    assert last_notify_attempt(events, ENTRY_POINTS) is None


def test_a_task_that_succeeded_is_a_completed_attempt_with_its_payload_and_entry_points_operation() -> None:
    attempt = last_notify_attempt(
        history(scheduled(2, f"{ACCOUNT}:stack-notify-update"), started(3), succeeded(4)), ENTRY_POINTS
    )
    assert attempt is not None
    assert (attempt.function_name, attempt.entry_operation, attempt.outcome) == (
        "stack-notify-update",
        Operation.UPDATE_PROVISIONED_PRODUCT,
        TaskOutcome.SUCCEEDED,
    )
    assert attempt.payload == PAYLOAD


def test_a_task_that_failed_carries_its_error_and_cause() -> None:
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify"), started(3), failed(4, "ServiceCatalogUnavailableError", "{}")
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert (attempt.outcome, attempt.error, attempt.entry_operation) == (
        TaskOutcome.FAILED,
        EngineError(error="ServiceCatalogUnavailableError", cause="{}"),
        None,
    )


def test_a_task_without_an_outcome_is_unfinished() -> None:
    attempt = last_notify_attempt(history(scheduled(2, f"{ACCOUNT}:stack-notify-terminate"), started(3)), ENTRY_POINTS)
    assert attempt is not None
    assert attempt.outcome is TaskOutcome.UNFINISHED


def test_a_task_that_timed_out_failed_with_states_timeout() -> None:
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify"),
        started(3),
        event(4, 3, "TaskTimedOut", resourceType="lambda", resource="invoke"),
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert (attempt.outcome, attempt.error) == (TaskOutcome.FAILED, EngineError(error="States.Timeout", cause=None))


def test_the_newest_attempt_counts_a_retry_after_a_failure() -> None:
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify-provision"),
        started(3),
        failed(4, "Lambda.ServiceException"),
        scheduled(5, f"{ACCOUNT}:stack-notify-provision"),
        started(6),
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert attempt.outcome is TaskOutcome.UNFINISHED


def test_a_failure_notification_after_a_refused_success_is_the_attempt_that_counts() -> None:
    events = history(
        scheduled(
            2, f"{ACCOUNT}:stack-notify", {"token": "VE9LRU4=", "recordId": "rec-1", "operation": "PROVISION_PRODUCT"}
        ),
        started(3),
        failed(4, "InvalidEventError"),
        scheduled(
            5, f"{ACCOUNT}:stack-notify", {"token": "VE9LRU4=", "recordId": "rec-1", "error": "InvalidEventError"}
        ),
        started(6),
        succeeded(7),
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert (attempt.outcome, attempt.payload["error"]) == (TaskOutcome.SUCCEEDED, "InvalidEventError")


def test_events_read_newest_first_give_the_same_attempt() -> None:
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify-update"), started(3), failed(4, "IdempotencyStoreUnavailableError")
    )
    assert last_notify_attempt(reversed(events), ENTRY_POINTS) == last_notify_attempt(events, ENTRY_POINTS)


@pytest.mark.parametrize(
    "reference",
    [
        "stack-notify-update",
        "stack-notify-update:live",
        "111122223333:function:stack-notify-update",
        f"{ACCOUNT}:stack-notify-update",
        f"{ACCOUNT}:stack-notify-update:$LATEST",
    ],
)
def test_a_function_named_in_any_form_lambda_accepts_is_recognised(reference: str) -> None:
    assert function_name(reference) == "stack-notify-update"
    assert last_notify_attempt(history(scheduled(2, reference), started(3)), ENTRY_POINTS) is not None


def test_a_payload_built_as_a_json_string_is_read() -> None:
    attempt = last_notify_attempt(
        history(scheduled(2, "stack-notify-provision", json.dumps(PAYLOAD)), started(3)), ENTRY_POINTS
    )
    assert attempt is not None
    assert attempt.payload == PAYLOAD


def test_a_lambda_task_with_the_function_as_its_resource_is_read_too() -> None:
    events = history(
        event(
            2,
            1,
            "LambdaFunctionScheduled",
            resource=f"{ACCOUNT}:stack-notify-terminate",
            input=json.dumps(PAYLOAD),
            timeoutInSeconds=60,
        ),
        event(3, 2, "LambdaFunctionStarted"),
        event(4, 3, "LambdaFunctionFailed", error="ServiceCatalogUnavailableError", cause="throttled"),
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert (attempt.entry_operation, attempt.outcome, attempt.payload) == (
        Operation.TERMINATE_PROVISIONED_PRODUCT,
        TaskOutcome.FAILED,
        PAYLOAD,
    )


@pytest.mark.parametrize(
    "unreadable",
    [
        event(2, 1, "TaskScheduled", resourceType="lambda", resource="invoke", parameters="{not json"),
        event(2, 1, "TaskScheduled", resourceType="lambda", resource="invoke", parameters=json.dumps({"Payload": {}})),
        scheduled(2, "stack-notify", resource_type="dynamodb"),
        event(2, 1, "TaskScheduled"),
    ],
)
def test_a_task_that_is_not_a_readable_lambda_invocation_is_not_an_attempt(unreadable: dict[str, Any]) -> None:
    assert last_notify_attempt(history(unreadable), ENTRY_POINTS) is None


def test_an_outcome_is_matched_to_its_task_through_previous_event_ids() -> None:
    # A parallel branch's task ends between the notify task's start and its own end
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify"),
        scheduled(3, f"{ACCOUNT}:engine-run"),
        event(4, 2, "TaskStarted", resourceType="lambda", resource="invoke"),
        event(5, 3, "TaskStarted", resourceType="lambda", resource="invoke"),
        event(6, 5, "TaskFailed", resourceType="lambda", resource="invoke", error="EngineError", cause=""),
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert attempt.outcome is TaskOutcome.UNFINISHED


def test_schedules_a_notify_tells_whether_reading_can_stop() -> None:
    assert schedules_a_notify([started(3), scheduled(2, f"{ACCOUNT}:stack-notify-provision")], ENTRY_POINTS)
    assert not schedules_a_notify(
        [scheduled(2, f"{ACCOUNT}:engine-run"), event(1, 0, "ExecutionStarted")], ENTRY_POINTS
    )


def redriven(event_id: int, count: int = 1) -> dict[str, Any]:
    return event(event_id, event_id - 1, "ExecutionRedriven", redriveCount=count)


def test_after_a_redrive_a_notify_task_of_the_earlier_attempt_is_no_attempt() -> None:
    # The first attempt's notify task failed, the execution failed and was redriven; the new attempt failed earlier
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify-provision"),
        started(3),
        failed(4, "ServiceCatalogUnavailableError"),
        event(5, 4, "ExecutionFailed", error="ServiceCatalogUnavailableError"),
        redriven(6),
        event(7, 6, "TaskStateEntered", name="Send apply command"),
        event(8, 7, "ExecutionFailed", error="States.TaskFailed"),
    )
    assert last_notify_attempt(events, ENTRY_POINTS) is None


def test_after_a_redrive_the_notify_task_of_the_latest_attempt_is_the_attempt() -> None:
    events = history(
        scheduled(2, f"{ACCOUNT}:stack-notify-provision"),
        started(3),
        succeeded(4),
        redriven(5),
        scheduled(6, f"{ACCOUNT}:stack-notify-provision"),
        started(7),
        failed(8, "ServiceCatalogUnavailableError"),
        redriven(9, 2),
        scheduled(10, f"{ACCOUNT}:stack-notify-provision"),
        started(11),
        failed(12, "InvalidEventError", "token: is missing"),
    )
    attempt = last_notify_attempt(events, ENTRY_POINTS)
    assert attempt is not None
    assert (attempt.outcome, attempt.error) == (
        TaskOutcome.FAILED,
        EngineError("InvalidEventError", "token: is missing"),
    )


def test_reading_newest_first_can_stop_at_the_latest_redrive() -> None:
    assert schedules_a_notify([event(8, 7, "ExecutionFailed"), redriven(6)], ENTRY_POINTS)

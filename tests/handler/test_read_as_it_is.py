"""The rescue reads the execution as it is, not a stale or mixed picture. ``DescribeExecution`` is eventually
consistent (botocore's model: "may not reflect very recent updates"), and a redrive may land between two reads: a
describe behind the status change is read again later (a retryable error), only one ahead of it is a redrive, and a
history that does not end with the attempt described sends nothing. The status change is EventBridge's, as the
sample carries it (``redriveCount``, ``stopDate``); Step Functions' answers come from botocore's Stubber, in the
shapes of its model; the notification goes to the local Service Catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from engine_result_notifier.errors import PASSING_ERRORS, StaleExecutionReadError
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from tests.conftest import LambdaContainer, load_event

EVENT = load_event("execution-failed.json")
DETAIL = EVENT["detail"]
STOPPED = datetime.fromtimestamp(DETAIL["stopDate"] / 1000, UTC)


def described(status: str, redrive_count: int = 0, **more: Any) -> dict[str, Any]:
    """``DescribeExecution``'s answer for the sample's execution."""
    answer = {
        "executionArn": DETAIL["executionArn"],
        "stateMachineArn": DETAIL["stateMachineArn"],
        "name": DETAIL["name"],
        "status": status,
        "startDate": STOPPED - timedelta(minutes=10),
        "input": DETAIL["input"],
        "redriveCount": redrive_count,
        "redriveStatus": "REDRIVABLE" if status == "FAILED" else "NOT_REDRIVABLE",
        **more,
    }
    if status == "FAILED":
        answer.update(stopDate=STOPPED, error=DETAIL["error"], cause=DETAIL["cause"])
    return answer


def event(event_id: int, kind: str, **details: Any) -> dict[str, Any]:
    return {"timestamp": STOPPED, "type": kind, "id": event_id, "previousEventId": event_id - 1, **details}


FAILED_BEFORE_ANY_NOTIFY = [
    event(1, "ExecutionStarted", executionStartedEventDetails={"input": DETAIL["input"]}),
    event(2, "ExecutionFailed", executionFailedEventDetails={"error": DETAIL["error"], "cause": DETAIL["cause"]}),
]


def test_the_sample_status_change_says_its_redrive_count_and_stop() -> None:
    # What the comparison reads: EventBridge's newer events carry both
    assert (DETAIL["status"], DETAIL["redriveCount"]) == ("FAILED", 0)
    assert isinstance(DETAIL["stopDate"], int)


def test_a_describe_still_running_after_a_failed_status_change_is_read_again_and_one_failed_call_follows(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    # Given a describe a moment after the FAILED status change that still says RUNNING, at the same redrive count
    stubbed.add_response("describe_execution", described("RUNNING"))
    # When the safety net takes the status change, Then nothing is sent, and the error is one Lambda retries
    with pytest.raises(StaleExecutionReadError) as raised:
        container.rescuer.status_change(EVENT, LocalLambdaContext())
    assert isinstance(raised.value, PASSING_ERRORS)
    assert service_catalog.requests == []
    # And Lambda's retry, once the describe has caught up, sends FAILED once
    stubbed.add_response("describe_execution", described("FAILED"))
    stubbed.add_response("get_execution_history", {"events": list(reversed(FAILED_BEFORE_ANY_NOTIFY))})
    assert container.rescuer.status_change(EVENT, LocalLambdaContext()).to_response()["outcome"] == "NOTIFIED"
    (call,) = service_catalog.accepted
    assert call.parameters["Status"] == "FAILED"


def test_a_describe_at_an_earlier_redrive_than_the_status_change_is_read_again(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    after_a_redrive = {**EVENT, "detail": {**DETAIL, "redriveCount": 1}}
    stubbed.add_response("describe_execution", described("FAILED", redrive_count=0))
    with pytest.raises(StaleExecutionReadError):
        container.rescuer.status_change(after_a_redrive, LocalLambdaContext())
    assert service_catalog.requests == []


def test_a_describe_running_again_after_a_redrive_since_the_status_change_makes_no_call(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    redriven = described("RUNNING", redrive_count=1, redriveDate=STOPPED + timedelta(minutes=3))
    stubbed.add_response("describe_execution", redriven)
    result = container.rescuer.status_change(EVENT, LocalLambdaContext())
    assert (result.to_response()["outcome"], service_catalog.requests) == ("REDRIVEN", [])


def test_a_redrive_between_the_describe_and_the_history_read_sends_nothing_for_the_old_attempt(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    # Given a describe that says FAILED at redrive 0, then a redrive, then the history read: it holds the new
    # attempt's first events after the old attempt's end
    stubbed.add_response("describe_execution", described("FAILED"))
    redriven = [
        *FAILED_BEFORE_ANY_NOTIFY,
        event(3, "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": 1}),
        event(4, "TaskStateEntered", stateEnteredEventDetails={"name": "Run Terraform", "input": "{}"}),
    ]
    stubbed.add_response("get_execution_history", {"events": list(reversed(redriven))})
    # When the safety net takes the status change, Then it sends nothing, and reads again later
    with pytest.raises(StaleExecutionReadError, match="does not end with the attempt described"):
        container.rescuer.status_change(EVENT, LocalLambdaContext())
    assert service_catalog.requests == []


def test_a_history_of_a_redriven_execution_is_read_back_to_its_latest_attempts_start(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    # Given an execution redriven once and failed again before any notify task, described so
    after_a_redrive = {**EVENT, "detail": {**DETAIL, "redriveCount": 1}}
    stubbed.add_response("describe_execution", described("FAILED", redrive_count=1))
    again = [
        *FAILED_BEFORE_ANY_NOTIFY,
        event(3, "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": 1}),
        event(4, "ExecutionFailed", executionFailedEventDetails={"error": "States.TaskFailed", "cause": "again"}),
    ]
    stubbed.add_response("get_execution_history", {"events": list(reversed(again))})
    # When the safety net takes its status change, Then the latest attempt's end is sent
    assert container.rescuer.status_change(after_a_redrive, LocalLambdaContext()).to_response()["outcome"] == (
        "NOTIFIED"
    )
    (call,) = service_catalog.accepted
    assert (call.parameters["Status"], json.loads(DETAIL["input"])["recordId"]) == (
        "FAILED",
        call.parameters["RecordId"],
    )

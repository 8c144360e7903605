"""An execution redriven after its record was notified, whose latest attempt ended failed without reaching a notify
task: Service Catalog keeps what it holds, and the safety net says so for a person (``CONFLICT``, ``Conflicts``)
instead of reporting it as the quiet ``ALREADY_NOTIFIED`` of an execution that ended as it notified. Found by the
simulation (tests/simulation): a provision whose notify task made its call while the execution was being stopped,
then redriven into a timeout, ended FAILED with the record showing SUCCEEDED and no alarm. Step Functions' answers
come from botocore's Stubber; the first notification goes to the local Service Catalog."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from engine_result_notifier.models import Operation
from engine_result_notifier.observability import metrics
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from tests.conftest import LambdaContainer, load_event

EVENT = load_event("execution-failed.json")
DETAIL = EVENT["detail"]
WHEN = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def notified_as_succeeded(container: LambdaContainer) -> None:
    """The record's engine notified SUCCEEDED (its notify task made its call)."""
    payload = json.loads(DETAIL["input"])
    success = {"token": payload["token"], "recordId": payload["recordId"], "outputs": []}
    result = container.notify.completion(success, LocalLambdaContext(), Operation.PROVISION_PRODUCT)
    assert result.outcome == "NOTIFIED"


def ended_failed(stubbed: Stubber, redrive_count: int) -> None:
    """DescribeExecution and the history of an execution whose latest attempt failed before any notify task."""
    stubbed.add_response(
        "describe_execution",
        {
            "executionArn": DETAIL["executionArn"],
            "stateMachineArn": DETAIL["stateMachineArn"],
            "name": DETAIL["name"],
            "status": "TIMED_OUT",
            "startDate": WHEN,
            "stopDate": WHEN,
            "input": DETAIL["input"],
            "error": "States.Timeout",
            "redriveCount": redrive_count,
            "redriveStatus": "REDRIVABLE",
        },
    )
    events: list[dict[str, Any]] = [
        {"timestamp": WHEN, "type": "ExecutionStarted", "id": 1, "previousEventId": 0},
        {"timestamp": WHEN, "type": "ExecutionAborted", "id": 2, "previousEventId": 1},
    ]
    if redrive_count:
        events.append(
            {
                "timestamp": WHEN,
                "type": "ExecutionRedriven",
                "id": 3,
                "previousEventId": 2,
                "executionRedrivenEventDetails": {"redriveCount": redrive_count},
            }
        )
    events.append({"timestamp": WHEN, "type": "ExecutionTimedOut", "id": len(events) + 1, "previousEventId": 2})
    stubbed.add_response("get_execution_history", {"events": list(reversed(events))})


def test_a_redriven_execution_that_ended_otherwise_than_its_record_holds_is_a_conflict_with_no_call(
    step_functions: tuple[Stubber, LambdaContainer],
    service_catalog: ServiceCatalogEndpoint,
    captured_logs: io.StringIO,
) -> None:
    stubbed, container = step_functions
    notified_as_succeeded(container)
    ended_failed(stubbed, redrive_count=1)
    result = container.rescuer.status_change(EVENT, LocalLambdaContext())
    assert result.to_response()["outcome"] == "CONFLICT"
    assert len(service_catalog.accepted) == 1
    logged = captured_logs.getvalue()
    assert "Execution redriven after its record was notified" in logged
    assert '"held_status":"SUCCEEDED"' in logged


def test_the_conflict_is_counted_for_the_conflicts_alarm(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    notified_as_succeeded(container)
    ended_failed(stubbed, redrive_count=1)
    container.rescuer.status_change(EVENT, LocalLambdaContext())
    assert metrics.metric_set["Conflicts"]["Value"] == [1.0]


def test_an_execution_never_redriven_that_ended_otherwise_is_already_notified_quietly(
    step_functions: tuple[Stubber, LambdaContainer], service_catalog: ServiceCatalogEndpoint
) -> None:
    stubbed, container = step_functions
    notified_as_succeeded(container)
    ended_failed(stubbed, redrive_count=0)
    result = container.rescuer.status_change(EVENT, LocalLambdaContext())
    assert result.to_response()["outcome"] == "ALREADY_NOTIFIED"
    assert "Conflicts" not in metrics.metric_set

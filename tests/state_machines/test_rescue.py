"""The rescue: an execution that ended FAILED, TIMED_OUT or ABORTED gets what its last notify task meant to send.

Each scenario runs the reference engine's state machines in moto's interpreter (its notify tasks retry only
Lambda.* errors and catch nothing), then delivers the status change EventBridge would deliver, built from
DescribeExecution, to the safety net (the generic entry point).
"""

from __future__ import annotations

import pytest

from engine_result_notifier.errors import ServiceCatalogUnavailableError, StepFunctionsUnavailableError
from local_aws.lambda_context import LocalLambdaContext
from local_aws.step_functions import status_change_event
from local_aws.template import function_arn
from tests.conftest import SAMPLE_TOKEN, TEMPLATE, client_without_retries, invoke, lambda_container
from tests.state_machines.conftest import (
    API_CALLS,
    BOTOCORE_ATTEMPTS,
    OPERATIONS,
    Scene,
    only_call,
    run_workflow,
    start_workflow,
)

RECORD_OUTPUTS = [{"key": "bucket_arn", "value": "arn:aws:s3:::orders", "description": "ARN of the bucket"}]
SENT_OUTPUTS = [{"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders", "Description": "ARN of the bucket"}]
ENTRY_POINT_OF = {
    "PROVISION_PRODUCT": "NotifyProvisionResultFunction",
    "UPDATE_PROVISIONED_PRODUCT": "NotifyUpdateResultFunction",
    "TERMINATE_PROVISIONED_PRODUCT": "NotifyTerminateResultFunction",
}


def expected_outputs(operation: str) -> list[dict[str, str]] | None:
    return None if operation == "TERMINATE_PROVISIONED_PRODUCT" else SENT_OUTPUTS


@pytest.mark.parametrize("operation", OPERATIONS)
def test_throttling_through_the_success_notify_then_recovery_ends_in_one_succeeded_call_with_the_outputs(
    scene: Scene,
    operation: str,
) -> None:
    # Given Terraform succeeded and Service Catalog throttles every attempt of the success notification
    scene.engine.record_outputs = RECORD_OUTPUTS
    scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    # When the engine's notify task fails (it retries Lambda.* only) and its execution ends FAILED
    execution = run_workflow(scene, operation)
    assert (execution["status"], execution["error"]) == ("FAILED", "ServiceCatalogUnavailableError")
    assert scene.service_catalog.accepted == []
    # And the status change reaches the safety net once Service Catalog has recovered
    result = invoke(scene.lambdas, status_change_event(execution))
    # Then one SUCCEEDED call of the workflow's operation carries the outputs: a success stays a success
    (call,) = [{"operation": r.operation, **r.parameters} for r in scene.service_catalog.accepted]
    assert (result["outcome"], call["operation"], call["Status"]) == ("NOTIFIED", API_CALLS[operation], "SUCCEEDED")
    assert call.get("Outputs") == expected_outputs(operation)
    assert "FailureReason" not in call


def test_status_change_arriving_while_service_catalog_still_throttles_is_retried_to_one_call(
    scene: Scene,
) -> None:
    # Given the throttling outlasts the engine's notify task and the status change's first delivery
    scene.service_catalog.throttle(2 * BOTOCORE_ATTEMPTS)
    execution = run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    event = status_change_event(execution)
    # When that delivery fails with the retryable error, and Lambda's asynchronous retry delivers it again
    with pytest.raises(ServiceCatalogUnavailableError):
        invoke(scene.lambdas, event)
    result = invoke(scene.lambdas, event)
    # Then exactly one call went through, and it is the success the engine reached
    (call,) = scene.service_catalog.accepted
    assert (result["outcome"], call.parameters["Status"]) == ("NOTIFIED", "SUCCEEDED")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_execution_stopped_during_its_notify_step_sends_what_that_step_meant_to_send(
    scene: Scene,
    operation: str,
) -> None:
    # Given the success notify task is running (held) when someone stops the execution
    scene.engine.record_outputs = RECORD_OUTPUTS
    with scene.interpreter.hold(function_arn(TEMPLATE, ENTRY_POINT_OF[operation])) as held:
        execution_arn = start_workflow(scene, operation)
        held.wait_until_invoked()
        scene.interpreter.client.stop_execution(executionArn=execution_arn)
        scene.interpreter.keep_late_results_out(execution_arn)
    execution = scene.interpreter.wait(execution_arn)
    assert execution["status"] == "ABORTED"
    assert [e["type"] for e in scene.interpreter.history(execution_arn)][-2:] == ["TaskStarted", "ExecutionAborted"]
    assert scene.service_catalog.requests == []
    # When its status change reaches the safety net
    result = invoke(scene.lambdas, status_change_event(execution))
    # Then the notification the stopped step meant to send is made, once
    call = only_call(scene.service_catalog)
    assert (result["outcome"], call["operation"], call["Status"]) == ("NOTIFIED", API_CALLS[operation], "SUCCEEDED")
    assert call.get("Outputs") == expected_outputs(operation)


def test_notify_task_refused_for_good_is_reported_failed_saying_why(
    scene: Scene,
) -> None:
    # Given the engine's success notification cannot be made (an output without a name): InvalidEventError
    scene.engine.record_outputs = [{"key": "", "value": "x", "description": None}]
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidEventError")
    # When its status change reaches the safety net
    invoke(scene.lambdas, status_change_event(execution))
    # Then the record is reported FAILED, with the reason the engine's own notification was refused
    call = only_call(scene.service_catalog)
    assert call["Status"] == "FAILED"
    assert call["FailureReason"] == (
        f"The engine's execution {execution['name']} failed: its own notification was refused (InvalidEventError): "
        "InvalidEventError: outputs[0].key: must be a non-empty string"
    )


def test_a_record_the_engine_notified_gets_no_second_call_and_no_table_write(
    scene: Scene,
) -> None:
    # Given the engine notified a failure and then ended its execution FAILED (its Fail state)
    scene.engine.raises = RuntimeError("no worker host answered")
    execution = run_workflow(scene, "TERMINATE_PROVISIONED_PRODUCT")
    assert len(scene.service_catalog.accepted) == 1
    # When the status change reaches the safety net, Then its history shows the notify task completed: no call
    writes: list[str] = []
    events = scene.lambdas.dynamodb_client.meta.events
    events.register("before-send.dynamodb", lambda **kwargs: writes.append(kwargs["event_name"]))
    try:
        result = invoke(scene.lambdas, status_change_event(execution))
    finally:
        events.unregister("before-send.dynamodb")
    assert result["outcome"] == "ALREADY_NOTIFIED"
    assert len(scene.service_catalog.requests) == 1
    assert writes == []


def test_input_left_out_of_the_event_for_size_is_read_from_step_functions(
    scene: Scene,
) -> None:
    # Given an execution that failed before any notify task (a runtime error), whose event left the input out
    execution = run_workflow(scene, "PROVISION_PRODUCT", leave_out=("launchRoleArn",))
    event = status_change_event(execution)
    event["detail"].update(input=None, inputDetails={"included": False})
    # When it reaches the safety net, Then the input is read from Step Functions and one FAILED call is made
    assert invoke(scene.lambdas, event)["outcome"] == "NOTIFIED"
    call = only_call(scene.service_catalog)
    assert (call["Status"], call["WorkflowToken"]) == ("FAILED", SAMPLE_TOKEN)
    assert "before it notified Service Catalog (States.Runtime)" in call["FailureReason"]


def test_history_that_cannot_be_read_sends_nothing_and_raises_the_retryable_error(
    scene: Scene,
    closed_port_url: str,
) -> None:
    # Given a failed execution, and a safety net whose Step Functions cannot be reached
    scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    safety_net = lambda_container(step_functions_client=client_without_retries("stepfunctions", closed_port_url))
    # When its status change arrives, Then no status is guessed: nothing is sent, and the error says retry
    with pytest.raises(StepFunctionsUnavailableError, match="could not be reached"):
        safety_net.rescuer.status_change(status_change_event(execution), LocalLambdaContext())
    assert scene.service_catalog.accepted == []

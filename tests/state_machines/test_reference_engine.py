"""AWS's reference Terraform engine, unchanged but for its notify tasks' FunctionName, run in moto's interpreter.

The two state machines are written from the engine's notify task table (``tests/reference_engine.py``): six
notify tasks with exactly its payloads, its ResultSelector on SdkHttpMetadata, Retry only on Lambda.* and no
Catch. Each task's FunctionName is the stack output of the same name. Service Catalog (the local endpoint) knows
each record's operation and refuses a notify of another operation, as the service does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_aws.step_functions import LAMBDA_INVOKE, status_change_event
from tests.conftest import SAMPLE_TOKEN, invoke
from tests.reference_engine import LAMBDA_RETRY_ERRORS, NOTIFY_TASKS
from tests.state_machines.conftest import (
    API_CALLS,
    DEFINITIONS,
    OPERATIONS,
    STATE_MACHINE_OF,
    EngineStepError,
    Scene,
    only_call,
    run_workflow,
    substitutions,
)

TRACER_TAG_KEY = "SERVICE_CATALOG_TERRAFORM_INTEGRATION-DO_NOT_DELETE"
# What the reference engine's "Get state file outputs" returns: every value a string, description null if none.
RECORD_OUTPUTS = [
    {"key": "bucket_arn", "value": "arn:aws:s3:::orders", "description": "ARN of the bucket"},
    {"key": "replica_regions", "value": "['eu-west-1', 'us-west-2']", "description": None},
]
SENT_OUTPUTS = [
    {"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders", "Description": "ARN of the bucket"},
    {"OutputKey": "replica_regions", "OutputValue": "['eu-west-1', 'us-west-2']"},
]
TERRAFORM_ERROR = (
    "\u001b[31m│\u001b[0m \u001b[1m\u001b[31mError: \u001b[0mcreating S3 Bucket (orders): BucketAlreadyExists\n"
)


def notify_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in definition["States"].items() if name.startswith("Notify ")}


# The definitions are the task table's.


@pytest.mark.parametrize("task", sorted(NOTIFY_TASKS))
def test_each_notify_task_is_the_reference_engines_field_for_field(task: str) -> None:
    spec = NOTIFY_TASKS[task]
    definition = json.loads(DEFINITIONS[STATE_MACHINE_OF[spec.operation]].read_text(encoding="utf-8"))
    outcome = "success" if task.endswith("succeeded") else "failure"
    (state,) = [
        s for name, s in notify_tasks(definition).items() if outcome in name and _operation_of(name) == spec.operation
    ]
    assert state["Resource"] == "${LambdaInvokeArn}"
    assert state["Parameters"]["FunctionName"] == "${" + spec.substitution + "}"
    assert {field.removesuffix(".$") for field in state["Parameters"]["Payload"]} == spec.fields
    assert state["ResultSelector"]["httpStatusCode.$"] == "$.SdkHttpMetadata.HttpStatusCode"
    assert [rule["ErrorEquals"] for rule in state["Retry"]] == [LAMBDA_RETRY_ERRORS]
    assert "Catch" not in state
    assert state["TimeoutSeconds"] == 300


def _operation_of(task_name: str) -> str:
    return next(operation for operation in OPERATIONS if operation.split("_")[0].lower() in task_name)


def test_the_lambda_integration_resource_is_what_the_engine_substitutes() -> None:
    assert substitutions()["LambdaInvokeArn"] == LAMBDA_INVOKE


# Runs: each ends in exactly one call of its operation.


@pytest.mark.parametrize("operation", OPERATIONS)
def test_successful_workflow_gets_one_call_of_its_operation_and_the_execution_succeeds(
    scene: Scene,
    operation: str,
) -> None:
    # Given Terraform succeeds and its state file has two outputs
    scene.engine.record_outputs = RECORD_OUTPUTS
    # When the reference engine runs the workflow
    execution = run_workflow(scene, operation)
    # Then Service Catalog received one call of the workflow's operation, and the execution succeeded
    call = only_call(scene.service_catalog)
    assert (call["operation"], call["Status"], execution["status"]) == (API_CALLS[operation], "SUCCEEDED", "SUCCEEDED")
    assert call["WorkflowToken"] == SAMPLE_TOKEN
    assert call.get("Outputs") == (None if operation == "TERMINATE_PROVISIONED_PRODUCT" else SENT_OUTPUTS)
    expected_tag = {"UniqueTag": {"Key": TRACER_TAG_KEY, "Value": "pp-7v4ekvrx2ydva"}}
    assert call.get("ResourceIdentifier") == (expected_tag if operation == "PROVISION_PRODUCT" else None)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_terraform_failure_gets_one_failed_call_with_terraforms_error_and_the_execution_succeeds(
    scene: Scene,
    operation: str,
) -> None:
    # Given the Terraform command fails with colour-coded output
    scene.engine.command_status, scene.engine.command_error_output = "Failed", TERRAFORM_ERROR
    # When the reference engine runs the workflow
    execution = run_workflow(scene, operation)
    # Then one FAILED call of its operation carries Terraform's error; the engine ends the execution SUCCEEDED
    call = only_call(scene.service_catalog)
    assert (call["operation"], call["Status"]) == (API_CALLS[operation], "FAILED")
    assert call["FailureReason"] == "│ Error: creating S3 Bucket (orders): BucketAlreadyExists"
    assert execution["status"] == "SUCCEEDED"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_engine_step_that_raises_gets_one_failed_call_and_its_status_change_makes_no_second(
    scene: Scene,
    operation: str,
) -> None:
    # Given the engine's command step itself raises
    scene.engine.raises = EngineStepError("no worker host answered")
    # When the reference engine runs the workflow
    execution = run_workflow(scene, operation)
    # Then one FAILED call of its operation names the error, and the engine's Fail state ends the execution FAILED
    call = only_call(scene.service_catalog)
    assert (call["operation"], call["Status"]) == (API_CALLS[operation], "FAILED")
    assert call["FailureReason"] == "EngineStepError: no worker host answered"
    assert execution["status"] == "FAILED"
    # And when EventBridge delivers that execution's status change to the safety net, no second call is made
    result = invoke(scene.lambdas, status_change_event(execution))
    assert (result["outcome"], result["operation"]) == ("ALREADY_NOTIFIED", operation)
    assert len(scene.service_catalog.requests) == 1


@pytest.mark.parametrize("operation", OPERATIONS)
def test_runtime_error_quoting_the_state_input_is_reported_without_the_token_or_parameters(
    scene: Scene,
    operation: str,
) -> None:
    # Given a payload without launchRoleArn, which the command step's Parameters read, and a password parameter
    password = "correct-horse-battery-staple"
    execution = run_workflow(
        scene,
        operation,
        leave_out=("launchRoleArn",),
        parameters=[{"key": "db_password", "value": password}],
    )
    # When Step Functions fails the execution on its runtime error, which quotes the state's whole input
    assert (execution["status"], execution["error"]) == ("FAILED", "States.Runtime")
    assert SAMPLE_TOKEN in execution["cause"]
    assert password in execution["cause"]
    assert scene.service_catalog.requests == []
    # And EventBridge delivers the status change to the safety net
    result = invoke(scene.lambdas, status_change_event(execution))
    # Then one FAILED call of the workflow's operation says what failed and where, and neither token nor password
    call = only_call(scene.service_catalog)
    assert (result["outcome"], call["operation"], call["Status"]) == ("NOTIFIED", API_CALLS[operation], "FAILED")
    assert "could not be found in the input '<JSON left out" in call["FailureReason"]
    assert "'$.launchRoleArn'" in call["FailureReason"]
    assert SAMPLE_TOKEN not in call["FailureReason"]
    assert password not in call["FailureReason"]

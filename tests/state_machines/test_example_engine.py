"""examples/engine/engine.asl.json, the example engine, run in moto's interpreter with the generic entry point as its
notify steps (the stack's NotifyFunctionArn) and its Retry / Catch as written."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.step_functions import StepFunctionsInterpreter
from local_aws.template import LOCAL_STACK, load_template, stack_outputs
from tests.conftest import TEMPLATE
from tests.state_machines.conftest import (
    ENGINE_FUNCTION_PREFIX,
    EXAMPLE_ENGINE,
    EngineStepError,
    Scene,
    substitutions,
    unique_name,
    workflow_payload,
)

OUTPUTS = [{"key": "bucket_arn", "value": "arn:aws:s3:::orders", "description": "ARN of the bucket"}]


@pytest.fixture(scope="module")
def example_engine(interpreter: StepFunctionsInterpreter) -> str:
    return interpreter.create_state_machine(
        unique_name("example-engine"), EXAMPLE_ENGINE.read_text(encoding="utf-8"), substitutions()
    )


def run_provision(
    interpreter: StepFunctionsInterpreter, example_engine: str, service_catalog: ServiceCatalogEndpoint
) -> tuple[dict[str, Any], str]:
    record_id = unique_name("rec").replace("-", "")
    service_catalog.register(record_id, "PROVISION_PRODUCT")
    execution = interpreter.run(example_engine, workflow_payload("PROVISION_PRODUCT", record_id))
    return execution, record_id


def accepted_calls(service_catalog: ServiceCatalogEndpoint) -> list[dict[str, Any]]:
    return [{"operation": r.operation, **r.parameters} for r in service_catalog.accepted]


def task_attempts(interpreter: StepFunctionsInterpreter, execution_arn: str, state: str) -> int:
    """How many times the state's task was scheduled (once, plus once per retry)."""
    entered, attempts = False, 0
    for event in interpreter.history(execution_arn):
        if event["type"] == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"] == state
        if entered and event["type"] == "TaskScheduled":
            attempts += 1
    return attempts


def test_success_is_notified_once_with_its_outputs(
    scene: Scene,
    example_engine: str,
) -> None:
    scene.engine.record_outputs = OUTPUTS
    execution, record_id = run_provision(scene.interpreter, example_engine, scene.service_catalog)
    (call,) = accepted_calls(scene.service_catalog)
    assert (call["operation"], call["RecordId"], call["Status"]) == (
        "NotifyProvisionProductEngineWorkflowResult",
        record_id,
        "SUCCEEDED",
    )
    assert call["Outputs"] == [
        {"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders", "Description": "ARN of the bucket"}
    ]
    assert execution["status"] == "SUCCEEDED"


def test_engine_failure_is_caught_and_notified_once_as_failed(
    scene: Scene,
    example_engine: str,
) -> None:
    scene.engine.raises = EngineStepError("terraform apply exited with 1")
    execution, _ = run_provision(scene.interpreter, example_engine, scene.service_catalog)
    (call,) = accepted_calls(scene.service_catalog)
    assert (call["Status"], call["FailureReason"]) == ("FAILED", "EngineStepError: terraform apply exited with 1")
    assert execution["status"] == "SUCCEEDED"  # "Failure reported": the execution did its job


def test_retryable_error_is_retried_to_exactly_one_call(
    scene: Scene,
    example_engine: str,
) -> None:
    # Given Service Catalog throttles every attempt botocore makes in the first invocation (2 attempts here)
    scene.service_catalog.throttle(2)
    scene.engine.record_outputs = OUTPUTS
    # When the example engine runs
    execution, _ = run_provision(scene.interpreter, example_engine, scene.service_catalog)
    # Then its Retry on ServiceCatalogUnavailableError ran the notify step again, and one call went through
    assert task_attempts(scene.interpreter, execution["executionArn"], "Notify success") == 2
    assert [request.answer_status for request in scene.service_catalog.requests] == [400, 400, 200]
    (call,) = accepted_calls(scene.service_catalog)
    assert call["Status"] == "SUCCEEDED"
    assert execution["status"] == "SUCCEEDED"


def test_terminal_error_is_caught_and_reported_as_a_failure(
    scene: Scene,
    example_engine: str,
) -> None:
    # Given the engine's outputs cannot make a valid request (an output without a name)
    scene.engine.record_outputs = [{"key": "", "value": "x"}]
    # When the example engine runs
    execution, _ = run_provision(scene.interpreter, example_engine, scene.service_catalog)
    # Then the success notification's InvalidEventError was caught and one FAILED call says why
    (call,) = accepted_calls(scene.service_catalog)
    assert (call["Status"], call["FailureReason"]) == (
        "FAILED",
        "InvalidEventError: outputs[0].key: must be a non-empty string",
    )
    assert task_attempts(scene.interpreter, execution["executionArn"], "Notify success") == 1
    assert execution["status"] == "SUCCEEDED"


# The example engine's own stack, end to end.

EXAMPLE = EXAMPLE_ENGINE.parent


def example_stack_substitutions() -> dict[str, str]:
    """The state machine's substitutions as examples/engine/template.yaml gives them: its own step's ARN, and the
    notifier's generic entry point imported by the export name this stack's template gives it."""
    example = load_template(EXAMPLE / "template.yaml")
    given = example["Resources"]["EngineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    imported = given["NotifyFunctionArn"]["Fn::ImportValue"]["Fn::Sub"].replace("${NotifierStackName}", LOCAL_STACK)
    exports = {
        output["Export"]["Name"]["Fn::Sub"].replace("${AWS::StackName}", LOCAL_STACK): name
        for name, output in TEMPLATE["Outputs"].items()
        if "Export" in output
    }
    assert given["EngineFunctionArn"] == {"Fn::GetAtt": ["EngineStepFunction", "Arn"]}
    return {
        "NotifyFunctionArn": stack_outputs(TEMPLATE)[exports[imported]],
        "EngineFunctionArn": f"{ENGINE_FUNCTION_PREFIX}example-step",
    }


def load_module(path: Path, name: str) -> Any:
    """A module of examples/engine/, imported from its file (as Lambda imports the step from its CodeUri)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_step() -> Any:
    return load_module(EXAMPLE / "step.py", "example_step")


@pytest.mark.parametrize(("failure", "status"), [(None, "SUCCEEDED"), ("the plan failed", "FAILED")])
def test_the_example_stack_runs_end_to_end_and_notifies_once(scene: Scene, failure: str | None, status: str) -> None:
    substitutions_ = example_stack_substitutions()
    scene.interpreter.register(substitutions_["EngineFunctionArn"], load_step().handler)
    machine = scene.interpreter.create_state_machine(
        unique_name("example-engine-stack"), EXAMPLE_ENGINE.read_text(encoding="utf-8"), substitutions_
    )
    starter = load_module(EXAMPLE / "start_execution.py", "example_start")
    payload = {**starter.SAMPLE, "recordId": unique_name("rec").replace("-", "")}
    scene.service_catalog.register(payload["recordId"], "PROVISION_PRODUCT")
    execution = scene.interpreter.wait(starter.start(scene.interpreter.client, machine, payload, failure))
    assert execution["name"] == f"{payload['provisionedProductId']}-{payload['recordId']}"
    (call,) = scene.service_catalog.accepted
    assert (call.parameters["RecordId"], call.parameters["Status"]) == (payload["recordId"], status)
    if failure is None:
        assert call.parameters["Outputs"][0]["OutputKey"] == "bucket_arn"
    else:
        assert "the plan failed" in call.parameters["FailureReason"]


def test_the_start_script_without_a_region_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    starter = load_module(EXAMPLE / "start_execution.py", "example_start_no_region")
    assert starter.main(["arn:aws:states:us-east-1:111122223333:stateMachine:example-engine"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("start_execution.py: NoRegionError: ")

"""State machines run for real in moto's interpreter, their Lambda tasks dispatched in-process.

Every function of ``template.yaml`` is registered under the ARN the local stack gives it, running the handler the
template names: a task whose ``FunctionName`` is a stack output runs that output's entry point, as in AWS. The
engine's own functions (the Terraform run, the state file's outputs) are stand-ins a test sets up.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from engine_result_notifier.sweep import Sweep
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.step_functions import LAMBDA_INVOKE, StepFunctionsInterpreter
from local_aws.template import LOCAL_ACCOUNT, LOCAL_REGION, function_arn, functions, stack_outputs
from tests.conftest import SAMPLE_TOKEN, TEMPLATE, LocalFunctions, entry_point

STATE_MACHINES = Path(__file__).resolve().parent
EXAMPLE_ENGINE = STATE_MACHINES.parent.parent / "examples" / "engine" / "engine.asl.json"
ENGINE_FUNCTION_PREFIX = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:engine-"
_names = itertools.count()


class EngineStepError(Exception):
    """What an engine step raises when it breaks (not a Terraform failure: the step itself)."""


@dataclass
class Engine:
    """The engine's own Lambda functions, answering as the reference engine's do; a test sets what happens."""

    command_status: str = "Success"
    command_error_output: str = ""
    raises: Exception | None = None
    record_outputs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def run_command(self, event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        self.calls.append(f"command {event['operation']}")
        if self.raises is not None:
            raise self.raises
        return {"invocationStatus": self.command_status, "errorMessage": self.command_error_output}

    def get_state_file_outputs(self, event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        self.calls.append("outputs")
        return {"recordOutputs": self.record_outputs}

    def run(self, event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        """The example engine's one step: Terraform's outputs, or the step's own error."""
        self.calls.append(f"run {event['operation']}")
        if self.raises is not None:
            raise self.raises
        return {"outputs": self.record_outputs}


@pytest.fixture(scope="session")
def interpreter(dynamodb_url: str, lambdas: LocalFunctions) -> Iterator[StepFunctionsInterpreter]:
    """moto's interpreter on the session's moto server, every template function registered under its stack ARN."""
    with StepFunctionsInterpreter(dynamodb_url).running() as running:
        for function in functions(TEMPLATE):
            running.register(function_arn(TEMPLATE, function), entry_point(lambdas, function))
        yield running


def register_engine(interpreter: StepFunctionsInterpreter) -> Engine:
    """The engine's functions, newly registered under the ARNs the state machines here name."""
    stand_in = Engine()
    interpreter.register(f"{ENGINE_FUNCTION_PREFIX}run-command", stand_in.run_command)
    interpreter.register(f"{ENGINE_FUNCTION_PREFIX}get-state-file-outputs", stand_in.get_state_file_outputs)
    interpreter.register(f"{ENGINE_FUNCTION_PREFIX}run", stand_in.run)
    return stand_in


@pytest.fixture
def engine(interpreter: StepFunctionsInterpreter) -> Engine:
    """The engine's functions, registered afresh for each test."""
    return register_engine(interpreter)


def substitutions(**extra: str) -> dict[str, str]:
    """The DefinitionSubstitutions a state machine here takes: the stack's outputs by name, the engine's own
    functions, and the Lambda integration's resource."""
    return {
        **stack_outputs(TEMPLATE),
        "LambdaInvokeArn": LAMBDA_INVOKE,
        "SendApplyCommandFunctionArn": f"{ENGINE_FUNCTION_PREFIX}run-command",
        "SendDestroyCommandFunctionArn": f"{ENGINE_FUNCTION_PREFIX}run-command",
        "GetStateFileOutputsFunctionArn": f"{ENGINE_FUNCTION_PREFIX}get-state-file-outputs",
        "EngineFunctionArn": f"{ENGINE_FUNCTION_PREFIX}run",
        **extra,
    }


def unique_name(prefix: str) -> str:
    """A name no earlier state machine or execution of this test session has (moto keeps them all)."""
    return f"{prefix}-{next(_names)}"


def workflow_payload(
    operation: str, record_id: str, leave_out: tuple[str, ...] = (), **overrides: Any
) -> dict[str, Any]:
    """The payload Service Catalog sends an engine (../shared/reference/samples/workflow-payload.json's fields),
    with some fields overridden or left out."""
    payload = {
        "token": SAMPLE_TOKEN,
        "operation": operation,
        "provisionedProductId": "pp-7v4ekvrx2ydva",
        "provisionedProductName": "orders-bucket",
        "productId": "prod-3ivw5wkpqv6bk",
        "provisioningArtifactId": "pa-ymccakuf3xewe",
        "recordId": record_id,
        "launchRoleArn": "arn:aws:iam::111122223333:role/SCLaunchRole",
        "artifact": {"path": "s3://artifacts-111122223333/orders-bucket.tar.gz", "type": "AWS_S3"},
        "identity": {
            "principal": "arn:aws:sts::111122223333:assumed-role/Admin/jane",
            "awsAccountId": "111122223333",
            "organizationId": "o-a1b2c3d4e5",
        },
        "parameters": [{"key": "bucket_name", "value": "orders"}],
        "tags": [{"key": "team", "value": "payments"}],
    }
    return {name: value for name, value in {**payload, **overrides}.items() if name not in leave_out}


# AWS's reference Terraform engine, its two state machines written from its notify task table.

DEFINITIONS = {
    "manage": STATE_MACHINES / "reference_engine_manage.asl.json",
    "terminate": STATE_MACHINES / "reference_engine_terminate.asl.json",
}
STATE_MACHINE_OF = {
    "PROVISION_PRODUCT": "manage",
    "UPDATE_PROVISIONED_PRODUCT": "manage",
    "TERMINATE_PROVISIONED_PRODUCT": "terminate",
}
API_CALLS = {
    "PROVISION_PRODUCT": "NotifyProvisionProductEngineWorkflowResult",
    "UPDATE_PROVISIONED_PRODUCT": "NotifyUpdateProvisionedProductEngineWorkflowResult",
    "TERMINATE_PROVISIONED_PRODUCT": "NotifyTerminateProvisionedProductEngineWorkflowResult",
}
OPERATIONS = list(API_CALLS)


def create_reference_engine(interpreter: StepFunctionsInterpreter) -> dict[str, str]:
    """The reference engine's two state machines, newly created: the state machine ARN for each operation."""
    arns = {
        name: interpreter.create_state_machine(
            unique_name(f"reference-engine-{name}"), path.read_text(encoding="utf-8"), substitutions()
        )
        for name, path in DEFINITIONS.items()
    }
    return {operation: arns[machine] for operation, machine in STATE_MACHINE_OF.items()}


@pytest.fixture(scope="module")
def reference_engine(interpreter: StepFunctionsInterpreter) -> dict[str, str]:
    """The reference engine's two state machines, created once per module."""
    return create_reference_engine(interpreter)


@dataclass(frozen=True)
class Scene:
    """What a state machine test runs against: the functions over the local services (an empty table, a Service
    Catalog with no faults), moto's interpreter with the reference engine's state machines, and the engine's own
    functions, registered afresh."""

    lambdas: LocalFunctions
    service_catalog: ServiceCatalogEndpoint
    interpreter: StepFunctionsInterpreter
    reference_engine: dict[str, str]
    """The state machine ARN for each operation."""
    engine: Engine
    dynamodb_url: str


@pytest.fixture
def scene(
    local_services: LocalFunctions,
    service_catalog: ServiceCatalogEndpoint,
    interpreter: StepFunctionsInterpreter,
    reference_engine: dict[str, str],
    engine: Engine,
    dynamodb_url: str,
) -> Scene:
    return Scene(local_services, service_catalog, interpreter, reference_engine, engine, dynamodb_url)


def start_workflow(scene: Scene, operation: str, **payload: Any) -> str:
    """Start one workflow as Service Catalog starts it (the execution named as the engine names it); its ARN."""
    record_id = unique_name("rec").replace("-", "")
    scene.service_catalog.register(record_id, operation)
    execution_input = workflow_payload(operation, record_id, **payload)
    name = f"{execution_input['provisionedProductId']}-{record_id}"
    return scene.interpreter.start(scene.reference_engine[operation], execution_input, name)


def run_workflow(scene: Scene, operation: str, **payload: Any) -> dict[str, Any]:
    """Run one workflow to its end; ``DescribeExecution`` of it."""
    return scene.interpreter.wait(start_workflow(scene, operation, **payload))


def only_call(service_catalog: ServiceCatalogEndpoint) -> dict[str, Any]:
    """The one request Service Catalog received, which it accepted."""
    (request,) = service_catalog.requests
    assert request.answer_status == 200, request.answer_error
    return {"operation": request.operation, **request.parameters}


BOTOCORE_ATTEMPTS = 2
"""SERVICE_CATALOG_MAX_ATTEMPTS in the tests: the attempts of one invocation's notify call."""
LOST_RECORD_OUTPUTS = [{"key": "bucket_arn", "value": "arn:aws:s3:::orders", "description": None}]


def lost_status_change(scene: Scene, operation: str = "PROVISION_PRODUCT") -> dict[str, Any]:
    """A workflow Terraform completed, whose success notify was throttled to a FAILED execution, and whose status
    change is never delivered; ``DescribeExecution`` of it."""
    scene.engine.record_outputs = LOST_RECORD_OUTPUTS
    scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    execution = run_workflow(scene, operation)
    assert (execution["status"], execution["error"]) == ("FAILED", "ServiceCatalogUnavailableError")
    return execution


def sweep_over(scene: Scene, **settings: Any) -> Sweep:
    """A sweep with the deployed function's settings, rescue and clients, over the scene's state machines."""
    swept = tuple(sorted(set(scene.reference_engine.values())))
    wiring = scene.lambdas.module("SweepFunction")
    return Sweep(
        replace(scene.lambdas.settings, engine_state_machine_arns=swept, **settings),
        wiring.rescuer,
        wiring.step_functions_client,
        scene.lambdas.dynamodb_client,
    )

"""AWS's reference Terraform engine, as a model that writes into Step Functions the history its state machines write.

Its tasks and payloads follow ../shared/reference/engine-events.md, section 2, field for field: one notify function
per operation; a notify task retries only Lambda's own errors (``Lambda.ServiceException`` ...) and has no Catch,
so any other error of the notify function fails the execution at once; after a failure notification the execution
ends ``SUCCEEDED`` for a Terraform failure and ``FAILED`` (no error, no cause) otherwise. ``test_engine_model``
holds this model to moto's interpreter running the reference engine's own definitions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tests.simulation.services import ACCOUNT, REGION, ExecutionModel, Killed, StepFunctions

TERRAFORM_ERROR = "Error running terraform-runner script"
TRACER_TAG_KEY = "SERVICE_CATALOG_TERRAFORM_INTEGRATION-DO_NOT_DELETE"
LAMBDA_ERRORS = ("Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException")
LAMBDA_SERVICE_ERROR = ("Lambda.ServiceException", "Lambda was unable to start the function (ServiceException)")
NOTIFY_ATTEMPTS = 6
"""A notify task's attempts: the first and five retries of Lambda's own errors."""

PLANS = (
    "succeeds",
    "terraform_fails",
    "step_fails",
    "runtime_error",
    "times_out",
    "times_out_during_notify",
    "stopped",
    "stopped_during_notify",
    "times_out_while_notify_retries",
    "stopped_while_notify_retries",
)
"""What one run of the engine does: Terraform succeeds or fails; an engine step fails (caught, then notified, its
message quoting the workflow token); a runtime error no Catch can catch (``States.Runtime``, its cause quoting the
input); the execution times out or an operator stops it, before its notify task, while that task runs, or while
it waits to retry a notify attempt that Lambda failed."""


_ENDED_IN_NOTIFY = frozenset(
    {
        "times_out_during_notify",
        "stopped_during_notify",
        "times_out_while_notify_retries",
        "stopped_while_notify_retries",
    }
)


@dataclass(frozen=True)
class Intended:
    """What a run's last notify task meant to send: the status, and the outputs of a success."""

    status: str
    outputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Workload:
    """One provisioning workflow as Service Catalog hands it to the engine."""

    operation: str
    record_id: str
    workflow_token: str
    secret: str
    product_id: str

    def payload(self) -> dict[str, Any]:
        """The workflow payload (../shared/reference/samples/workflow-payload.json's fields)."""
        return {
            "token": self.workflow_token,
            "operation": self.operation,
            "provisionedProductId": self.product_id,
            "provisionedProductName": f"product-{self.record_id}",
            "productId": "prod-3ivw5wkpqv6bk",
            "provisioningArtifactId": "pa-ymccakuf3xewe",
            "recordId": self.record_id,
            "launchRoleArn": f"arn:aws:iam::{ACCOUNT}:role/SCLaunchRole",
            "artifact": {"path": f"s3://artifacts-{ACCOUNT}/product.tar.gz", "type": "AWS_S3"},
            "identity": {"principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/jane", "awsAccountId": ACCOUNT},
            "parameters": [{"key": "bucket_name", "value": "orders"}, {"key": "db_password", "value": self.secret}],
            "tags": [{"key": "team", "value": "payments"}],
        }


NotifyFunction = Callable[[str, dict[str, Any]], None]
"""Invokes a notify function (by name) with a payload; raises what the function raised, or ``Killed``."""


class ReferenceEngine:
    """Runs workflows as the reference engine's two state machines do, writing each event into Step Functions."""

    def __init__(self, step_functions: StepFunctions, entry_points: dict[str, str], machines: dict[str, str]) -> None:
        self._sfn = step_functions
        self._entry_points = entry_points
        """The notify function's name for each operation."""
        self._machines = machines
        """The state machine ARN for each operation."""

    def start(self, workload: Workload) -> ExecutionModel:
        name = f"{workload.product_id}-{workload.record_id}"
        return self._sfn.start(self._machines[workload.operation], name, json.dumps(workload.payload()))

    def run(
        self,
        execution: ExecutionModel,
        workload: Workload,
        plan: str,
        invoke: NotifyFunction,
        lambda_service_errors: int = 0,
    ) -> Intended | None:
        """One run, from the start or from a redrive, to the execution's end; what its notify task meant to send
        (None: it scheduled none). ``lambda_service_errors``: notify attempts Lambda itself fails first."""
        manage = workload.operation != "TERMINATE_PROVISIONED_PRODUCT"
        command = "Send apply command" if manage else "Send destroy command"
        if plan == "runtime_error":
            self._sfn.close(execution, "FAILED", "States.Runtime", _runtime_cause("Generate Tracer Tag", execution))
            return None
        scheduled = self._task(execution, command, "engine-run-command", _command_payload(workload))
        if plan in ("times_out", "stopped"):
            self._end_unfinished(execution, plan)
            return None
        if plan == "step_fails":
            error = {"errorMessage": step_error_message(workload), "errorType": "EngineStepError"}
            self._fail_task(execution, "EngineStepError", json.dumps({**error, "requestId": "r", "stackTrace": []}))
            return self._notify_failure(
                execution, workload, "EngineStepError", json.dumps(error), invoke, lambda_service_errors, wrapper=False
            )
        failed_in_terraform = plan == "terraform_fails"
        status = "Failed" if failed_in_terraform else "Success"
        self._succeed_task(execution, scheduled, {"invocationStatus": status, "errorMessage": ""})
        if failed_in_terraform:
            return self._notify_failure(
                execution,
                workload,
                TERRAFORM_ERROR,
                terraform_error_output(workload),
                invoke,
                lambda_service_errors,
                wrapper=True,
            )
        outputs = terraform_outputs(workload) if workload.operation != "TERMINATE_PROVISIONED_PRODUCT" else []
        if manage:
            got = self._task(execution, "Get state file outputs", "engine-get-state-file-outputs", {})
            self._succeed_task(execution, got, {"recordOutputs": outputs})
        payload = _success_payload(workload, outputs)
        intended = Intended("SUCCEEDED", tuple((o["key"], o["value"]) for o in outputs))
        if plan in _ENDED_IN_NOTIFY:
            self._end_in_notify(execution, workload, plan, payload, invoke)
            return intended
        if self._notify(execution, workload, payload, invoke, lambda_service_errors):
            self._sfn.close(execution, "SUCCEEDED")
        return intended

    def _end_in_notify(
        self, execution: ExecutionModel, workload: Workload, plan: str, payload: dict[str, Any], invoke: NotifyFunction
    ) -> None:
        """The execution times out or is stopped while its notify task runs, or while it waits to retry an attempt
        Lambda failed (the function never ran)."""
        self._task(execution, "Notify success result", self._arn(workload), payload)
        if plan.endswith("_while_notify_retries"):
            self._fail_task(execution, *LAMBDA_SERVICE_ERROR)
            self._end_unfinished(execution, plan)
            return
        self._end_unfinished(execution, plan)
        try:
            invoke(self._entry_points[workload.operation], payload)  # it runs on; its result is recorded nowhere
        except Exception:  # noqa: BLE001, S110 (the task is gone: Step Functions records no result of it)
            pass
        except Killed:
            pass

    def _notify_failure(
        self,
        execution: ExecutionModel,
        workload: Workload,
        error: str,
        message: str,
        invoke: NotifyFunction,
        lambda_service_errors: int,
        *,
        wrapper: bool,
    ) -> Intended:
        payload = _failure_payload(workload, error, message)
        if self._notify(execution, workload, payload, invoke, lambda_service_errors):
            if wrapper:
                self._sfn.close(execution, "SUCCEEDED")
            else:
                self._sfn.close(execution, "FAILED")  # the Fail state: no error, no cause
        return Intended("FAILED")

    def _notify(
        self,
        execution: ExecutionModel,
        workload: Workload,
        payload: dict[str, Any],
        invoke: NotifyFunction,
        lambda_service_errors: int,
    ) -> bool:
        """The notify task with its Retry; whether it succeeded (if not, the execution failed)."""
        for attempt in range(NOTIFY_ATTEMPTS):
            scheduled = self._task(execution, "Notify result", self._arn(workload), payload)
            if attempt < lambda_service_errors:
                failure = LAMBDA_SERVICE_ERROR
            else:
                failure = self._invoked(workload, payload, invoke)
                if failure is None:
                    self._succeed_task(execution, scheduled, {"outcome": "NOTIFIED"})
                    return True
            self._fail_task(execution, *failure)
            if failure[0] not in LAMBDA_ERRORS:
                break
        self._sfn.close(execution, "FAILED", *failure)
        return False

    def _invoked(self, workload: Workload, payload: dict[str, Any], invoke: NotifyFunction) -> tuple[str, str] | None:
        """Invoke the notify function; None if it returned, else the error and cause Step Functions records."""
        try:
            invoke(self._entry_points[workload.operation], payload)
        except Killed:
            timed_out = {"errorMessage": "Task timed out after 30.00 seconds", "errorType": "Sandbox.Timedout"}
            return "Sandbox.Timedout", json.dumps(timed_out)
        except Exception as error:  # noqa: BLE001 (every function error becomes a task failure, as in Lambda)
            runtime = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": "r",
                "stackTrace": [],
            }
            return type(error).__name__, json.dumps(runtime)
        return None

    def _arn(self, workload: Workload) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self._entry_points[workload.operation]}"

    def _task(self, execution: ExecutionModel, state: str, function: str, payload: dict[str, Any]) -> int:
        """A Lambda task entered, scheduled and started; the id of its ``TaskScheduled``."""
        function_arn = (
            function if function.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        )
        self._sfn.record(execution, "TaskStateEntered", stateEnteredEventDetails={"name": state, "input": "{}"})
        scheduled = self._sfn.record(
            execution,
            "TaskScheduled",
            taskScheduledEventDetails={
                "resourceType": "lambda",
                "resource": "invoke",
                "region": REGION,
                "parameters": json.dumps({"FunctionName": function_arn, "Payload": payload}),
                "timeoutInSeconds": 300,
            },
        )
        self._sfn.record(
            execution, "TaskStarted", taskStartedEventDetails={"resourceType": "lambda", "resource": "invoke"}
        )
        return scheduled

    def _succeed_task(self, execution: ExecutionModel, scheduled: int, result: dict[str, Any]) -> None:
        self._sfn.record(
            execution,
            "TaskSucceeded",
            taskSucceededEventDetails={
                "resourceType": "lambda",
                "resource": "invoke",
                "output": json.dumps({"Payload": result, "StatusCode": 200}),
            },
        )

    def _fail_task(self, execution: ExecutionModel, error: str, cause: str) -> None:
        self._sfn.record(
            execution,
            "TaskFailed",
            taskFailedEventDetails={"resourceType": "lambda", "resource": "invoke", "error": error, "cause": cause},
        )

    def _end_unfinished(self, execution: ExecutionModel, plan: str) -> None:
        if plan.startswith("times_out"):
            self._sfn.close(execution, "TIMED_OUT", "States.Timeout")
        else:
            self._sfn.close(execution, "ABORTED")


def _command_payload(workload: Workload) -> dict[str, Any]:
    payload = workload.payload()
    return {key: payload[key] for key in ("operation", "provisionedProductId", "recordId", "launchRoleArn")}


def _common(workload: Workload) -> dict[str, Any]:
    return {
        "token": workload.workflow_token,
        "awsAccountId": ACCOUNT,
        "provisionedProductId": workload.product_id,
        "provisionedProductName": f"product-{workload.record_id}",
        "recordId": workload.record_id,
    }


def _tracer_tag(workload: Workload) -> dict[str, str]:
    return {"key": TRACER_TAG_KEY, "value": workload.product_id}


def _success_payload(workload: Workload, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The success notify task's payload: provision (outputs, tracer tag), update (outputs) or terminate."""
    if workload.operation == "PROVISION_PRODUCT":
        return {**_common(workload), "outputs": outputs, "tracerTag": _tracer_tag(workload)}
    if workload.operation == "UPDATE_PROVISIONED_PRODUCT":
        return {**_common(workload), "outputs": outputs}
    return _common(workload)


def _failure_payload(workload: Workload, error: str, message: str) -> dict[str, Any]:
    """The failure notify task's payload: only provision's names its operation, and carries the tracer tag."""
    failure = {"error": error, "errorMessage": message}
    if workload.operation == "PROVISION_PRODUCT":
        return {**_common(workload), "operation": workload.operation, **failure, "tracerTag": _tracer_tag(workload)}
    return {**_common(workload), **failure}


def step_error_message(workload: Workload) -> str:
    """What a failing engine step says: engines quote the workflow token in their own words, whole as plain text,
    cut off, or escaped (JSON inside JSON, "/" and "=" escaped as some writers do, or as a URL)."""
    token = workload.workflow_token
    quoted = [
        f"the SSM command could not be sent: workflow token {token} is not valid for this account",
        f"the SSM command could not be sent for token={token}"[:-9],
        # {"token": ...} written by a writer that escapes "/" and "=", then quoted inside another JSON string
        'the SSM command could not be sent: {\\"token\\": \\"'
        + token.replace("/", "\\/").replace("=", "\\u003d")
        + '\\"}',
        f"the SSM command could not be sent to https://engine.example/callback?token={quote(token, safe='')}",
    ]
    return quoted[sum(map(ord, workload.record_id)) % len(quoted)]


def terraform_error_output(workload: Workload) -> str:
    """What the SSM command running Terraform says when it fails."""
    return f"Error: creating bucket {workload.record_id}: BucketAlreadyExists\n  on main.tf line 1"


def terraform_outputs(workload: Workload) -> list[dict[str, Any]]:
    """Terraform's outputs as the reference engine passes them: every value a string, sensitive ones masked."""
    return [
        {"key": "bucket_arn", "value": f"arn:aws:s3:::orders-{workload.record_id}", "description": None},
        {"key": "ports", "value": "[5432, 5433]", "description": "The database's ports"},
        {"key": "admin_password", "value": "(sensitive value)", "description": None},
    ]


def _runtime_cause(state: str, execution: ExecutionModel) -> str:
    """Step Functions' own runtime error, quoting the state's whole input (the token and the parameters in it)."""
    return (
        f"An error occurred while executing the state '{state}' (entered at the event id #2). The JSONPath "
        f"'$.provisionedProductId' specified for the field 'value.$' could not be found in the input "
        f"'{execution.input}'"
    )

"""``make operator-demo``: the operators' commands, tried without an AWS account.

It starts the local services (moto's server for DynamoDB, Step Functions, SQS and CloudFormation, with the local
Service Catalog on the same endpoint), seeds them, and runs the installed ``engine-result-notifier`` command as
``make`` runs it with ``STACK=``, printing each command line and what it printed. The commands read their settings
from the stack's outputs and parameters, as they would from the deployed stack: a stand-in stack in moto's
CloudFormation (``local_aws.stack``) answers ``DescribeStacks``.

- a record the engine notified (``events/provision-succeeded.json`` at its entry point): ``show-record``;
- an engine execution stopped before its notify step (the example engine in moto's interpreter, its engine step
  held until the stop), whose record nothing notified: ``show-record``, then ``rescue`` as a dry run, then with
  ``YES=1``, then ``show-record`` again;
- that execution's status change in the dead-letter queue, as Lambda's OnFailure destination files it:
  ``replay-dead-letters`` as a dry run, then with ``SEND=1`` (no second call: the record is notified).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from engine_result_notifier.settings import ENTRY_POINT_VARIABLES
from local_aws import dynamodb
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.stack import create_stand_in_stack
from local_aws.step_functions import LAMBDA_INVOKE, StepFunctionsInterpreter, status_change_event
from local_aws.template import (
    IDEMPOTENCY_TABLE,
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    NOTIFY_FUNCTION,
    PROJECT_ROOT,
    declared_environment,
    load_template,
    stack_outputs,
)

COMMAND = Path(sys.executable).parent / "engine-result-notifier"
ENGINE_STEP = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:example-engine-step"
RECORD_STOPPED = "rec-demo7stopped"


def main() -> int:
    template = load_template()
    service_catalog = ServiceCatalogEndpoint()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(dynamodb.DynamoDBServer(service_catalog=service_catalog))
        environment = _environment(template, server.endpoint_url)
        # The seeding runs the functions in this process: their logs and metrics would drown the commands' output.
        os.environ.update({**environment, "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"})
        clients = {"endpoint_url": server.endpoint_url, "region_name": LOCAL_REGION}
        dynamodb.create_idempotency_table(boto3.client("dynamodb", **clients), IDEMPOTENCY_TABLE)
        sqs = boto3.client("sqs", **clients)
        queue_url = sqs.create_queue(QueueName="engine-result-notifier-dead-letters")["QueueUrl"]
        stack_name = create_stand_in_stack(boto3.client("cloudformation", **clients), queue_url)
        notified = _notified_record()
        interpreter = stack.enter_context(StepFunctionsInterpreter(server.endpoint_url).running())
        stopped = _stopped_execution(interpreter, template)
        sqs.send_message(QueueUrl=queue_url, MessageBody=_on_failure(status_change_event(stopped)))
        print(f"Local services on {server.endpoint_url}: a record the engine notified ({notified}), an execution")
        print(f"stopped before its notify step ({stopped['executionArn']}),")
        print("and its status change in the dead-letter queue.\n")
        given = f"STACK={stack_name}"
        steps = [
            (["show-record", notified], "", f"make show-record {given} RECORD={notified}"),
            (["show-record", RECORD_STOPPED], "", f"make show-record {given} RECORD={RECORD_STOPPED}"),
            (["rescue", stopped["executionArn"]], "n\n", f"make rescue {given} EXECUTION=<its ARN>   # answered n"),
            (["rescue", stopped["executionArn"], "--yes"], "", f"make rescue {given} EXECUTION=<its ARN> YES=1"),
            (["show-record", RECORD_STOPPED], "", f"make show-record {given} RECORD={RECORD_STOPPED}"),
            (["replay-dead-letters"], "", f"make replay-dead-letters {given}"),
            (["replay-dead-letters", "--send"], "", f"make replay-dead-letters {given} SEND=1"),
        ]
        for arguments, answer, shown in steps:
            print(f"$ {shown}", flush=True)
            completed = subprocess.run(  # noqa: S603 (the installed command, with fixed arguments)
                [str(COMMAND), "--stack", stack_name, *arguments],
                env=_without_settings({**os.environ, **environment}),
                input=answer,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            print((completed.stdout + completed.stderr).rstrip())
            print(f"(exit status {completed.returncode})\n", flush=True)
        print(f"Service Catalog received {len(service_catalog.requests)} request(s), one per record.")
    return 0


def _environment(template: dict[str, Any], endpoint_url: str) -> dict[str, str]:
    """The generic function's settings, as an operator sets them from the stack's outputs, over local services."""
    declared = declared_environment(template, NOTIFY_FUNCTION)
    return {
        **declared,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "ENGINE_RESULT_NOTIFIER_VIA_MAKE": "1",
    }


def _without_settings(environment: dict[str, str]) -> dict[str, str]:
    """The environment with none of the functions' settings: the commands read them from the stack."""
    settings = {"IDEMPOTENCY_TABLE_NAME", "DEAD_LETTER_QUEUE_URL", "SENSITIVE_OUTPUTS", *ENTRY_POINT_VARIABLES.values()}
    return {name: value for name, value in environment.items() if name not in settings}


def _notified_record() -> str:
    """A record the engine's own notify task notified: a sample at its entry point."""
    sys.path.insert(0, str(PROJECT_ROOT / "src"))
    from engine_result_notifier.handlers.notify import provision_handler  # noqa: PLC0415 (after the environment)

    event = json.loads((PROJECT_ROOT / "events" / "provision-succeeded.json").read_text(encoding="utf-8"))
    result = provision_handler(event, LocalLambdaContext())
    record_id: str = result["recordId"]
    return record_id


def _stopped_execution(interpreter: StepFunctionsInterpreter, template: dict[str, Any]) -> dict[str, Any]:
    """The example engine's execution, stopped while its engine step runs: nothing notified its record."""
    definition = (PROJECT_ROOT / "examples" / "engine" / "engine.asl.json").read_text(encoding="utf-8")
    substitutions = {**stack_outputs(template), "EngineFunctionArn": ENGINE_STEP, "LambdaInvokeArn": LAMBDA_INVOKE}
    machine = interpreter.create_state_machine("ExampleEngine", definition, substitutions)
    payload = json.loads((PROJECT_ROOT / "events" / "provision-succeeded.json").read_text(encoding="utf-8"))
    workflow = {
        "token": payload["token"],
        "operation": "PROVISION_PRODUCT",
        "recordId": RECORD_STOPPED,
        "provisionedProductId": "pp-demo7stopped",
    }
    interpreter.register(ENGINE_STEP, lambda event, context: {"outputs": []})
    with interpreter.hold(ENGINE_STEP) as held:
        execution_arn = interpreter.start(machine, workflow, f"pp-demo7stopped-{RECORD_STOPPED}")
        held.wait_until_invoked()
        interpreter.client.stop_execution(executionArn=execution_arn)
        interpreter.keep_late_results_out(execution_arn)
        held.release()
    return interpreter.wait(execution_arn)


def _on_failure(event: dict[str, Any]) -> str:
    """What Lambda's OnFailure destination files for a status change whose deliveries all failed."""
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorType": "StepFunctionsUnavailableError", "errorMessage": "Rate exceeded"},
        }
    )


if __name__ == "__main__":
    sys.exit(main())

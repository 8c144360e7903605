"""Start one execution of the example engine with the input and name an engine's intake gives one: a workflow
payload as Service Catalog hands it to an engine (docs/integration.md, "The event contract") and the name
``<provisioned product>-<record>``. The example has no intake of its own (Service Catalog's queue and a parser).

    python examples/engine/start_execution.py <EngineStateMachineArn output> [payload.json] [--fail MESSAGE]

Without a payload file it uses events/'s sample record. Service Catalog accepts a notification only for a record
it handed an engine: with a made-up record the notify step ends in ``NotificationRejectedError`` (the state
machine's Catch shows a refusal); the execution still shows every step. Prints the execution's ARN.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SAMPLE = {
    "token": "QVFJQ0FIaGZsY3pZcnB2bjFXd2Z0T1lKeEFkZmY4bXZ0Vk5lZ3RzQ3RzU2JUMDJ3PT0=",
    "operation": "PROVISION_PRODUCT",
    "provisionedProductId": "pp-7v4ekvrx2ydva",
    "provisionedProductName": "orders-bucket",
    "recordId": "rec-ka2yffz3cwguk",
    "identity": {"awsAccountId": "111122223333"},
}


def start(client: Any, state_machine_arn: str, payload: dict[str, Any], failure: str | None = None) -> str:
    """Start the execution; its ARN."""
    execution_input = {**payload, **({"exampleFailure": failure} if failure else {})}
    name = f"{payload['provisionedProductId']}-{payload['recordId']}"
    started = client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input))
    arn: str = started["executionArn"]
    return arn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("state_machine_arn", help="the example stack's EngineStateMachineArn output")
    parser.add_argument("payload", nargs="?", type=Path, help="a workflow payload (JSON); the sample's if none")
    parser.add_argument("--fail", metavar="MESSAGE", help="make the engine step fail with this message")
    arguments = parser.parse_args(argv)
    payload = json.loads(arguments.payload.read_text(encoding="utf-8")) if arguments.payload else SAMPLE
    try:
        print(start(boto3.client("stepfunctions"), arguments.state_machine_arn, payload, arguments.fail))
    except (BotoCoreError, ClientError) as error:  # no region, no credentials, a refusal: one line, not a traceback
        print(f"start_execution.py: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

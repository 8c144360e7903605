"""The operators' commands' settings from the deployed stack: its outputs and parameters, read with CloudFormation's
``DescribeStacks``, as the environment variables the functions themselves are given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier.errors import StackUnavailableError

OUTPUT_VARIABLES = {
    "IdempotencyTableName": "IDEMPOTENCY_TABLE_NAME",
    "NotifyProvisionResultFunctionArn": "PROVISION_ENTRY_POINT",
    "NotifyUpdateResultFunctionArn": "UPDATE_ENTRY_POINT",
    "NotifyTerminateResultFunctionArn": "TERMINATE_ENTRY_POINT",
    "NotifyFunctionArn": "GENERIC_ENTRY_POINT",
    "DeadLetterQueueUrl": "DEAD_LETTER_QUEUE_URL",
}
"""The stack's outputs the commands use, and the variable each stands for (an entry point's ARN is taken as its
function's name)."""
PARAMETER_VARIABLES = {
    "SensitiveOutputs": "SENSITIVE_OUTPUTS",
    "EngineStateMachineArns": "ENGINE_STATE_MACHINE_ARNS",
    "RedriveGraceMinutes": "REDRIVE_GRACE_MINUTES",
    "SweepLookBackHours": "SWEEP_LOOK_BACK_HOURS",
}
"""The stack's parameters the functions are given as variables, which a rescue decides with."""


def new_client() -> Any:
    """A CloudFormation client; the endpoint comes from ``AWS_ENDPOINT_URL_CLOUDFORMATION`` or ``AWS_ENDPOINT_URL``."""
    return boto3.client("cloudformation")


def stack_variables(stack_name: str, client: Any) -> dict[str, str]:
    """The variables the stack's outputs and parameters give; ``StackUnavailableError`` if it cannot be read."""
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        region = client.meta.region_name
        if code == "ValidationError":  # DescribeStacks' documented answer for a stack that does not exist
            raise StackUnavailableError(
                f"stack {stack_name} does not exist in {region} ({message}): give the stack's name, and its region "
                "(AWS_REGION)"
            ) from error
        raise StackUnavailableError(f"stack {stack_name} could not be read in {region} ({code})") from error
    except BotoCoreError as error:
        raise StackUnavailableError(f"stack {stack_name} could not be read ({type(error).__name__})") from error
    if not stacks:
        raise StackUnavailableError(f"stack {stack_name} does not exist")
    stack: Mapping[str, Any] = stacks[0]
    outputs = {item["OutputKey"]: item.get("OutputValue", "") for item in stack.get("Outputs", [])}
    parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
    variables = _named(outputs, OUTPUT_VARIABLES) | _named(parameters, PARAMETER_VARIABLES)
    if "IDEMPOTENCY_TABLE_NAME" not in variables:
        raise StackUnavailableError(
            f"stack {stack_name} has no IdempotencyTableName output: it is not an engine-result-notifier stack"
        )
    return variables


def _named(values: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    return {variable: values[key] for key, variable in variables.items() if values.get(key)}

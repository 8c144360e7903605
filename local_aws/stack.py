"""The deployed stack as CloudFormation's ``DescribeStacks`` describes it, for the operators' ``--stack`` locally.

moto's CloudFormation cannot run the SAM transform, so the stand-in is a stack of its own in moto whose outputs are
the template's outputs with the values the local stack has (entry points' ARNs, the table, the queue), and whose
parameters are the template's, at their defaults unless given: ``DescribeStacks`` then answers as it would for the
deployed stack, through moto's own CloudFormation.
"""

from __future__ import annotations

import json
from typing import Any

from local_aws.template import IDEMPOTENCY_TABLE, LOCAL_STACK, load_template, stack_outputs


def create_stand_in_stack(
    client: Any,
    dead_letter_queue_url: str,
    *,
    table_name: str = IDEMPOTENCY_TABLE,
    parameters: dict[str, str] | None = None,
    name: str = LOCAL_STACK,
) -> str:
    """Create the stand-in in moto's CloudFormation (the ``client``'s); its name."""
    template = load_template()
    outputs = {
        **stack_outputs(template),
        "IdempotencyTableName": table_name,
        "DeadLetterQueueUrl": dead_letter_queue_url,
    }
    declared = template.get("Parameters", {})
    given = {key: str(declared[key].get("Default", "")) for key in declared} | (parameters or {})
    given = {key: value for key, value in given.items() if value}
    body = {
        "Parameters": {key: {"Type": "String"} for key in given},
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    client.create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in given.items()],
    )
    return name

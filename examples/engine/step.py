"""The example engine's one step, a stand-in for running Terraform: it returns the workflow's outputs, or fails as
an engine step fails when the workflow's payload asks it to (``"exampleFailure": "<message>"``)."""

from __future__ import annotations

from typing import Any


class EngineStepError(Exception):
    """What the step raises when it fails: the state machine's Catch reports it as the workflow's failure."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failure = event.get("exampleFailure")
    if failure:
        raise EngineStepError(str(failure))
    product = event.get("provisionedProductId", "pp-example")
    return {"outputs": [{"key": "bucket_arn", "value": f"arn:aws:s3:::{product}", "description": "The bucket"}]}

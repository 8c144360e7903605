"""A service answered in this process: a botocore client's calls routed to a Python function.

The function gets each call after botocore has validated and serialized it, and what it returns is what botocore
would have parsed from the service, so the code under test runs unchanged over a real client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse

Answer = tuple[AWSResponse, dict[str, Any]]


def attach(client: Any, respond: Callable[[str, dict[str, Any]], Answer | None]) -> None:
    """Route a client's calls to ``respond(operation, parameters)``; None lets the call go on (to moto, or AWS)."""

    def keep_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["stand_in_parameters"] = dict(params)

    def before_call(model: Any, context: dict[str, Any], **_: Any) -> Answer | None:
        return respond(model.name, context.get("stand_in_parameters", {}))

    client.meta.events.register("before-parameter-build", keep_parameters)
    client.meta.events.register("before-call", before_call)


def answer(parsed: dict[str, Any], status: int = 200) -> Answer:
    """A service's answer: botocore raises the modelled error for a status of 300 or more, as it would for the
    service's own answer."""
    return AWSResponse("https://stand-in.local", status, {}, None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "stand-in"},
    }


def error(status: int, code: str, message: str) -> Answer:
    return answer({"Error": {"Code": code, "Message": message}}, status)

"""An ended execution, as Step Functions recorded it, served to a Step Functions client in this process.

``make invoke`` delivers a sample status change to the safety net; for a sample that comes with its execution's
history (``events/<sample>.history.json``, recorded from moto's interpreter running the reference engine), the
safety net's client is answered from that history, so the rescue reads the execution as it would in AWS:
``DescribeExecution`` (its input from the ``ExecutionStarted`` event, its end from the last event) and
``GetExecutionHistory``, paged as the service pages (``maxResults``, ``reverseOrder``, ``nextToken``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.awsrequest import AWSResponse

_ENDINGS = {
    "ExecutionFailed": ("FAILED", "executionFailedEventDetails"),
    "ExecutionTimedOut": ("TIMED_OUT", "executionTimedOutEventDetails"),
    "ExecutionAborted": ("ABORTED", "executionAbortedEventDetails"),
    "ExecutionSucceeded": ("SUCCEEDED", "executionSucceededEventDetails"),
}


class RecordedExecution:
    """One execution's ``DescribeExecution`` and ``GetExecutionHistory``, from its status change and history."""

    def __init__(self, status_change: Mapping[str, Any], history: list[dict[str, Any]]) -> None:
        detail = status_change["detail"]
        self.execution_arn: str = detail["executionArn"]
        self._events = [{**event, "timestamp": datetime.fromisoformat(event["timestamp"])} for event in history]
        started = self._events[0]
        status, details_key = _ENDINGS[self._events[-1]["type"]]
        details = self._events[-1].get(details_key, {})
        self._described: dict[str, Any] = {
            "executionArn": self.execution_arn,
            "stateMachineArn": detail["stateMachineArn"],
            "name": detail["name"],
            "status": status,
            "startDate": started["timestamp"],
            "stopDate": self._events[-1]["timestamp"],
            "input": started["executionStartedEventDetails"]["input"],
            "redriveCount": 0,
            "redriveStatus": "REDRIVABLE" if status != "SUCCEEDED" else "NOT_REDRIVABLE",
            **{name: details[name] for name in ("error", "cause") if name in details},
        }

    def serve(self, client: Any) -> None:
        """Answer the client's ``DescribeExecution`` and ``GetExecutionHistory`` of this execution."""

        def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["recorded_parameters"] = dict(params)

        def respond(model: Any, context: dict[str, Any], **_: Any) -> Any:
            return self._answer(model.name, context.get("recorded_parameters", {}))

        client.meta.events.register("before-parameter-build.sfn", keep)
        client.meta.events.register("before-call.sfn", respond)

    def _answer(self, operation: str, parameters: dict[str, Any]) -> Any:
        if parameters.get("executionArn") != self.execution_arn:
            return _answer(400, {"Error": {"Code": "ExecutionDoesNotExist", "Message": "Execution does not exist"}})
        if operation == "DescribeExecution":
            return _answer(200, dict(self._described))
        if operation != "GetExecutionHistory":
            return None
        events = list(reversed(self._events)) if parameters.get("reverseOrder") else self._events
        offset = int(json.loads(parameters.get("nextToken") or "0"))
        size = parameters.get("maxResults") or 100
        page: dict[str, Any] = {"events": events[offset : offset + size]}
        if offset + size < len(events):
            page["nextToken"] = json.dumps(offset + size)
        return _answer(200, page)


def _answer(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://states.local", status, {}, None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": status},
    }

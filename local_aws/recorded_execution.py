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

from local_aws.stand_in import Answer, answer, attach, error

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
        attach(client, self._answer)

    def _answer(self, operation: str, parameters: dict[str, Any]) -> Answer | None:
        if parameters.get("executionArn") != self.execution_arn:
            return error(400, "ExecutionDoesNotExist", "Execution does not exist")
        if operation == "DescribeExecution":
            return answer(dict(self._described))
        if operation != "GetExecutionHistory":
            return None
        events = list(reversed(self._events)) if parameters.get("reverseOrder") else self._events
        offset = int(json.loads(parameters.get("nextToken") or "0"))
        size = parameters.get("maxResults") or 100
        page: dict[str, Any] = {"events": events[offset : offset + size]}
        if offset + size < len(events):
            page["nextToken"] = json.dumps(offset + size)
        return answer(page)

"""An ended execution, as Step Functions recorded it, served to a Step Functions client in this process.

``make invoke`` delivers a sample status change to the safety net; for a sample that comes with its execution's
history (``events/<sample>.history.json``, recorded from moto's interpreter running the reference engine), the
safety net's client is answered from that history, so the rescue reads the execution as it would in AWS:
``DescribeExecution`` (its input from the ``ExecutionStarted`` event, its end from the last event) and
``GetExecutionHistory``, paged as the service pages (``maxResults``, ``reverseOrder``, ``nextToken``). For the sweep,
the execution is also listed (``ListExecutions``, as ``local_aws.listing`` answers it), and its history may be
replayed as if it had ended a while ago (``ended_ago``), so that it is within the sweep's window and old enough.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from local_aws import listing
from local_aws.stand_in import Answer, answer, attach, error

_ENDINGS = {
    "ExecutionFailed": ("FAILED", "executionFailedEventDetails"),
    "ExecutionTimedOut": ("TIMED_OUT", "executionTimedOutEventDetails"),
    "ExecutionAborted": ("ABORTED", "executionAbortedEventDetails"),
    "ExecutionSucceeded": ("SUCCEEDED", "executionSucceededEventDetails"),
}


class RecordedExecution:
    """One execution's ``DescribeExecution`` and ``GetExecutionHistory``, from its status change and history."""

    def __init__(
        self, status_change: Mapping[str, Any], history: list[dict[str, Any]], ended_ago: timedelta | None = None
    ) -> None:
        detail = status_change["detail"]
        self.execution_arn: str = detail["executionArn"]
        self.state_machine_arn: str = detail["stateMachineArn"]
        self._events = [{**event, "timestamp": datetime.fromisoformat(event["timestamp"])} for event in history]
        if ended_ago is not None:  # the same history, moved in time so that it ended that long before now
            shift = datetime.now(UTC) - ended_ago - self._events[-1]["timestamp"]
            self._events = [{**event, "timestamp": event["timestamp"] + shift} for event in self._events]
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

    def _listed(self, parameters: dict[str, Any]) -> Answer:
        """``ListExecutions`` of its state machine: this execution, if the filter keeps it."""
        if parameters.get("stateMachineArn") != self.state_machine_arn:
            return error(400, "StateMachineDoesNotExist", "State Machine Does Not Exist")
        keys = ("executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "redriveCount")
        try:
            return answer(listing.listing([{key: self._described[key] for key in keys}], parameters))
        except listing.ListingRefused as refused:
            return error(400, refused.code, str(refused))

    def _answer(self, operation: str, parameters: dict[str, Any]) -> Answer | None:
        if operation == "ListExecutions":
            return self._listed(parameters)
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

"""Step Functions with as many executions as a test wants, listed as the service lists them.

moto's interpreter runs executions for real, but thousands of them take minutes. ``ManyExecutions`` holds
executions as ``ListExecutions`` and ``DescribeExecution`` describe them and answers those two calls as the
service does: newest first by start date, ``maxResults`` 1 to 1,000 (100 by default), an opaque ``nextToken`` while
more follow, ``statusFilter`` if given; ``ExecutionDoesNotExist`` for an ARN it does not hold. It counts the
requests it answers, by operation.
"""

from __future__ import annotations

import base64
import collections
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

PAGE_DEFAULT = 100
PAGE_MAX = 1000


@dataclass
class Execution:
    execution_arn: str
    state_machine_arn: str
    name: str
    status: str
    start_date: datetime
    stop_date: datetime | None
    input: str
    redrive_count: int = 0


@dataclass
class ManyExecutions:
    """The part of a Step Functions client the sweep uses, over executions held in memory."""

    executions: dict[str, Execution] = field(default_factory=dict)
    requests: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, execution: Execution) -> None:
        self.executions[execution.execution_arn] = execution

    def list_executions(
        self,
        stateMachineArn: str,  # noqa: N803 (botocore's parameter names)
        maxResults: int = 0,  # noqa: N803
        nextToken: str | None = None,  # noqa: N803
        statusFilter: str | None = None,  # noqa: N803
        redriveFilter: str | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        self.requests["ListExecutions"] += 1
        page_size = maxResults or PAGE_DEFAULT
        if not 1 <= page_size <= PAGE_MAX:
            raise _error("ValidationException", f"maxResults must be 1 to {PAGE_MAX}")
        listed = sorted(
            (
                e
                for e in self.executions.values()
                if e.state_machine_arn == stateMachineArn
                and statusFilter in (None, e.status)
                and redriveFilter in (None, "REDRIVEN" if e.redrive_count else "NOT_REDRIVEN")
            ),
            key=lambda e: (e.start_date, e.execution_arn),
            reverse=True,
        )
        start = int(json.loads(base64.b64decode(nextToken))) if nextToken else 0
        page: dict[str, Any] = {"executions": [_listed(e) for e in listed[start : start + page_size]]}
        if start + page_size < len(listed):
            page["nextToken"] = base64.b64encode(json.dumps(start + page_size).encode()).decode()
        return page

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803
        self.requests["DescribeExecution"] += 1
        execution = self.executions.get(executionArn)
        if execution is None:
            raise _error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{executionArn}'")
        return {
            **_listed(execution),
            "input": execution.input,
            "inputDetails": {"included": True},
            "error": "States.TaskFailed",
            "cause": "the engine step failed",
            "redriveCount": execution.redrive_count,
            "redriveStatus": "REDRIVABLE"
            if execution.status in ("FAILED", "TIMED_OUT", "ABORTED")
            else "NOT_REDRIVABLE",
        }


def _listed(execution: Execution) -> dict[str, Any]:
    item: dict[str, Any] = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": execution.start_date,
    }
    if execution.stop_date is not None:
        item["stopDate"] = execution.stop_date
    if execution.redrive_count:
        item["redriveCount"] = execution.redrive_count
    return item


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "StepFunctions")

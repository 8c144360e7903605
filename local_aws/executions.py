"""Step Functions with as many executions as a test wants, listed as the service lists them.

moto's interpreter runs executions for real, but thousands of them take minutes. ``ManyExecutions`` holds
executions as ``ListExecutions`` and ``DescribeExecution`` describe them and answers those two calls as the
service documents them (``local_aws.listing``: newest first, running executions by start or redrive, the others by
stop; filters on the current status; pages and their tokens); ``ExecutionDoesNotExist`` for an ARN it does not
hold, ``StateMachineDoesNotExist`` for a state machine it was not told of, ``StateMachineTypeNotSupported`` for
an Express one. It counts the requests it answers, by
operation.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from local_aws import listing


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
    redrive_date: datetime | None = None


@dataclass
class ManyExecutions:
    """The part of a Step Functions client the sweep uses, over executions held in memory."""

    executions: dict[str, Execution] = field(default_factory=dict)
    state_machines: set[str] = field(default_factory=set)
    """State machines that exist without an execution (one with an execution exists too)."""
    express_state_machines: set[str] = field(default_factory=set)
    """Express state machines: ``ListExecutions`` is "not supported by EXPRESS state machines"."""
    requests: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, execution: Execution) -> None:
        self.executions[execution.execution_arn] = execution

    def list_executions(self, **parameters: Any) -> dict[str, Any]:
        self.requests["ListExecutions"] += 1
        machine = parameters["stateMachineArn"]
        if machine in self.express_state_machines:
            raise _error("StateMachineTypeNotSupported", "This API action is not supported by EXPRESS state machines.")
        held = [_listed(e) for e in self.executions.values() if e.state_machine_arn == machine]
        if not held and machine not in self.state_machines:
            raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{machine}'")
        try:
            return listing.listing(held, parameters)
        except listing.ListingRefused as refused:
            raise _error(refused.code, str(refused)) from None

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
        item["redriveDate"] = execution.redrive_date or execution.start_date
    return item


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "StepFunctions")

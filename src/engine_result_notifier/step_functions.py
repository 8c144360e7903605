"""Reading the engine's executions from Step Functions: what the rescue and the sweep need, named errors out."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier.errors import (
    StateMachineNotSweptError,
    StepFunctionsAccessDeniedError,
    StepFunctionsUnavailableError,
)
from engine_result_notifier.models import EngineError, ExecutionStatusChange

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 5
"""The newest 1,000 events at most: a notify task is an execution's last step, so it is in the first page."""
LIST_PAGE_SIZE = 1000
"""The most ``ListExecutions`` gives a page."""
_GONE = "ExecutionDoesNotExist"
_ACCESS_DENIED = "AccessDeniedException"
_KEY_DENIED = frozenset({"KmsAccessDeniedException", "KmsInvalidStateException"})


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """An execution as ``ListExecutions`` gives it."""

    execution_arn: str
    name: str
    status: str
    start_date: datetime
    stop_date: datetime | None
    """None while it runs."""
    redrive_count: int = 0

    def as_listed(self) -> ExecutionStatusChange:
        """What the listing says of the execution, as a status change would (without its input and error)."""
        return ExecutionStatusChange(
            execution_arn=self.execution_arn,
            execution_name=self.name,
            status=self.status,
            engine_error=EngineError(error=None, cause=None),
            execution_input=None,
            redrive_count=self.redrive_count,
            stop_date=self.stop_date,
        )


def new_client() -> SFNClient:
    """A Step Functions client with botocore's ``standard`` retries; the endpoint comes from ``AWS_ENDPOINT_URL_SFN``
    or ``AWS_ENDPOINT_URL`` if set."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=10)
    return boto3.client("stepfunctions", config=config)


def describe_execution(client: SFNClient, execution_arn: str) -> ExecutionStatusChange | None:
    """The execution as a status change would tell it (its input included), or None if it no longer exists."""
    described = _call("DescribeExecution", client.describe_execution, executionArn=execution_arn)
    if described is None:
        return None
    return ExecutionStatusChange(
        execution_arn=execution_arn,
        execution_name=described["name"],
        status=described["status"],
        engine_error=EngineError(error=described.get("error"), cause=described.get("cause")),
        execution_input=described.get("input"),
        redrive_status=described.get("redriveStatus"),
        redrive_count=int(described.get("redriveCount", 0)),
        stop_date=described.get("stopDate"),
        redrive_date=described.get("redriveDate"),
    )


def recent_history(
    client: SFNClient, execution_arn: str, enough: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]] | None:
    """The execution's history, newest first, page by page until ``enough`` says so or ``HISTORY_MAX_PAGES`` were
    read; None if the execution no longer exists (Step Functions keeps it 90 days after it ends)."""
    events: list[dict[str, Any]] = []
    next_token: str | None = None
    for _ in range(HISTORY_MAX_PAGES):
        page_arguments: dict[str, Any] = {
            "executionArn": execution_arn,
            "reverseOrder": True,
            "maxResults": HISTORY_PAGE_SIZE,
        }
        if next_token:
            page_arguments["nextToken"] = next_token
        page = _call("GetExecutionHistory", client.get_execution_history, **page_arguments)
        if page is None:
            return None
        events.extend(dict(event) for event in page["events"])
        next_token = page.get("nextToken")
        if not next_token or enough(events):
            break
    return events


def ended_executions(
    client: SFNClient, state_machine_arn: str, status: str, stopped_since: datetime
) -> Iterator[ExecutionSummary]:
    """The state machine's executions whose status is now this ended one, newest stop first (``ListExecutions``'
    order for ended executions), read page by page only as far back as ``stopped_since``. A state machine that
    cannot be listed is ``StateMachineNotSweptError``, saying why and what to do."""
    next_token: str | None = None
    while True:
        page_arguments: dict[str, Any] = {
            "stateMachineArn": state_machine_arn,
            "statusFilter": status,
            "maxResults": LIST_PAGE_SIZE,
        }
        if next_token:
            page_arguments["nextToken"] = next_token
        page = _call("ListExecutions", client.list_executions, **page_arguments)
        if page is None:
            raise StateMachineNotSweptError(
                f"{state_machine_arn} does not exist (StateMachineDoesNotExist): correct EngineStateMachineArns, or "
                "remove a state machine that was deleted"
            )
        for execution in page["executions"]:
            summary = _summary(execution)
            if summary.stop_date is not None and summary.stop_date < stopped_since:
                return
            yield summary
        next_token = page.get("nextToken")
        if not next_token:
            return


def _summary(execution: Mapping[str, Any]) -> ExecutionSummary:
    return ExecutionSummary(
        execution_arn=execution["executionArn"],
        name=execution["name"],
        status=execution["status"],
        start_date=execution["startDate"],
        stop_date=execution.get("stopDate"),
        redrive_count=int(execution.get("redriveCount", 0)),
    )


def _call(action: str, operation: Callable[..., Any], **arguments: Any) -> Mapping[str, Any] | None:
    """One Step Functions call; None if what it reads does not exist, a named error if it cannot be read: final if
    a permission is missing (which one, said), passing otherwise (throttling, 5xx, the network)."""
    try:
        result: Mapping[str, Any] = operation(**arguments)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code in (_GONE, "StateMachineDoesNotExist"):
            return None
        resource = arguments.get("executionArn") or arguments.get("stateMachineArn")
        if code == "StateMachineTypeNotSupported":
            raise StateMachineNotSweptError(
                f"{resource} is an Express state machine ({code}): Step Functions lists no executions of one and "
                "sends no status changes for them, so nothing can rescue its records; remove it from "
                "EngineStateMachineArns, and run the engine on a Standard state machine"
            ) from error
        if code == _ACCESS_DENIED:
            raise StepFunctionsAccessDeniedError(
                f"Step Functions refused {action} on {resource} ({code}): the function's role needs states:{action} "
                "on it, and the execution must be of this account and region"
            ) from error
        if code in _KEY_DENIED:
            raise StepFunctionsAccessDeniedError(
                f"Step Functions could not decrypt {resource} for {action} ({code}): the function's role needs "
                "kms:Decrypt on the state machine's customer-managed key, granted by the key's policy"
            ) from error
        raise StepFunctionsUnavailableError(
            f"Step Functions could not be read ({code}); nothing is sent until it can be"
        ) from error
    except BotoCoreError as error:
        raise StepFunctionsUnavailableError(
            f"Step Functions could not be reached ({type(error).__name__}); nothing is sent until it can be"
        ) from error
    return result

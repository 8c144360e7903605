"""Typed models at the package's boundaries: the events it reads, the request it sends, the result it returns.

Plain dataclasses: parsing is hand-written in ``events.py``, and no raw dict travels past it (why not
pydantic: docs/development.md, "Performance").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Operation(StrEnum):
    """The engine operation; it selects which of the three notify calls is made."""

    PROVISION_PRODUCT = "PROVISION_PRODUCT"
    UPDATE_PROVISIONED_PRODUCT = "UPDATE_PROVISIONED_PRODUCT"
    TERMINATE_PROVISIONED_PRODUCT = "TERMINATE_PROVISIONED_PRODUCT"


class Status(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class DeliveryPath(StrEnum):
    """Which way a notification came: told the operators, and a conflict, what made the one a record holds."""

    ENGINE = "the engine's notify task"
    SAFETY_NET = "the safety net (a status change)"
    SWEEP = "the sweep"
    OPERATOR = "an operator's command"


class Outcome(StrEnum):
    """What one delivery of an event came to."""

    NOTIFIED = "NOTIFIED"
    """This delivery made the call."""
    DUPLICATE = "DUPLICATE"
    """The same notification was already made: no call, the stored result is returned."""
    CONFLICT = "CONFLICT"
    """The execution was redriven after its record was notified, and its latest attempt ended otherwise: Service
    Catalog keeps what it holds. No call; a warning and the ``Conflicts`` metric (its alarm)."""
    ALREADY_NOTIFIED = "ALREADY_NOTIFIED"
    """A status change for a record already notified with other content: the safety net adds nothing, no call."""
    IGNORED = "IGNORED"
    """A status-change event for an execution that did not fail, or of a state machine the function does not
    watch (another one, or of another account or region): nothing to notify."""
    REDRIVEN = "REDRIVEN"
    """The execution ended failed, but is no longer so: redriven, it runs again, waits to, or succeeded. Its own
    notify task (or a later status change) reports it: no call."""
    LEFT_TO_THE_SWEEP = "LEFT_TO_THE_SWEEP"
    """With a redrive grace: an execution that may still be redriven is left to the sweep, which reports it once it
    stayed ended for the grace. No call now."""
    GONE = "GONE"
    """The execution no longer exists (Step Functions keeps it 90 days after it ends): nothing is known to send."""


@dataclass(frozen=True, slots=True)
class UniqueTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class EngineOutput:
    """One output as the engine reported it, before it is turned into a ``RecordOutput``."""

    key: str
    value: Any
    description: str | None = None
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class EngineError:
    """A Step Functions error: the error name and its cause, either of which may be missing."""

    error: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class CompletionEvent:
    """The engine's completion event, the payload of the Step Functions task that calls this function."""

    workflow_token: str = field(repr=False)
    record_id: str
    operation: Operation
    outputs: tuple[EngineOutput, ...] = ()
    tracer_tag: UniqueTag | None = None
    engine_error: EngineError | None = None
    status: Status | None = None
    """An explicit status, overriding the one derived from ``engine_error``."""
    failure_reason: str | None = None
    """An explicit failure reason, overriding the one derived from ``engine_error``."""
    idempotency_token: str | None = None
    provisioned_product_id: str | None = None
    carried: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Fields this package does not use, kept as they came."""


@dataclass(frozen=True, slots=True)
class WorkflowPayload:
    """The part of the payload Service Catalog sent to the engine that a notification needs."""

    workflow_token: str = field(repr=False)
    record_id: str
    operation: Operation


@dataclass(frozen=True, slots=True)
class ExecutionStatusChange:
    """A Step Functions "Execution Status Change" event delivered by EventBridge."""

    execution_arn: str
    execution_name: str
    status: str
    engine_error: EngineError
    execution_input: str | None = field(repr=False)
    """The execution's input as a JSON string, or None when EventBridge left it out for size."""
    redrive_status: str | None = None
    """``REDRIVABLE`` while Step Functions would let it be redriven (14 days after it ended failed), as
    ``DescribeExecution`` says; None where not read."""
    redrive_count: int | None = None
    """How many times it was redriven, as ``DescribeExecution`` or the event says (None where the event does not
    say: events before the redrive fields)."""
    stop_date: datetime | None = None
    """When it stopped (None while it runs, or where not said)."""
    redrive_date: datetime | None = None
    """When it was last redriven (None if never, or where not said)."""


class TaskOutcome(StrEnum):
    """How a notify task of an engine's execution ended, as its history tells."""

    SUCCEEDED = "SUCCEEDED"
    """The entry point returned: the record was notified (by this task or before it)."""
    FAILED = "FAILED"
    """The task failed: the entry point raised, the invocation failed, or the task timed out."""
    UNFINISHED = "UNFINISHED"
    """No outcome: the execution stopped or timed out while the task ran."""


@dataclass(frozen=True, slots=True)
class NotifyAttempt:
    """The last notify task an execution scheduled for one of the entry points, and how it ended."""

    function_name: str
    entry_operation: Operation | None
    """The operation of the entry point the task invoked (None: the generic one)."""
    payload: Any = field(repr=False)
    """The ``Payload`` the task sent: the completion event, as that entry point received it."""
    outcome: TaskOutcome
    error: EngineError | None = None
    """The task's error and cause, when it failed."""


@dataclass(frozen=True, slots=True)
class RecordOutput:
    key: str
    value: str = field(repr=False)
    description: str | None = None


@dataclass(frozen=True, slots=True)
class NotifyRequest:
    """One notify call, checked against every constraint of the API before it is sent."""

    operation: Operation
    workflow_token: str = field(repr=False)
    record_id: str
    status: Status
    idempotency_token: str
    failure_reason: str | None = None
    outputs: tuple[RecordOutput, ...] = ()
    unique_tag: UniqueTag | None = None

    def api_parameters(self) -> dict[str, Any]:
        """The keyword arguments of the boto3 call, with only the members this operation has."""
        parameters: dict[str, Any] = {
            "WorkflowToken": self.workflow_token,
            "RecordId": self.record_id,
            "Status": self.status.value,
            "IdempotencyToken": self.idempotency_token,
        }
        if self.failure_reason is not None:
            parameters["FailureReason"] = self.failure_reason
        if self.outputs and self.operation is not Operation.TERMINATE_PROVISIONED_PRODUCT:
            parameters["Outputs"] = [_record_output_parameters(output) for output in self.outputs]
        if self.operation is Operation.PROVISION_PRODUCT and self.unique_tag is not None:
            parameters["ResourceIdentifier"] = {
                "UniqueTag": {"Key": self.unique_tag.key, "Value": self.unique_tag.value}
            }
        return parameters


def _record_output_parameters(output: RecordOutput) -> dict[str, str]:
    parameters = {"OutputKey": output.key, "OutputValue": output.value}
    if output.description is not None:
        parameters["Description"] = output.description
    return parameters


@dataclass(frozen=True, slots=True)
class NotifyResult:
    """What the function returns, and what the idempotency table stores: no token, no output value."""

    record_id: str
    operation: str
    status: str
    idempotency_token: str
    outcome: str
    notified_at: str = ""
    """When the call was made (ISO 8601, UTC), stored with the result so that an operator can be told."""
    path: str = ""
    """Which way the notification came (a ``DeliveryPath``; empty if a version that did not record it made it)."""
    failure_reason: str = ""
    """The ``FailureReason`` sent with a FAILED notification: free of the token and of sensitive values, as sent."""
    output_keys: str = ""
    """The keys of the outputs sent, comma-separated (never their values)."""

    def to_response(self) -> dict[str, str]:
        return {
            "outcome": self.outcome,
            "recordId": self.record_id,
            "operation": self.operation,
            "status": self.status,
            "idempotencyToken": self.idempotency_token,
        }


@dataclass(frozen=True, slots=True)
class IgnoredStatusChange:
    """The result for an execution that gets no call: it did not fail, it is not watched, it runs again, or it is
    gone."""

    execution_arn: str
    execution_status: str
    outcome: Outcome = Outcome.IGNORED

    def to_response(self) -> dict[str, str]:
        return {
            "outcome": self.outcome.value,
            "executionArn": self.execution_arn,
            "executionStatus": self.execution_status,
        }


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record's entry in the idempotency table, as the operators' show-record command reports it."""

    status: str
    """Powertools' status: ``INPROGRESS``, ``COMPLETED`` or ``EXPIRED``."""
    expires_at: int | None
    """When the entry expires (epoch seconds): a delivery after that is no longer recognised."""
    in_progress_until_ms: int | None
    """Until when an in-progress claim blocks other deliveries (epoch milliseconds)."""
    result: NotifyResult | None
    """What was notified, for a completed record."""

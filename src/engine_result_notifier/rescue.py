"""Rescue an engine execution that ended FAILED, TIMED_OUT or ABORTED: what its last notify task meant to send.

The one rescue behind the safety net's status-change events, the sweep and the operators' ``rescue`` command:

- no notify task aimed at an entry point was reached: FAILED, saying what happened to the execution;
- the last one completed: the record is notified already, nothing is sent;
- the last one failed for good (``InvalidEventError``, ``NotificationRejectedError``), or its payload cannot make a
  request: FAILED, saying the engine's own notification was refused and why;
- the last one failed otherwise (throttling, the table, another delivery in progress, a Lambda error, a timeout)
  or never finished (the execution stopped or timed out while it ran): the notification it meant to send, through
  the same mapping and the same key, so a success stays a success, with its outputs;
- the history can no longer be read because the execution is gone (Step Functions keeps it 90 days): FAILED from
  what the event says, saying so. Any other failure to read it raises ``StepFunctionsUnavailableError``: a status
  is never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine_result_notifier import history, step_functions
from engine_result_notifier.constraints import check_request
from engine_result_notifier.errors import TERMINAL_ERROR_NAMES, InvalidEventError
from engine_result_notifier.events import parse_completion_event, parse_workflow_payload
from engine_result_notifier.mapping import (
    request_for_completion,
    request_for_failed_execution,
    request_for_refused_notification,
)
from engine_result_notifier.models import (
    EngineError,
    ExecutionStatusChange,
    NotifyAttempt,
    NotifyRequest,
    TaskOutcome,
    WorkflowPayload,
)
from engine_result_notifier.settings import SensitiveOutputs, Settings

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


@dataclass(frozen=True, slots=True)
class Rescue:
    """What to do for an ended execution: the notification to make, unless the engine made it already."""

    request: NotifyRequest
    engine_notified: bool
    """The engine's last notify task completed: the record is notified, and nothing is sent."""
    finding: str
    """What the history showed, in words, for the log and the operators' commands."""


class Rescuer:
    """Reads an ended execution from Step Functions and decides what it meant to send."""

    def __init__(self, settings: Settings, step_functions_client: SFNClient | None = None) -> None:
        self._entry_points = settings.entry_points.operations()
        self._sensitive_outputs = settings.sensitive_outputs
        self._given_client = step_functions_client

    @cached_property
    def step_functions_client(self) -> SFNClient:
        """Created on first use: the operation entry points, which never rescue, never pay for it."""
        return self._given_client or step_functions.new_client()

    def rescue_for(self, change: ExecutionStatusChange) -> Rescue:
        """What to send for an execution that ended FAILED, TIMED_OUT or ABORTED."""
        client = self.step_functions_client
        if change.execution_input is None:  # left out of the event for size: Step Functions still has it
            described = step_functions.describe_execution(client, change.execution_arn)
            if described is None:
                raise InvalidEventError(
                    f"execution {change.execution_arn}: its input was left out of the event and the execution no "
                    "longer exists, so its workflow token and record id are unknown"
                )
            change = described
        workflow = parse_workflow_payload(change.execution_input, change.execution_arn)
        events = step_functions.recent_history(
            client, change.execution_arn, lambda read: history.schedules_a_notify(read, self._entry_points)
        )
        if events is None:
            return Rescue(
                check_request(request_for_failed_execution(change, workflow, history_kept=False)),
                engine_notified=False,
                finding="the execution's history is no longer kept",
            )
        return decide(
            change, workflow, history.last_notify_attempt(events, self._entry_points), self._sensitive_outputs
        )


def decide(
    change: ExecutionStatusChange,
    workflow: WorkflowPayload,
    attempt: NotifyAttempt | None,
    sensitive_outputs: SensitiveOutputs,
) -> Rescue:
    """The rescue for an ended execution, from its last notify task: a pure function, tested case by case. Every
    request it decides meets the API's constraints, or ``InvalidEventError`` says why not."""
    if attempt is None:
        return Rescue(
            check_request(request_for_failed_execution(change, workflow)), False, "no notify task was reached"
        )
    error = attempt.error or EngineError(error=None, cause=None)
    if attempt.outcome is TaskOutcome.FAILED and error.error in TERMINAL_ERROR_NAMES:
        refused = request_for_refused_notification(change, workflow, error)
        return Rescue(check_request(refused), False, "its notify task failed for good")
    try:
        request = _request_for_payload(attempt.payload, attempt, workflow, sensitive_outputs)
    except InvalidEventError as invalid:
        refusal = EngineError(error=InvalidEventError.__name__, cause=str(invalid))
        refused = request_for_refused_notification(change, workflow, refusal)
        return Rescue(check_request(refused), False, "its notify task's event is invalid")
    findings = {
        TaskOutcome.SUCCEEDED: "its notify task completed",
        TaskOutcome.FAILED: f"its notify task failed ({error.error})",
        TaskOutcome.UNFINISHED: "its notify task did not finish",
    }
    return Rescue(request, attempt.outcome is TaskOutcome.SUCCEEDED, findings[attempt.outcome])


def _request_for_payload(
    payload: Any, attempt: NotifyAttempt, workflow: WorkflowPayload, sensitive_outputs: SensitiveOutputs
) -> NotifyRequest:
    """The request the entry point would have made from the task's payload, for this execution's record only."""
    if not isinstance(payload, Mapping):
        raise InvalidEventError("the notify task's payload: must be a JSON object")
    request = check_request(
        request_for_completion(parse_completion_event(payload, attempt.entry_operation), sensitive_outputs)
    )
    if request.record_id != workflow.record_id:
        raise InvalidEventError(f"the notify task's recordId is {request.record_id}, not this execution's record")
    return request

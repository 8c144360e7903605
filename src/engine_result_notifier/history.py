"""Read an engine execution's history into what it meant to send: a pure function of the history's events.

Step Functions records every Lambda task of an execution: ``TaskScheduled`` (``arn:aws:states:::lambda:invoke``,
its ``parameters`` holding ``FunctionName`` and the ``Payload`` about to be sent) or ``LambdaFunctionScheduled``
(a function ARN as the task's ``Resource``, its ``input`` the payload), then ``...Started`` and one outcome
(``...Succeeded``, ``...Failed``, ``...TimedOut``, ``...StartFailed``, ``TaskSubmitFailed``), each event pointing
at the one before through ``previousEventId``. The last task aimed at one of the entry points is what the engine
meant to send, and its outcome says whether it was sent.

A redriven execution keeps its history and goes on after an ``ExecutionRedriven`` event: only the events after
the newest one are the attempt that ended as the execution is now. A notify task of an earlier attempt says what
that attempt meant to send, not what this one did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine_result_notifier.models import EngineError, NotifyAttempt, Operation, TaskOutcome

_SCHEDULED = {
    "TaskScheduled": "taskScheduledEventDetails",
    "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
}
_STARTED = frozenset({"TaskStarted", "LambdaFunctionStarted"})
_SUCCEEDED = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded"})
_FAILED = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
}
_LAMBDA_INVOKE = "invoke"
_REDRIVEN = "ExecutionRedriven"


@dataclass(frozen=True, slots=True)
class _ScheduledTask:
    function_name: str
    payload: Any


def last_notify_attempt(
    events: Iterable[Mapping[str, Any]], entry_points: Mapping[str, Operation | None]
) -> NotifyAttempt | None:
    """The last task the execution's latest attempt scheduled for an entry point (a function name in
    ``entry_points``), with its outcome; None if it scheduled none. The events may come in any order and need not
    be all of them, as long as they include the last such task (or the newest ``ExecutionRedriven``) and
    everything after it."""
    ordered = sorted(events, key=lambda event: int(event.get("id", 0)))
    redriven_at = max((int(event.get("id", 0)) for event in ordered if event.get("type") == _REDRIVEN), default=0)
    ordered = [event for event in ordered if int(event.get("id", 0)) > redriven_at]
    scheduled: dict[int, _ScheduledTask] = {}
    started: dict[int, int] = {}
    outcomes: dict[int, tuple[TaskOutcome, EngineError | None]] = {}
    for event in ordered:
        event_id, previous, kind = int(event.get("id", 0)), int(event.get("previousEventId", 0)), event.get("type")
        if kind in _SCHEDULED:
            task = _scheduled_task(event.get(_SCHEDULED[kind]))
            if task is not None and task.function_name in entry_points:
                scheduled[event_id] = task
        elif kind in _STARTED and previous in scheduled:
            started[event_id] = previous
        elif kind in _SUCCEEDED or kind in _FAILED:
            task_id = started.get(previous, previous)
            if task_id in scheduled:
                outcomes[task_id] = _outcome(kind, event)
    if not scheduled:
        return None
    last_id = max(scheduled)
    task = scheduled[last_id]
    outcome, error = outcomes.get(last_id, (TaskOutcome.UNFINISHED, None))
    return NotifyAttempt(
        function_name=task.function_name,
        entry_operation=entry_points[task.function_name],
        payload=task.payload,
        outcome=outcome,
        error=error,
    )


def schedules_a_notify(events: Iterable[Mapping[str, Any]], entry_points: Mapping[str, Operation | None]) -> bool:
    """Whether these events include a task scheduled for an entry point, or the start of the latest attempt (an
    ``ExecutionRedriven``): reading newest first, what is older does not count."""
    for event in events:
        kind = event.get("type")
        if kind == _REDRIVEN:
            return True
        if kind in _SCHEDULED:
            task = _scheduled_task(event.get(_SCHEDULED[kind]))
            if task is not None and task.function_name in entry_points:
                return True
    return False


_CLOSING = {"FAILED": "ExecutionFailed", "TIMED_OUT": "ExecutionTimedOut", "ABORTED": "ExecutionAborted"}


def reaches_the_attempt(
    events: Iterable[Mapping[str, Any]], entry_points: Mapping[str, Operation | None], redrive_count: int
) -> bool:
    """Whether a history read newest first has read enough of the attempt numbered ``redrive_count``: to its start
    (its ``ExecutionRedriven``) for a redriven execution, to a notify task or the start of an attempt otherwise."""
    if redrive_count == 0:
        return schedules_a_notify(events, entry_points)
    return any(event.get("type") == _REDRIVEN for event in events)


def belongs_to_the_attempt(events: Iterable[Mapping[str, Any]], status: str, redrive_count: int) -> bool:
    """Whether the newest events of a history are those of the attempt a describe showed: they end as it ended
    (``ExecutionFailed``, ``...TimedOut``, ``...Aborted`` for its status), and the newest ``ExecutionRedriven``
    among them counts as it does (a redriven execution's read must hold it; one never redriven must hold none). A
    redrive between the describe and the history read fails this: the read belongs to another attempt."""
    ordered = sorted(events, key=lambda event: int(event.get("id", 0)), reverse=True)
    if not ordered or ordered[0].get("type") != _CLOSING.get(status):
        return False
    redriven = next((event for event in ordered if event.get("type") == _REDRIVEN), None)
    if redriven is None:
        return redrive_count == 0
    details = redriven.get("executionRedrivenEventDetails")
    counted = details.get("redriveCount") if isinstance(details, Mapping) else None
    return counted == redrive_count


def function_name(reference: str) -> str:
    """A Lambda function's name from any form a task may give it: name, name:qualifier, partial or full ARN."""
    parts = reference.split(":")
    if reference.startswith("arn:") and len(parts) > 6:  # noqa: PLR2004 (arn:partition:lambda:region:account:function:name)
        return parts[6]
    if len(parts) > 2 and parts[1] == "function":  # noqa: PLR2004 (account:function:name)
        return parts[2]
    return parts[0]


def _scheduled_task(details: Any) -> _ScheduledTask | None:
    """The function and payload of a scheduled Lambda task, or None for any other task (or an unreadable one)."""
    if not isinstance(details, Mapping):
        return None
    if "parameters" in details:  # TaskScheduled: the service integration, lambda:invoke
        if details.get("resourceType") != "lambda" or details.get("resource") != _LAMBDA_INVOKE:
            return None
        parameters = _json(details.get("parameters"))
        if not isinstance(parameters, Mapping) or not isinstance(parameters.get("FunctionName"), str):
            return None
        payload = parameters.get("Payload")
        return _ScheduledTask(
            function_name(parameters["FunctionName"]), _json(payload) if isinstance(payload, str) else payload
        )
    resource = details.get("resource")  # LambdaFunctionScheduled: a function ARN as the task's Resource
    if not isinstance(resource, str):
        return None
    return _ScheduledTask(function_name(resource), _json(details.get("input")))


def _outcome(kind: str, event: Mapping[str, Any]) -> tuple[TaskOutcome, EngineError | None]:
    if kind in _SUCCEEDED:
        return TaskOutcome.SUCCEEDED, None
    details = event.get(_FAILED[kind])
    details = details if isinstance(details, Mapping) else {}
    error = details.get("error") or ("States.Timeout" if kind.endswith("TimedOut") else None)
    cause = details.get("cause")
    return TaskOutcome.FAILED, EngineError(
        error=error if isinstance(error, str) else None, cause=cause if isinstance(cause, str) else None
    )


def _json(text: Any) -> Any:
    """A JSON text's value; None if it is not JSON this can read (the task is then one that cannot be redone)."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None

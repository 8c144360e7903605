"""Rescue: an engine execution that ended FAILED, TIMED_OUT or ABORTED gets what its last notify task meant to send.

The one rescue behind the safety net's status-change events, the sweep, the dead-letter replay and the operators'
``rescue`` command; what to send is decided by a pure function of the execution's history (``decide``):

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
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from engine_result_notifier import history, step_functions
from engine_result_notifier.constraints import check_request, state_machine_arn
from engine_result_notifier.delivery import reject
from engine_result_notifier.errors import (
    TERMINAL_ERROR_NAMES,
    InvalidEventError,
    StaleExecutionReadError,
    StepFunctionsAccessDeniedError,
    StepFunctionsUnavailableError,
)
from engine_result_notifier.events import parse_completion_event, parse_status_change, parse_workflow_payload
from engine_result_notifier.mapping import (
    FAILED_EXECUTION_STATUSES,
    request_for_completion,
    request_for_failed_execution,
    request_for_refused_notification,
)
from engine_result_notifier.models import (
    DeliveryPath,
    EngineError,
    ExecutionStatusChange,
    IgnoredStatusChange,
    NotifyAttempt,
    NotifyRequest,
    Outcome,
    TaskOutcome,
    WorkflowPayload,
)
from engine_result_notifier.observability import logger, metrics
from engine_result_notifier.timeouts import longest_call_seconds

RUNNING_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_stepfunctions import SFNClient

    from engine_result_notifier.delivery import Delivery
    from engine_result_notifier.models import NotifyResult
    from engine_result_notifier.settings import SensitiveOutputs, Settings


@dataclass(frozen=True, slots=True)
class Rescue:
    """What to do for an ended execution: the notification to make, unless the engine made it already."""

    request: NotifyRequest
    engine_notified: bool
    """The engine's last notify task completed: the record is notified, and nothing is sent."""
    finding: str
    """What the history showed, in words, for the log and the operators' commands."""


class Rescuer:
    """Reads ended executions from Step Functions, decides what each meant to send, and delivers it."""

    def __init__(self, settings: Settings, delivery: Delivery, step_functions_client: SFNClient) -> None:
        self._entry_points = settings.entry_points.operations()
        self._sensitive_outputs = settings.sensitive_outputs
        self._delivery = delivery
        self._step_functions = step_functions_client
        self._redrive_grace = settings.redrive_grace_minutes
        self._watched = frozenset(settings.engine_state_machine_arns)
        """The state machines it rescues executions of; empty: any that reaches it."""

    def status_change(
        self, event: Mapping[str, Any], context: LambdaContext, path: DeliveryPath = DeliveryPath.SAFETY_NET
    ) -> NotifyResult | IgnoredStatusChange:
        """The safety net: one delivery of a Step Functions status change (or an operator's replay of one). An
        execution that did not fail is ignored; one that ended FAILED, TIMED_OUT or ABORTED is rescued as it is
        now."""
        self._delivery.begin(context)
        try:
            change = parse_status_change(event)
        except InvalidEventError as error:
            reject(error)
            raise
        logger.append_keys(execution_arn=change.execution_arn)
        if change.status not in FAILED_EXECUTION_STATUSES:
            logger.debug("Status change ignored: the execution did not fail", execution_status=change.status)
            metrics.add_metric(name="IgnoredStatusChanges", unit=MetricUnit.Count, value=1)
            return IgnoredStatusChange(execution_arn=change.execution_arn, execution_status=change.status)
        return self._rescue(change.execution_arn, path, told=change, expected=change)

    def execution(
        self,
        execution_arn: str,
        context: LambdaContext,
        path: DeliveryPath,
        listed: ExecutionStatusChange | None = None,
    ) -> NotifyResult | IgnoredStatusChange:
        """Rescue one execution as it is now, as the safety net would (the sweep's and the operators' way in).
        ``listed``: how a listing showed it (the sweep's), which a describe must not be behind. Each rescue is a
        unit of metrics of its own, as a delivery is: it starts clean, and the caller flushes (or drops) what it
        counted."""
        self._delivery.begin(context)
        logger.append_keys(execution_arn=execution_arn)
        return self._rescue(execution_arn, path, told=None, expected=listed)

    def longest_seconds(self) -> float:
        """The longest one rescue can take: the execution described, its history read to the last page it may
        read, and the delivery, each call at its client's worst."""
        reads = 1 + step_functions.HISTORY_MAX_PAGES
        return reads * longest_call_seconds(self._step_functions) + self._delivery.longest_seconds()

    def describe(self, execution_arn: str) -> ExecutionStatusChange | None:
        """The execution as a status change would tell it, read now; None if it no longer exists."""
        return step_functions.describe_execution(self._step_functions, execution_arn)

    def _left_for_a_redrive(self, now: ExecutionStatusChange) -> bool:
        """With a redrive grace, whether the safety net leaves this ended execution to the sweep: it may still be
        redriven, and the sweep waits the grace after its stop."""
        return self._redrive_grace > 0 and now.redrive_status == "REDRIVABLE"

    def plan(self, change: ExecutionStatusChange) -> Rescue:
        """What to send for an execution that ended FAILED, TIMED_OUT or ABORTED, as read (or, if it is gone, as
        its status change told it); nothing is sent."""
        if change.execution_input is None:  # left out of the event for size, and the execution is gone
            raise InvalidEventError(
                f"execution {change.execution_arn}: its input was left out of the event and the execution no "
                "longer exists, so its workflow token and record id are unknown"
            )
        workflow = parse_workflow_payload(change.execution_input, change.execution_arn)
        attempt = change.redrive_count or 0
        events = step_functions.recent_history(
            self._step_functions,
            change.execution_arn,
            lambda read: history.reaches_the_attempt(read, self._entry_points, attempt),
        )
        if events is None:
            return Rescue(
                check_request(request_for_failed_execution(change, workflow, history_kept=False)),
                engine_notified=False,
                finding="the execution's history is no longer kept",
            )
        if not history.belongs_to_the_attempt(events, change.status, attempt):
            raise StaleExecutionReadError(
                f"the execution's history does not end with the attempt described ({change.status} at redrive "
                f"{attempt}): it was redriven, or is not read up to date yet; read again later"
            )
        return decide(
            change, workflow, history.last_notify_attempt(events, self._entry_points), self._sensitive_outputs
        )

    def _rescue(
        self,
        execution_arn: str,
        path: DeliveryPath,
        told: ExecutionStatusChange | None,
        expected: ExecutionStatusChange | None,
    ) -> NotifyResult | IgnoredStatusChange:
        """Read the execution now and, if a watched state machine's execution still stands ended failed, deliver what
        it meant to send. ``told``: what a status change said of it, all there is if the execution is gone;
        ``expected``: what is already known of it (a status change, a listing), which the describe must not be
        behind (Step Functions' reads are eventually consistent)."""
        if self._watched and state_machine_arn(execution_arn) not in self._watched:
            logger.warning(
                "Execution of a state machine this function does not watch; ignored",
                state_machine_arn=state_machine_arn(execution_arn),
            )
            metrics.add_metric(name="ForeignExecutions", unit=MetricUnit.Count, value=1)
            return IgnoredStatusChange(execution_arn, told.status if told else "UNKNOWN")
        try:
            now = self.describe(execution_arn)
            if now is not None and expected is not None and _behind(now, expected):
                raise StaleExecutionReadError(
                    f"Step Functions describes the execution as {now.status} at redrive {now.redrive_count}, behind "
                    f"what is known of it ({expected.status} at redrive {_count(expected)}): read again later"
                )
            if now is not None and now.status not in FAILED_EXECUTION_STATUSES:
                logger.info(
                    "The execution is no longer as it ended: no call",
                    execution_status=now.status,
                    redrive_count=now.redrive_count,
                    known_redrive_count=None if expected is None else expected.redrive_count,
                )
                metrics.add_metric(name="RedrivenExecutions", unit=MetricUnit.Count, value=1)
                return IgnoredStatusChange(execution_arn, now.status, Outcome.REDRIVEN)
            if now is not None and path is DeliveryPath.SAFETY_NET and self._left_for_a_redrive(now):
                logger.info(
                    "The execution may still be redriven: left to the sweep for the redrive grace; no call",
                    redrive_grace_minutes=self._redrive_grace,
                )
                metrics.add_metric(name="LeftToTheSweep", unit=MetricUnit.Count, value=1)
                return IgnoredStatusChange(execution_arn, now.status, Outcome.LEFT_TO_THE_SWEEP)
            change = now or told
            if change is None:
                logger.info("The execution no longer exists: nothing is known to send")
                return IgnoredStatusChange(execution_arn, "GONE", Outcome.GONE)
            rescue = self.plan(change)
        except InvalidEventError as error:
            reject(error)
            raise
        except StepFunctionsUnavailableError as error:
            logger.warning(
                "Step Functions unavailable; nothing sent until the execution can be read", reason=str(error)
            )
            metrics.add_metric(name="StepFunctionsUnavailable", unit=MetricUnit.Count, value=1)
            raise
        except StepFunctionsAccessDeniedError as error:
            logger.error(
                "The execution cannot be read: a permission is missing; its record needs a person", reason=str(error)
            )
            raise
        logger.info("Ended execution read", finding=rescue.finding, execution_status=change.status)
        if rescue.engine_notified:
            return self._delivery.already_notified(rescue.request)
        return self._delivery.deliver(rescue.request, path, redriven=(change.redrive_count or 0) > 0)


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
    if request.operation is not workflow.operation:
        raise InvalidEventError(
            f"the notify task's operation is {request.operation.value}, not this execution's {workflow.operation.value}"
        )
    return request


def _count(change: ExecutionStatusChange) -> str:
    return "unknown" if change.redrive_count is None else str(change.redrive_count)


def _behind(now: ExecutionStatusChange, expected: ExecutionStatusChange) -> bool:
    """Whether a describe shows the execution as it was before what is already known of it: an earlier attempt, or
    still running in the attempt known to have ended (and not redriven since its stop)."""
    if expected.redrive_count is not None and now.redrive_count is not None:
        if now.redrive_count < expected.redrive_count:
            return True
        if now.redrive_count > expected.redrive_count:
            return False  # ahead: redriven since
    if now.status not in RUNNING_STATUSES:
        return False
    redriven_since = (
        now.redrive_date is not None and expected.stop_date is not None and now.redrive_date > expected.stop_date
    )
    return not redriven_since

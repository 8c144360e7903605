"""The sweep: find engine executions whose end no status-change event reported, and rescue them.

EventBridge delivers Step Functions status changes best effort, and a delivery whose retries all failed waits in
the dead-letter queue. On a schedule, the sweep lists each engine state machine's executions that ended FAILED,
TIMED_OUT or ABORTED and started within the look-back window (newest first, stopping at the window's start), and
rescues each one it has not examined before, exactly as the safety net would: through the same rescue and the
same idempotency key, so a record already notified is never notified again.

It remembers what it examined in one item per state machine of the idempotency table (execution names, pruned as
they leave the window), so a run that finds nothing new costs one ``GetItem`` and three ``ListExecutions`` pages
per state machine, and reads no execution again. Work per run is bounded (``SWEEP_MAX_EXECUTIONS`` and the
invocation's remaining time); what is left is picked up by the next run, oldest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier import step_functions
from engine_result_notifier.errors import (
    PASSING_ERRORS,
    TERMINAL_ERRORS,
    IdempotencyStoreUnavailableError,
    RescueFailedError,
)
from engine_result_notifier.mapping import FAILED_EXECUTION_STATUSES
from engine_result_notifier.models import Outcome
from engine_result_notifier.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_stepfunctions import SFNClient

    from engine_result_notifier.rescue import Rescuer
    from engine_result_notifier.settings import Settings
    from engine_result_notifier.step_functions import ExecutionSummary

SWEEP_KEY_PREFIX = "engine-result-sweep#"
"""The sweep's items in the idempotency table, one per state machine: apart from Powertools' own keys."""
TIME_TO_STOP_MS = 20_000
"""Room left at the end of an invocation: no new execution is started with less."""


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one run did: executions examined, records rescued (a call made), and those left for the next run."""

    examined: int
    rescued: int
    remaining: int

    def to_response(self) -> dict[str, int]:
        return {"examined": self.examined, "rescued": self.rescued, "remaining": self.remaining}


class Sweep:
    """One sweep run over the engine's state machines."""

    def __init__(
        self,
        settings: Settings,
        rescuer: Rescuer,
        step_functions_client: SFNClient,
        dynamodb_client: DynamoDBClient,
    ) -> None:
        self._settings = settings
        self._rescuer = rescuer
        self._step_functions = step_functions_client
        self._dynamodb = dynamodb_client

    def run(self, context: LambdaContext, now: datetime | None = None) -> SweepReport:
        """Examine what ended since the window's start and was not examined before; rescue it."""
        now = now or datetime.now(UTC)
        window_start = now - timedelta(hours=self._settings.sweep_look_back_hours)
        budget = self._settings.sweep_max_executions
        examined = rescued = remaining = 0
        failed_for_good: list[str] = []
        for state_machine_arn in self._settings.engine_state_machine_arns:
            recalled = self._recall(state_machine_arn)
            memory = dict(recalled)
            new = sorted(
                (e for e in self._ended(state_machine_arn, window_start) if e.name not in memory),
                key=lambda execution: execution.start_date,
            )
            for execution in new:
                if budget == 0 or context.get_remaining_time_in_millis() < TIME_TO_STOP_MS:
                    remaining += 1
                    continue
                budget -= 1
                examined += 1
                outcome = self._rescue(execution, context, failed_for_good)
                if outcome is not None:
                    memory[execution.name] = int(execution.start_date.timestamp())
                if outcome == Outcome.NOTIFIED.value:
                    rescued += 1
            kept = {name: start for name, start in memory.items() if start >= window_start.timestamp()}
            if kept != recalled:
                self._remember(state_machine_arn, kept, now)
        metrics.add_metric(name="ExecutionsExamined", unit=MetricUnit.Count, value=examined)
        metrics.add_metric(name="RecordsRescued", unit=MetricUnit.Count, value=rescued)
        report = SweepReport(examined=examined, rescued=rescued, remaining=remaining)
        logger.info("Sweep done", examined=examined, rescued=rescued, remaining=remaining)
        if failed_for_good:
            raise RescueFailedError(
                f"{len(failed_for_good)} ended execution(s) could not be rescued and need a person: "
                + ", ".join(failed_for_good)
            )
        return report

    def _ended(self, state_machine_arn: str, window_start: datetime) -> list[ExecutionSummary]:
        return [
            execution
            for status in sorted(FAILED_EXECUTION_STATUSES)
            for execution in step_functions.ended_executions(
                self._step_functions, state_machine_arn, status, window_start
            )
        ]

    def _rescue(self, execution: ExecutionSummary, context: LambdaContext, failed_for_good: list[str]) -> str | None:
        """Rescue one execution; its outcome, or None if it must be examined again (a passing failure)."""
        try:
            change = self._rescuer.describe(execution.execution_arn)
            if change is None:
                return "GONE"
            result = self._rescuer.execution(change, context)
        except PASSING_ERRORS as error:
            logger.warning(
                "Execution not rescued this run; the next one retries",
                execution_arn=execution.execution_arn,
                error_type=type(error).__name__,
            )
            return None
        except TERMINAL_ERRORS as error:
            logger.error(
                "Execution cannot be rescued; its record needs a person",
                execution_arn=execution.execution_arn,
                error_type=type(error).__name__,
                reason=str(error),
            )
            failed_for_good.append(execution.execution_arn)
            return "FAILED_FOR_GOOD"
        finally:
            _flush_record_metrics()
            logger.remove_keys(["execution_arn", "record_id", "operation", "status"])
        if result.outcome == Outcome.NOTIFIED.value:
            logger.warning(
                "Record rescued by the sweep: its status change was lost or its delivery failed",
                execution_arn=execution.execution_arn,
                record_id=result.record_id,
            )
        return result.outcome

    def _recall(self, state_machine_arn: str) -> dict[str, int]:
        """The executions of this state machine examined before (name: start, epoch seconds)."""
        try:
            item = self._dynamodb.get_item(
                TableName=self._settings.idempotency_table_name, Key=_key(state_machine_arn), ConsistentRead=True
            ).get("Item", {})
        except (ClientError, BotoCoreError) as error:
            raise IdempotencyStoreUnavailableError(
                f"the sweep's memory could not be read ({type(error).__name__})"
            ) from error
        examined: Mapping[str, Any] = item.get("examined", {}).get("M", {})
        return {name: int(value["N"]) for name, value in examined.items()}

    def _remember(self, state_machine_arn: str, kept: dict[str, int], now: datetime) -> None:
        """Store the executions examined within the window."""
        expires = int((now + timedelta(hours=self._settings.sweep_look_back_hours * 2)).timestamp())
        try:
            self._dynamodb.put_item(
                TableName=self._settings.idempotency_table_name,
                Item={
                    **_key(state_machine_arn),
                    "examined": {"M": {name: {"N": str(start)} for name, start in kept.items()}},
                    "expiration": {"N": str(expires)},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise IdempotencyStoreUnavailableError(
                f"the sweep's memory could not be written ({type(error).__name__})"
            ) from error


def _flush_record_metrics() -> None:
    """Each record's own metrics, with its own dimensions, as a delivery of its status change would emit them."""
    if metrics.metric_set:
        metrics.flush_metrics()
    else:
        metrics.clear_metrics()


def _key(state_machine_arn: str) -> dict[str, Any]:
    return {"id": {"S": f"{SWEEP_KEY_PREFIX}{state_machine_arn}"}}

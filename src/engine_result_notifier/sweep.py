"""The sweep: find engine executions whose end no status-change event reported, and rescue them.

EventBridge delivers Step Functions status changes best effort, and a delivery whose retries all failed waits in
the dead-letter queue. On a schedule, the sweep examines every execution of each watched state machine that
stopped ``FAILED``, ``TIMED_OUT`` or ``ABORTED`` within the look-back window, whenever it started, and rescues
each one not examined before, exactly as the safety net would: through the same rescue and the same idempotency
key, so a record already notified is never notified again. What stopped less than ``SWEEP_MIN_AGE_MINUTES`` ago
is left to the safety net, which may still be at it, and found by a later run.

``ListExecutions`` lists the executions of one status, and ended ones newest stop first (AWS's API text, in
botocore's model), so "what stopped since" is one listing per status that stops at the first execution that
stopped before. A redriven execution leaves the listing of its status while it runs, and comes back at its new stop
if it ends failed again. The listing is eventually consistent: an execution may show a moment after its stop. So for
each state machine the sweep remembers, in one small item of the idempotency table, how far it has examined
everything (a watermark in stop order), and each run lists back to a margin before it, with the executions it
examined within that margin. A run that finds nothing new costs one ``GetItem`` and a ``ListExecutions`` page per
status, whatever the number of executions Step Functions keeps.

Each execution examined is recorded at once in an item of its own (keyed with its redrive count, with a time to
live), written only if absent: a run cut off by its deadline loses nothing, and two runs at once cannot undo each
other's work. Any failure at one execution stays at that execution; one state machine whose listing fails does not
stop the others, and one that cannot be listed at all (missing, Express, not allowed) fails the run at its end; an
execution that leaves the window unexamined is counted, logged and fails the run too. The budget
(``SWEEP_MAX_EXECUTIONS`` and the invocation's time) is shared among the state machines in turn, and no rescue
starts with less of the invocation left than one rescue can take at its clients' worst.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier import step_functions
from engine_result_notifier.errors import (
    FINAL_ERRORS,
    PASSING_ERRORS,
    IdempotencyStoreUnavailableError,
    RescueFailedError,
    StateMachineNotSweptError,
    StepFunctionsAccessDeniedError,
    StepFunctionsUnavailableError,
)
from engine_result_notifier.mapping import FAILED_EXECUTION_STATUSES
from engine_result_notifier.models import DeliveryPath, IgnoredStatusChange, Outcome
from engine_result_notifier.observability import logger, metrics
from engine_result_notifier.timeouts import longest_call_seconds

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_stepfunctions import SFNClient

    from engine_result_notifier.rescue import Rescuer
    from engine_result_notifier.settings import Settings
    from engine_result_notifier.step_functions import ExecutionSummary

SWEEP_KEY_PREFIX = "engine-result-sweep#"
"""The sweep's items in the idempotency table, apart from Powertools' own keys: one per state machine (its
watermark) and one per execution examined (``#`` and its redrive count after the ARN)."""
BATCH_GET_MAX_KEYS = 100
"""The most keys one ``BatchGetItem`` takes."""
BATCH_GET_MAX_ROUNDS = 8
"""``BatchGetItem`` answers unprocessed keys when throttled: asked again with a growing pause, this many times."""
NEEDS_A_PERSON = "NEEDS_A_PERSON"
"""What the sweep records for an execution it could not rescue: the log and the alarm name it, and it is not tried
again (a person uses the operators' ``rescue``)."""
NAMED_IN_THE_ERROR = 10
"""The executions the run's error names; the log names each of them."""
CONSISTENCY_MARGIN = timedelta(minutes=15)
"""How far before its watermark a run lists again: ``ListExecutions`` is eventually consistent, and an execution
may be listed a while after its stop (and Step Functions' clock and Lambda's may differ)."""
REMEMBERED_WITHIN_MARGIN_MAX = 1_000
"""The executions examined within the margin that the memory names (about 100 bytes each, in an item of at most
400 KB): listed again, they are known without reading their items. With more, their items are read."""
LEFT_WINDOW_REACH = timedelta(days=7)
"""How far before the window a run lists to count what left it unexamined (a sweep that could not run, or a backlog
beyond its budget, for longer than the look-back)."""


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one run did: executions examined, records rescued (a call made), executions that need a person, and
    those left for the next run."""

    examined: int
    rescued: int
    remaining: int
    needing_a_person: int = 0

    def to_response(self) -> dict[str, int]:
        return {
            "examined": self.examined,
            "rescued": self.rescued,
            "remaining": self.remaining,
            "needingAPerson": self.needing_a_person,
        }


@dataclass
class _StateMachinePass:
    """One state machine in one run: what its memory said, what its listing showed, and how far the run got."""

    state_machine_arn: str
    version: int
    watermark: str
    """Every execution at or before it in stop order was examined."""
    recent: frozenset[str]
    """The executions examined within the margin before the watermark (their items' keys)."""
    candidates: list[ExecutionSummary]
    """Stopped within the window, old enough, not known to be examined: in stop order."""
    done: list[bool | None] = field(default_factory=list)
    """Per candidate: examined (by any run), not examined, or not known yet (its item not read)."""

    def __post_init__(self) -> None:
        self.done = [None] * len(self.candidates)


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
        self.time_to_stop_ms = int((rescuer.longest_seconds() + longest_call_seconds(dynamodb_client)) * 1000)
        """No execution is examined with less of the invocation left: one rescue and its record, each call at its
        client's worst (a run Lambda ends mid-rescue loses nothing, but its claim waits out the invocation)."""

    def run(self, context: LambdaContext, now: datetime | None = None) -> SweepReport:
        """Examine what stopped within the window and was not examined before; rescue it."""
        now = now or datetime.now(UTC)
        passes: list[_StateMachinePass] = []
        needing_a_person: list[str] = []
        not_swept = 0
        for state_machine_arn in self._settings.engine_state_machine_arns:
            try:
                passes.append(self._plan(state_machine_arn, now, needing_a_person))
            except (StepFunctionsUnavailableError, IdempotencyStoreUnavailableError) as error:
                not_swept += 1
                logger.warning(
                    "State machine not swept this run; the next one retries (StateMachinesNotSweptAlarm if it lasts)",
                    state_machine_arn=state_machine_arn,
                    reason=str(error),
                )
            except (StateMachineNotSweptError, StepFunctionsAccessDeniedError) as error:
                not_swept += 1
                logger.error("State machine cannot be swept; it needs a person", reason=str(error))
                needing_a_person.append(f"{state_machine_arn} ({type(error).__name__})")
            except Exception as error:  # noqa: BLE001 (one state machine never stops the others: logged, raised at the end)
                not_swept += 1
                logger.exception(
                    "State machine cannot be swept; it needs a person", state_machine_arn=state_machine_arn
                )
                needing_a_person.append(f"{state_machine_arn} ({type(error).__name__})")
        examined, rescued = self._examine_in_turn(passes, context, now, needing_a_person)
        remaining = sum(done is not True for sweep_pass in passes for done in sweep_pass.done)
        for sweep_pass in passes:
            try:
                self._remember(sweep_pass, now)
            except IdempotencyStoreUnavailableError as error:
                logger.warning(
                    "The sweep's memory of a state machine was not moved; the next run lists again from where it was",
                    state_machine_arn=sweep_pass.state_machine_arn,
                    reason=str(error),
                )
        metrics.add_metric(name="ExecutionsExamined", unit=MetricUnit.Count, value=examined)
        metrics.add_metric(name="RecordsRescued", unit=MetricUnit.Count, value=rescued)
        metrics.add_metric(name="ExecutionsNeedingAPerson", unit=MetricUnit.Count, value=len(needing_a_person))
        metrics.add_metric(name="StateMachinesNotSwept", unit=MetricUnit.Count, value=not_swept)
        report = SweepReport(examined, rescued, remaining, len(needing_a_person))
        logger.info(
            "Sweep done",
            examined=examined,
            rescued=rescued,
            remaining=remaining,
            needing_a_person=len(needing_a_person),
            state_machines_not_swept=not_swept,
        )
        if needing_a_person:
            named = ", ".join(needing_a_person[:NAMED_IN_THE_ERROR])
            more = len(needing_a_person) - NAMED_IN_THE_ERROR
            raise RescueFailedError(
                f"{len(needing_a_person)} ended execution(s) or state machine(s) could not be rescued or swept and "
                f"need a person: {named}" + (f" and {more} more (the log names each)" if more > 0 else "")
            )
        return report

    # What to examine.

    def _plan(self, state_machine_arn: str, now: datetime, needing_a_person: list[str]) -> _StateMachinePass:
        """Read the state machine's memory, and list what ended failed since a margin before its watermark."""
        item = self._get_item(_state_machine_key(state_machine_arn))
        version = int(item["version"]["N"]) if "version" in item else 0
        watermark = item.get("watermark", {}).get("S", "")
        recent = frozenset(item.get("recent", {}).get("SS", []))
        window_start = now - timedelta(hours=self._settings.sweep_look_back_hours)
        settled_before = now - timedelta(
            minutes=max(self._settings.sweep_min_age_minutes, self._settings.redrive_grace_minutes)
        )  # the safety net may still be at it; with a redrive grace, a person may still redrive it
        since = window_start  # with no memory: the window; else a margin before the watermark, or further back to
        if watermark:  # count what left the window unexamined
            since = max(_stop_of(watermark) - CONSISTENCY_MARGIN, window_start - LEFT_WINDOW_REACH)
        listed = [
            execution
            for status in sorted(FAILED_EXECUTION_STATUSES)
            for execution in step_functions.ended_executions(self._step_functions, state_machine_arn, status, since)
        ]
        candidates: list[ExecutionSummary] = []
        left_the_window: list[ExecutionSummary] = []
        for execution in listed:
            if execution.stop_date is None or execution.stop_date > settled_before or _stop_key(execution) in recent:
                continue  # still running as listed, or the safety net may still be at it, or examined
            if _stop_key(execution) <= watermark and execution.stop_date < window_start:
                continue  # examined, and out of the window
            (left_the_window if execution.stop_date < window_start else candidates).append(execution)
        candidates.sort(key=_stop_key)
        self._count_left_the_window(left_the_window, needing_a_person)
        return _StateMachinePass(state_machine_arn, version, watermark, recent, candidates)

    def _count_left_the_window(self, executions: list[ExecutionSummary], needing_a_person: list[str]) -> None:
        """Executions that stopped before the window and that no run examined: they are not rescued by the sweep
        any more (their records may have expired); each is logged, and the run fails at its end."""
        if not executions:
            return
        recorded = self._recorded(executions)
        for execution in executions:
            if _execution_key(execution) in recorded:
                continue
            logger.error(
                "Execution left the sweep's window unexamined; its record needs a person (make rescue)",
                execution_arn=execution.execution_arn,
            )
            metrics.add_metric(name="ExecutionsLeftUnexamined", unit=MetricUnit.Count, value=1)
            needing_a_person.append(f"{execution.execution_arn} (left the window unexamined)")
            self._recorded_now(execution, NEEDS_A_PERSON)  # counted once: the next runs do not count it again

    def _examine_in_turn(
        self, passes: Sequence[_StateMachinePass], context: LambdaContext, now: datetime, needing_a_person: list[str]
    ) -> tuple[int, int]:
        """Examine the candidates not examined before, one state machine after the other in turn, while the
        budget and the invocation's time last; the executions examined and the records rescued."""
        budget = self._settings.sweep_max_executions
        examined = rescued = 0
        turns = [self._not_examined(sweep_pass) for sweep_pass in passes]
        for turn in itertools.chain.from_iterable(itertools.zip_longest(*turns)):
            if turn is None:
                continue
            if budget == 0 or context.get_remaining_time_in_millis() < self.time_to_stop_ms:
                break
            sweep_pass, index = turn
            budget -= 1
            examined += 1
            execution = sweep_pass.candidates[index]
            outcome = self._rescue(execution, context, now, needing_a_person)
            if outcome is not None and self._recorded_now(execution, outcome):
                sweep_pass.done[index] = True
            if outcome == Outcome.NOTIFIED.value:
                rescued += 1
        return examined, rescued

    def _not_examined(self, sweep_pass: _StateMachinePass) -> Iterator[tuple[_StateMachinePass, int]]:
        """The candidates no run has examined, in stop order; their items are read a batch at a time, as needed."""
        for start in range(0, len(sweep_pass.candidates), BATCH_GET_MAX_KEYS):
            batch = sweep_pass.candidates[start : start + BATCH_GET_MAX_KEYS]
            try:
                recorded = self._recorded(batch)
            except IdempotencyStoreUnavailableError as error:
                logger.warning(
                    "The sweep's memory could not be read; this state machine waits for the next run",
                    state_machine_arn=sweep_pass.state_machine_arn,
                    reason=str(error),
                )
                return
            for offset, execution in enumerate(batch):
                sweep_pass.done[start + offset] = _execution_key(execution) in recorded
                if not sweep_pass.done[start + offset]:
                    yield sweep_pass, start + offset

    def _rescue(
        self, execution: ExecutionSummary, context: LambdaContext, now: datetime, needing_a_person: list[str]
    ) -> str | None:
        """Rescue one execution; its outcome, or None if a later run must examine it again (a passing failure)."""
        try:
            result = self._rescuer.execution(
                execution.execution_arn, context, DeliveryPath.SWEEP, listed=execution.as_listed()
            )
        except PASSING_ERRORS as error:
            if execution.stop_date is not None and execution.stop_date > now - self._retry_for():
                logger.warning(
                    "Execution not rescued this run; the next one retries",
                    execution_arn=execution.execution_arn,
                    error_type=type(error).__name__,
                )
                return None
            return self._needs_a_person(execution, error, needing_a_person, "retried for half the look-back window")
        except FINAL_ERRORS as error:
            return self._needs_a_person(execution, error, needing_a_person, str(error))
        except Exception as error:  # noqa: BLE001 (one execution never stops the others: logged, recorded, alarmed)
            logger.exception("Unexpected error rescuing an execution", execution_arn=execution.execution_arn)
            return self._needs_a_person(execution, error, needing_a_person, "an unexpected error")
        finally:
            _flush_record_metrics()
            logger.remove_keys(["execution_arn", "record_id", "operation", "status"])
        if isinstance(result, IgnoredStatusChange):
            return result.outcome.value  # gone, running again after a redrive, or not watched
        if result.outcome == Outcome.NOTIFIED.value:
            logger.warning(
                "Record rescued by the sweep: its status change was lost or its delivery failed",
                execution_arn=execution.execution_arn,
                record_id=result.record_id,
            )
        return result.outcome

    def _retry_for(self) -> timedelta:
        """How long after its stop an execution that keeps failing in passing ways is retried before a person is
        called: half the look-back window, so that the alarm comes while the sweep still sees it."""
        return timedelta(hours=self._settings.sweep_look_back_hours / 2)

    @staticmethod
    def _needs_a_person(
        execution: ExecutionSummary, error: BaseException, needing_a_person: list[str], why: str
    ) -> str:
        logger.error(
            "Execution cannot be rescued; its record needs a person",
            execution_arn=execution.execution_arn,
            error_type=type(error).__name__,
            reason=why,
        )
        needing_a_person.append(f"{execution.execution_arn} ({type(error).__name__})")
        return NEEDS_A_PERSON

    # The memory.

    def _remember(self, sweep_pass: _StateMachinePass, now: datetime) -> None:
        """Move the state machine's watermark past the candidates examined in stop order without a gap, and name the
        executions examined within the margin before it; written only over the version this run read, and not at all
        when nothing was examined (but once, at the first run: what it covered)."""
        watermark = sweep_pass.watermark
        pairs = list(zip(sweep_pass.candidates, sweep_pass.done, strict=True))
        examined = [_stop_key(execution) for execution, done in pairs if done]
        for execution, done in pairs:
            if done is not True:
                break
            watermark = max(watermark, _stop_key(execution))
        if not watermark and not sweep_pass.candidates:
            # The first run with nothing to examine: it covered the window, so that what stops after it and leaves
            # the window before any run examines it (the sweep stopped for longer than the look-back) is counted.
            watermark = _stop_key_of(now - self._window(), "")
        if not watermark or (watermark == sweep_pass.watermark and not examined):
            return  # nothing was examined in order: the memory holds as it is
        margin_start = _stop_key_of(_stop_of(watermark) - CONSISTENCY_MARGIN, "")
        recent = sorted(key for key in {*sweep_pass.recent, *examined} if margin_start <= key <= watermark)
        if watermark == sweep_pass.watermark and frozenset(recent) == sweep_pass.recent:
            return  # what was examined was known already
        item: dict[str, Any] = {
            **_key(_state_machine_key(sweep_pass.state_machine_arn)),
            "watermark": {"S": watermark},
            "version": {"N": str(sweep_pass.version + 1)},
            "expiration": {"N": str(int((now + self._window() * 2).timestamp()))},
        }
        if recent and len(recent) <= REMEMBERED_WITHIN_MARGIN_MAX:
            item["recent"] = {"SS": recent}
        written = self._put_unless_taken(
            item,
            "attribute_not_exists(version) OR version = :read",  # 0.2.0's item had no version
            {":read": {"N": str(sweep_pass.version)}},
        )
        if not written:
            logger.info(
                "Another sweep run moved this state machine's memory first; its memory stands",
                state_machine_arn=sweep_pass.state_machine_arn,
            )

    def _recorded_now(self, execution: ExecutionSummary, outcome: str) -> bool:
        """Record one execution as examined (unless a run at the same time did first); whether it is recorded."""
        try:
            self._record(execution, outcome)
        except IdempotencyStoreUnavailableError as error:
            logger.warning(
                "Execution examined but not recorded; the next run examines it again (no second call: the record's "
                "notification is kept apart)",
                execution_arn=execution.execution_arn,
                reason=str(error),
            )
            return False
        return True

    def _record(self, execution: ExecutionSummary, outcome: str) -> None:
        stopped = execution.stop_date or datetime.now(UTC)
        expires = stopped + self._window() + timedelta(days=1)
        item = {
            **_key(_execution_key(execution)),
            "outcome": {"S": outcome},
            "expiration": {"N": str(int(expires.timestamp()))},
        }
        self._put_unless_taken(item, "attribute_not_exists(id)")  # else a run at the same time recorded it first

    def _put_unless_taken(self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> bool:
        """Write an item of the sweep's memory only if the condition holds; whether it was written (False: another
        run's write came first, and stands)."""
        arguments: dict[str, Any] = {"ExpressionAttributeValues": values} if values else {}
        try:
            self._dynamodb.put_item(
                TableName=self._settings.idempotency_table_name, Item=item, ConditionExpression=condition, **arguments
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _unavailable("written", error) from error
            return False
        except BotoCoreError as error:
            raise _unavailable("written", error) from error
        return True

    def _recorded(self, executions: Sequence[ExecutionSummary]) -> set[str]:
        """The keys of these executions' items that exist: those examined by some run."""
        found: set[str] = set()
        for start in range(0, len(executions), BATCH_GET_MAX_KEYS):
            found |= self._recorded_batch(executions[start : start + BATCH_GET_MAX_KEYS])
        return found

    def _recorded_batch(self, executions: Sequence[ExecutionSummary]) -> set[str]:
        """``_recorded`` for as many executions as one ``BatchGetItem`` reads (``BATCH_GET_MAX_KEYS``)."""
        keys = [_key(_execution_key(execution)) for execution in executions]
        found: set[str] = set()
        request: dict[str, Any] = {
            self._settings.idempotency_table_name: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "id"}
        }
        try:
            for round_ in range(BATCH_GET_MAX_ROUNDS):
                if round_:
                    time.sleep(min(0.05 * 2**round_, 2.0))  # throttled: DynamoDB answered some keys unprocessed
                answer = self._dynamodb.batch_get_item(RequestItems=request)
                responses = answer.get("Responses", {}).get(self._settings.idempotency_table_name, [])
                found.update(item["id"]["S"] for item in responses)
                request = dict(answer.get("UnprocessedKeys") or {})
                if not request:
                    return found
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("read", error) from error
        raise IdempotencyStoreUnavailableError(
            f"the sweep's memory could not be read: keys still unprocessed after {BATCH_GET_MAX_ROUNDS} rounds"
        )

    def _get_item(self, key: str) -> dict[str, Any]:
        try:
            item: dict[str, Any] = self._dynamodb.get_item(
                TableName=self._settings.idempotency_table_name, Key=_key(key), ConsistentRead=True
            ).get("Item", {})
        except (ClientError, BotoCoreError) as error:
            raise _unavailable("read", error) from error
        return item

    def _window(self) -> timedelta:
        return timedelta(hours=self._settings.sweep_look_back_hours)


def _stop_key(execution: ExecutionSummary) -> str:
    """An execution's place in stop order: its stop (epoch milliseconds, fixed width), its ARN, its redrive count."""
    stop = execution.stop_date or datetime.max.replace(tzinfo=UTC)
    return f"{_stop_key_of(stop, execution.execution_arn)}#{execution.redrive_count}"


def _stop_key_of(moment: datetime, execution_arn: str) -> str:
    """A place in stop order: a moment, and an execution's ARN (``""``: before every execution of that moment)."""
    return f"{int(moment.timestamp() * 1000):015d}#{execution_arn}"


def _stop_of(key: str) -> datetime:
    """The moment of a place in stop order."""
    return datetime.fromtimestamp(int(key.split("#", 1)[0]) / 1000, UTC)


def _state_machine_key(state_machine_arn: str) -> str:
    return f"{SWEEP_KEY_PREFIX}{state_machine_arn}"


def _execution_key(execution: ExecutionSummary) -> str:
    return f"{SWEEP_KEY_PREFIX}{execution.execution_arn}#{execution.redrive_count}"


def _key(key: str) -> dict[str, Any]:
    return {"id": {"S": key}}


def _unavailable(what: str, error: Exception) -> IdempotencyStoreUnavailableError:
    return IdempotencyStoreUnavailableError(f"the sweep's memory could not be {what} ({type(error).__name__})")


def _flush_record_metrics() -> None:
    """Each record's own metrics, with its own dimensions, as a delivery of its status change would emit them."""
    if metrics.metric_set:
        metrics.flush_metrics()
    else:
        metrics.clear_metrics()

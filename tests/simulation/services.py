"""The services around the package, as models that answer real botocore clients the way the services do.

Each model answers its client's calls from botocore's ``before-call`` event, after botocore has validated and
serialized the request, so the package's code runs unchanged over real clients: what it sends is checked by
botocore's own service model, and what it gets back is what botocore would have parsed. DynamoDB is moto's (a
fault only stands in front of it). Time is the simulation's clock everywhere, Powertools' idempotency included.
"""

from __future__ import annotations

import contextlib
import datetime as real_datetime
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from local_aws import listing
from local_aws.stand_in import Answer, answer, attach, error

SECRET_MARKERS = ("SimSecretValue",)
"""Every sensitive parameter value of the simulation contains one of these: a log line, a metric, a failure reason
or a command's output that holds one leaked a secret."""

TOKEN_PIECE = 12
"""A piece of a workflow token this long, in any text, is the token leaked: quoted whole, cut off, or escaped."""
_TOKEN_RUN = re.compile(rf"[0-9A-Za-z+/=]{{{TOKEN_PIECE},}}")
_TOKEN_ESCAPES = (
    (re.compile(r"\\u00(2[bB])"), "+"),
    (re.compile(r"\\u00(2[fF])"), "/"),
    (re.compile(r"\\u00(3[dD])"), "="),
    (re.compile(r"\\/"), "/"),
    (re.compile(r"%2[bB]"), "+"),
    (re.compile(r"%2[fF]"), "/"),
    (re.compile(r"%3[dD]"), "="),
)


class Secrets:
    """Every workflow token handed out and every sensitive value, watched for in any text the package writes: a token
    whole, cut off, or escaped as JSON or a URL escapes it, a value by its marker."""

    def __init__(self) -> None:
        self._pieces: set[str] = set()

    def token(self, workflow_token: str) -> None:
        self._pieces.update(
            workflow_token[at : at + TOKEN_PIECE] for at in range(len(workflow_token) - TOKEN_PIECE + 1)
        )

    def leaked(self, text: str) -> str | None:
        """The secret found in the text (a marker, or the run of text holding a token's piece), or None."""
        for marker in SECRET_MARKERS:
            if marker in text:
                return marker
        for escape, character in _TOKEN_ESCAPES:
            text = escape.sub(character, text)
        for run in _TOKEN_RUN.finditer(text):
            found = run.group(0)
            if any(found[at : at + TOKEN_PIECE] in self._pieces for at in range(len(found) - TOKEN_PIECE + 1)):
                return found
        return None


ACCOUNT = "111122223333"
REGION = "us-east-1"


class Killed(BaseException):
    """The Lambda invocation ends here: killed by its timeout or its host. A ``BaseException``, so that nothing in the
    package or in Powertools catches it: a claim made before it stays, as it does in Lambda."""


class Clock:
    """The simulation's clock, in epoch seconds; it moves only when the simulation moves it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def datetime(self) -> real_datetime.datetime:
        return real_datetime.datetime.fromtimestamp(self.now, real_datetime.UTC)


@contextlib.contextmanager
def simulated_time(clock: Clock, modules: list[Any]) -> Iterator[None]:
    """Powertools' idempotency and the package's own modules read the simulation's clock: a claim expires, and a
    record is notified, at the simulation's time."""

    class SimulatedDatetime(real_datetime.datetime):
        @classmethod
        def now(cls, tz: real_datetime.tzinfo | None = None) -> real_datetime.datetime:  # type: ignore[override]
            return real_datetime.datetime.fromtimestamp(clock.now, tz)

    shim = SimpleNamespace(**{name: getattr(real_datetime, name) for name in dir(real_datetime) if name[0] != "_"})
    shim.datetime = SimulatedDatetime
    saved = []
    for module in modules:
        name = "dt" if hasattr(module, "dt") else "datetime"
        saved.append((module, name, getattr(module, name)))
        setattr(module, name, shim if name == "dt" else SimulatedDatetime)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


@dataclass(frozen=True)
class Window:
    service: str
    kind: str
    start: float
    end: float


@dataclass
class Outages:
    """Windows of simulated time in which a service fails every call (after botocore's retries, which a stand-in
    answer skips)."""

    windows: list[Window] = field(default_factory=list)
    ANSWERS = {  # noqa: RUF012 (a constant table)
        "service_catalog_throttling": (400, "ThrottlingException", "Rate exceeded"),
        "service_catalog_5xx": (500, "InternalFailure", "We encountered an internal error"),
        "dynamodb": (500, "InternalServerError", "Internal server error"),
        "step_functions": (400, "ThrottlingException", "Rate exceeded"),
    }

    def failing_at(self, service: str, now: float) -> bool:
        """Whether the service (or the sweep's schedule: ``sweep_paused``) is out at this moment."""
        return any(window.service == service and window.start <= now < window.end for window in self.windows)

    def failing(self, service: str, now: float) -> Answer | None:
        for window in self.windows:
            if window.service == service and window.start <= now < window.end:
                return error(*self.ANSWERS[window.kind])
        return None


# Service Catalog.


@dataclass
class Notification:
    """A notification Service Catalog accepted."""

    operation: str
    status: str
    outputs: tuple[tuple[str, str], ...]
    failure_reason: str | None
    idempotency_token: str
    parameters: dict[str, Any]
    at: float


@dataclass
class RecordModel:
    operation: str
    workflow_token: str
    notification: Notification | None = None


OPERATION_OF_CALL = {
    "NotifyProvisionProductEngineWorkflowResult": "PROVISION_PRODUCT",
    "NotifyUpdateProvisionedProductEngineWorkflowResult": "UPDATE_PROVISIONED_PRODUCT",
    "NotifyTerminateProvisionedProductEngineWorkflowResult": "TERMINATE_PROVISIONED_PRODUCT",
}


class ServiceCatalog:
    """Service Catalog as strict as the service: a record knows its operation and token, takes one notification,
    and refuses any other once it is no longer in progress. A retry of the accepted call (the same idempotency token
    and the same members) is answered as the first was, and changes nothing."""

    def __init__(self, clock: Clock, outages: Outages) -> None:
        self._clock = clock
        self._outages = outages
        self.records: dict[str, RecordModel] = {}
        self.requests = 0
        self.retries_of_accepted = 0
        self.refused: list[tuple[str, str, str]] = []
        """(record id, ``wrong_token``, ``wrong_operation`` or ``not_in_progress``, why) for every call refused."""
        self.reasons: list[str] = []
        self.unknown: list[str] = []
        """Every call for a record Service Catalog does not know (a foreign execution's, an invented one)."""
        self.in_flight: Callable[[str, int], str | None] = lambda record_id, call: None
        """Asked at each call (the record id, the how-manyth call for it): ``kill_before``, ``kill_after``,
        ``lose_answer``, or None; the simulation may also run other deliveries from here (a call in flight)."""
        self._calls: dict[str, int] = {}

    def register(self, record_id: str, operation: str, workflow_token: str) -> None:
        self.records[record_id] = RecordModel(operation, workflow_token)

    def attach(self, client: Any) -> None:
        attach(client, self._respond)

    def _respond(self, operation: str, parameters: dict[str, Any]) -> Any:
        self.requests += 1
        failing = self._outages.failing("service_catalog", self._clock.now)
        if failing is not None:
            return failing
        record_id = parameters["RecordId"]
        self._calls[record_id] = call = self._calls.get(record_id, 0) + 1
        injected = self.in_flight(record_id, call)
        if injected == "kill_before":
            raise Killed
        result = self._notify(operation, parameters)
        if injected == "kill_after":
            raise Killed
        if injected == "lose_answer":
            return error(500, "InternalFailure", "We encountered an internal error")
        return result

    def _notify(self, operation: str, parameters: dict[str, Any]) -> Any:
        record_id = parameters["RecordId"]
        if parameters.get("FailureReason"):
            self.reasons.append(parameters["FailureReason"])
        record = self.records.get(record_id)
        if record is None:
            self.unknown.append(f"{operation} for {record_id}")
            return error(400, "ResourceNotFoundException", f"Record {record_id} not found")
        if parameters["WorkflowToken"] != record.workflow_token:
            return self._refuse(record_id, "wrong_token", "a workflow token that is not the record's")
        if OPERATION_OF_CALL[operation] != record.operation:
            return self._refuse(record_id, "wrong_operation", f"{operation} for a {record.operation} record")
        accepted = record.notification
        if accepted is not None:
            if accepted.idempotency_token == parameters["IdempotencyToken"] and accepted.parameters == parameters:
                self.retries_of_accepted += 1
                return answer({})
            return self._refuse(
                record_id, "not_in_progress", f"a second notification ({parameters['Status']}) after {accepted.status}"
            )
        record.notification = Notification(
            operation=record.operation,
            status=parameters["Status"],
            outputs=tuple((o["OutputKey"], o.get("OutputValue", "")) for o in parameters.get("Outputs", [])),
            failure_reason=parameters.get("FailureReason"),
            idempotency_token=parameters["IdempotencyToken"],
            parameters=dict(parameters),
            at=self._clock.now,
        )
        return answer({})

    def _refuse(self, record_id: str, kind: str, why: str) -> Any:
        self.refused.append((record_id, kind, why))
        return error(400, "InvalidParametersException", f"Record {record_id} is not in progress or not this: {why}")


# Step Functions.

FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
STOPPED_STATUSES = frozenset({*FAILED_STATUSES, "SUCCEEDED"})
REDRIVE_SECONDS = 14 * 24 * 3600


@dataclass
class ExecutionModel:
    arn: str
    state_machine_arn: str
    name: str
    input: str
    start: float
    status: str = "RUNNING"
    stop: float | None = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    redrive_count: int = 0
    redrive_date: float | None = None
    read_lag: float = 0.0
    """How long, after its latest stop or redrive, a read may still show it as it was before (the seed's choice:
    ``DescribeExecution`` and ``ListExecutions`` are eventually consistent)."""
    changed_at: float = 0.0
    before: Seen | None = None
    """What it was before its latest stop or redrive."""

    def seen(self) -> Seen:
        return Seen(self.status, self.stop, self.error, self.cause, self.redrive_count, self.redrive_date)


@dataclass(frozen=True)
class Seen:
    """An execution as a read shows it."""

    status: str
    stop: float | None
    error: str | None
    cause: str | None
    redrive_count: int
    redrive_date: float | None


def _when(epoch: float) -> real_datetime.datetime:
    return real_datetime.datetime.fromtimestamp(epoch, real_datetime.UTC)


class StepFunctions:
    """Step Functions' read API over executions the engine model writes: ``DescribeExecution`` (with the redrive
    fields), ``GetExecutionHistory`` paged as the service pages (``maxResults``, ``reverseOrder``, ``nextToken``)
    and ``ListExecutions`` as the service documents it (``local_aws.listing``: ended executions newest stop first,
    running ones by start or redrive; filters on the current status; pages whose tokens hold to their arguments).
    ``DescribeExecution`` and ``ListExecutions`` are eventually consistent: within an execution's ``read_lag`` of its
    latest stop or redrive they show it as it was before; the history is read as it is."""

    def __init__(self, clock: Clock, outages: Outages) -> None:
        self._clock = clock
        self._outages = outages
        self.executions: dict[str, ExecutionModel] = {}
        self._by_machine: dict[str, list[ExecutionModel]] = {}
        self._stopped: dict[str, list[tuple[float, ExecutionModel]]] = {}
        """Per state machine, each stop as it happened (in time order): ended executions, newest stop last."""
        self.requests = 0
        self.stale_reads = 0
        self.on_describe: Callable[[str], None] = lambda arn: None
        """Called at each ``DescribeExecution`` (the simulation runs a second sweep from here, or kills one)."""

    # What the engine does.

    def create_state_machine(self, arn: str) -> None:
        self._by_machine.setdefault(arn, [])
        self._stopped.setdefault(arn, [])

    def start(self, state_machine_arn: str, name: str, execution_input: str) -> ExecutionModel:
        arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        execution = ExecutionModel(arn, state_machine_arn, name, execution_input, self._clock.now)
        self.executions[arn] = execution
        self._by_machine[state_machine_arn].append(execution)
        self.record(execution, "ExecutionStarted", executionStartedEventDetails={"input": execution_input})
        return execution

    def record(self, execution: ExecutionModel, kind: str, previous: int | None = None, **details: Any) -> int:
        """Append a history event; its id."""
        event_id = len(execution.events) + 1
        execution.events.append(
            {
                "timestamp": _when(self._clock.now),
                "type": kind,
                "id": event_id,
                "previousEventId": event_id - 1 if previous is None else previous,
                **details,
            }
        )
        return event_id

    def close(self, execution: ExecutionModel, status: str, error: str | None = None, cause: str | None = None) -> None:
        kind = {
            "SUCCEEDED": "ExecutionSucceeded",
            "FAILED": "ExecutionFailed",
            "TIMED_OUT": "ExecutionTimedOut",
            "ABORTED": "ExecutionAborted",
        }[status]
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        details_key = kind[0].lower() + kind[1:] + "EventDetails"
        self.record(execution, kind, **{details_key: details if status != "SUCCEEDED" else {"output": "{}"}})
        execution.before, execution.changed_at = execution.seen(), self._clock.now
        execution.status, execution.stop, execution.error, execution.cause = status, self._clock.now, error, cause
        self._stopped[execution.state_machine_arn].append((self._clock.now, execution))

    def redrivable(self, execution: ExecutionModel) -> bool:
        return (
            execution.status in FAILED_STATUSES
            and execution.stop is not None
            and self._clock.now - execution.stop < REDRIVE_SECONDS
        )

    def redrive(self, execution: ExecutionModel) -> None:
        earlier = execution.seen()
        execution.redrive_count += 1
        execution.redrive_date = self._clock.now
        self.record(
            execution, "ExecutionRedriven", executionRedrivenEventDetails={"redriveCount": execution.redrive_count}
        )
        execution.before, execution.changed_at = earlier, self._clock.now
        execution.status, execution.stop, execution.error, execution.cause = "RUNNING", None, None, None

    def seen(self, execution: ExecutionModel) -> Seen:
        """The execution as a read shows it now: as it was before its latest stop or redrive, within its lag."""
        if execution.before is not None and self._clock.now - execution.changed_at < execution.read_lag:
            return execution.before
        return execution.seen()

    def describe(self, execution: ExecutionModel, seen: Seen | None = None) -> dict[str, Any]:
        """``DescribeExecution``'s answer, as botocore parses it: the execution as it is, or as ``seen``."""
        seen = seen or execution.seen()
        redrivable = seen.status in FAILED_STATUSES and seen.stop is not None
        described: dict[str, Any] = {
            "executionArn": execution.arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": seen.status,
            "startDate": _when(execution.start),
            "input": execution.input,
            "inputDetails": {"included": True},
            "redriveCount": seen.redrive_count,
            "redriveStatus": "REDRIVABLE"
            if redrivable and self._clock.now - (seen.stop or 0) < REDRIVE_SECONDS
            else "NOT_REDRIVABLE",
        }
        if seen.stop is not None:
            described["stopDate"] = _when(seen.stop)
        if seen.redrive_date is not None:
            described["redriveDate"] = _when(seen.redrive_date)
        if seen.error is not None:
            described["error"] = seen.error
        if seen.cause is not None:
            described["cause"] = seen.cause
        if seen.status == "SUCCEEDED":
            described["output"] = "{}"
        return described

    # The API.

    def attach(self, client: Any) -> None:
        attach(client, self._respond)

    def _respond(self, operation: str, parameters: dict[str, Any]) -> Any:
        self.requests += 1
        failing = self._outages.failing("step_functions", self._clock.now)
        if failing is not None:
            return failing
        if operation == "DescribeExecution":
            self.on_describe(parameters["executionArn"])
            execution = self.executions.get(parameters["executionArn"])
            if execution is None:
                return error(400, "ExecutionDoesNotExist", "Execution does not exist")
            seen = self.seen(execution)
            self.stale_reads += seen is execution.before
            return answer(self.describe(execution, seen))
        if operation == "GetExecutionHistory":
            return self._history(parameters)
        if operation == "ListExecutions":
            return self._list(parameters)
        raise AssertionError(f"the package called Step Functions' {operation}, which the model does not answer")

    def _history(self, parameters: dict[str, Any]) -> Any:
        execution = self.executions.get(parameters["executionArn"])
        if execution is None:
            return error(400, "ExecutionDoesNotExist", "Execution does not exist")
        events = list(reversed(execution.events)) if parameters.get("reverseOrder") else execution.events
        offset = _offset(parameters.get("nextToken"), execution.arn)
        size = parameters.get("maxResults") or 100
        page = events[offset : offset + size]
        result: dict[str, Any] = {"events": [dict(event) for event in page]}
        if offset + size < len(events):
            result["nextToken"] = _token(offset + size, execution.arn)
        return answer(result)

    def _list(self, parameters: dict[str, Any]) -> Any:
        machine = parameters["stateMachineArn"]
        if machine not in self._by_machine:
            return error(400, "StateMachineDoesNotExist", "State machine does not exist")
        try:
            if parameters.get("statusFilter") in STOPPED_STATUSES and not parameters.get("redriveFilter"):
                return answer(self._list_stopped(machine, parameters))
            items = [self._listed(execution) for execution in self._by_machine[machine]]
            return answer(listing.listing(items, parameters))
        except listing.ListingRefused as refused:
            return error(400, refused.code, str(refused))

    def _list_stopped(self, machine: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """Ended executions of one status, newest stop first, from the stops as they happened (what
        ``listing.listing`` would answer, without sorting every execution at each page)."""
        listing.check(parameters)
        size, skip = listing.page_size(parameters), listing.offset(parameters)
        status = parameters["statusFilter"]
        stops = self._stopped[machine]
        page: list[dict[str, Any]] = []
        position, matched = len(stops) - 1, 0
        while position >= 0 and len(page) < size:
            stopped_at, execution = stops[position]
            position -= 1
            seen = self.seen(execution)
            if seen.status != status or seen.stop != stopped_at:
                continue  # stopped otherwise since, or not yet seen stopped
            matched += 1
            if matched > skip:
                page.append(self._listed(execution, seen))
        result: dict[str, Any] = {"executions": page}
        if position >= 0 and len(page) == size:
            result["nextToken"] = listing.token(skip + len(page), parameters)
        return result

    def _listed(self, execution: ExecutionModel, seen: Seen | None = None) -> dict[str, Any]:
        seen = seen or self.seen(execution)
        item: dict[str, Any] = {
            "executionArn": execution.arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": seen.status,
            "startDate": _when(execution.start),
        }
        if seen.stop is not None:
            item["stopDate"] = _when(seen.stop)
        if seen.redrive_count:
            item["redriveCount"] = seen.redrive_count
            item["redriveDate"] = _when(seen.redrive_date or execution.start)
        return item


def _token(offset: int, scope: str) -> str:
    return json.dumps([scope, offset])


def _offset(token: str | None, scope: str) -> int:
    if not token:
        return 0
    named, offset = json.loads(token)
    if named != scope:
        raise AssertionError("a nextToken of another listing")
    return int(offset)


# SQS: the safety net's dead-letter queue (its OnFailure destination).


@dataclass
class Message:
    message_id: str
    body: str
    receipt: str = ""
    visible_at: float = 0.0


class DeadLetterQueue:
    """The OnFailure destination: ``ReceiveMessage`` (a visibility timeout per receive), ``ChangeMessageVisibility``
    and ``DeleteMessage`` by the receipt of the latest receive only."""

    URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/engine-result-notifier-dead-letters"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.messages: list[Message] = []
        self.deleted: list[Message] = []
        """Every message deleted, in order."""
        self._next = 0

    def put(self, body: str) -> None:
        self._next += 1
        self.messages.append(Message(f"message-{self._next}", body))

    def attach(self, client: Any) -> None:
        attach(client, self._respond)

    def _respond(self, operation: str, parameters: dict[str, Any]) -> Any:
        now = self._clock.now
        if operation == "ReceiveMessage":
            visible = [m for m in self.messages if m.visible_at <= now][: parameters.get("MaxNumberOfMessages", 1)]
            for message in visible:
                self._next += 1
                message.receipt = f"receipt-{self._next}"
                message.visible_at = now + parameters.get("VisibilityTimeout", 30)
            return answer(
                {"Messages": [{"MessageId": m.message_id, "ReceiptHandle": m.receipt, "Body": m.body} for m in visible]}
            )
        message = next((m for m in self.messages if m.receipt == parameters["ReceiptHandle"]), None)
        if message is None:
            return error(400, "ReceiptHandleIsInvalid", "The receipt handle is not valid")
        if operation == "DeleteMessage":
            self.messages.remove(message)
            self.deleted.append(message)
        elif operation == "ChangeMessageVisibility":
            message.visible_at = now + parameters["VisibilityTimeout"]
        else:
            raise AssertionError(f"the package called SQS {operation}, which the model does not answer")
        return answer({})

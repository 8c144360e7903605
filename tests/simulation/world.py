"""The world a story is played in, and the invariant checked when it has quiesced.

Everything runs in one process and one thread, on the simulation's clock: the engine model writes executions into
the Step Functions model; its notify tasks invoke ``Notify``; status changes reach ``Rescuer.status_change`` as
EventBridge delivers them to a Lambda function (best effort, then Lambda's two asynchronous retries, then the
OnFailure queue); ``Sweep`` runs on its schedule; operators run the package's own commands. Two deliveries "at
once" are one run inside another's Service Catalog call (or a sweep inside another sweep's read), each in a Lambda
container of its own over the same table.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import heapq
import io
import itertools
import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import base as idempotency_base
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord
from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as persistence_dynamodb
from botocore.config import Config
from moto import mock_aws

from engine_result_notifier import commands
from engine_result_notifier import delivery as delivery_module
from engine_result_notifier import sweep as sweep_module
from engine_result_notifier.dead_letter_queue import DeadLetterQueue as PackageDeadLetterQueue
from engine_result_notifier.delivery import Delivery
from engine_result_notifier.errors import NotifierError
from engine_result_notifier.models import Operation
from engine_result_notifier.notify import Notify
from engine_result_notifier.observability import logger, metrics
from engine_result_notifier.rescue import Rescuer
from engine_result_notifier.settings import ENTRY_POINT_VARIABLES, Settings
from engine_result_notifier.sweep import Sweep, SweepReport
from local_aws.dynamodb import create_idempotency_table
from local_aws.step_functions import status_change_event
from local_aws.template import NOTIFY_FUNCTION, declared_environment, load_template
from tests.simulation import story as stories
from tests.simulation.engine import Intended, ReferenceEngine, Workload
from tests.simulation.services import (
    ACCOUNT,
    FAILED_STATUSES,
    REGION,
    Clock,
    DeadLetterQueue,
    ExecutionModel,
    Killed,
    Message,
    Outages,
    Secrets,
    ServiceCatalog,
    StepFunctions,
    Window,
    simulated_time,
)

MINUTE = 60.0
STORY_START = datetime(2025, 3, 3, tzinfo=UTC).timestamp()
"""Before the machine's own clock: nothing in the package may read a later time than the simulation's."""
SWEEP_EVERY_MINUTES = 15
"""The template's default ``SweepRate``."""
ASYNC_RETRY_DELAYS = (MINUTE, 2 * MINUTE)
"""Lambda's two retries of a function error in an asynchronous invocation: about one and two minutes later."""
STATUS_CHANGE_LATENCY = 10.0
NOTIFY_TIMEOUT_MS = 30_000
TABLE = "engine-result-notifier-simulation"
STATE_MACHINES = {
    "manage": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ManageProvisionedProduct",
    "terminate": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:TerminateProvisionedProduct",
}
FOREIGN_STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:SomeoneElsesWorkflow"
MACHINE_OF = {
    "PROVISION_PRODUCT": STATE_MACHINES["manage"],
    "UPDATE_PROVISIONED_PRODUCT": STATE_MACHINES["manage"],
    "TERMINATE_PROVISIONED_PRODUCT": STATE_MACHINES["terminate"],
}
ALL_FAULT_KINDS = (
    *stories.WORKFLOW_FAULTS,
    *stories.OUTAGES,
    *(f"sweep_{kind}" for kind in stories.SWEEP_KINDS),
    *(f"poison_{kind}" for kind in stories.POISON_KINDS),
    "lambda_async_retry",
    "dead_letter",
    "redrive_before_the_safety_net",
    "redrive_after_the_safety_net",
    "operator_rescue",
    "operator_replay",
    "sweep_paused",
    "token_quoted",
)
"""Every kind of fault and interleaving the simulation injects, as its summary counts them."""


class SimulatedContext:
    """A Lambda context whose remaining time is given: fixed, or falling after a number of readings (a run about to
    be cut off by its deadline)."""

    function_name = "engine-result-notifier-simulated"
    memory_limit_in_mb = 256
    aws_request_id = "simulated"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:engine-result-notifier-simulated"

    def __init__(self, remaining_ms: int, readings_before_the_end: int | None = None) -> None:
        self._remaining = remaining_ms
        self._readings_left = readings_before_the_end

    def get_remaining_time_in_millis(self) -> int:
        if self._readings_left is None:
            return self._remaining
        self._readings_left -= 1
        return self._remaining if self._readings_left >= 0 else 1_000


@dataclass
class Container:
    """One Lambda container's use cases, over the shared clients."""

    delivery: Delivery
    notify: Notify
    rescuer: Rescuer
    sweep: Sweep


@dataclass
class Summary:
    seed: int
    redrive_grace_minutes: int
    executions: int
    faults: Counter[str]
    notifications: int
    retries_of_accepted: int
    alarms: Counter[str]
    requests: dict[str, int]
    violations: list[str]

    def render(self) -> str:
        per = max(self.notifications, 1)
        lines = [
            f"seed {self.seed}: {self.executions} executions, redrive grace {self.redrive_grace_minutes} min",
            "faults injected: "
            + ", ".join(f"{kind} {self.faults[kind]}" for kind in ALL_FAULT_KINDS if self.faults[kind]),
            f"notifications accepted: {self.notifications} (and {self.retries_of_accepted} retries of an accepted "
            "call, answered as the first)",
            "alarms: " + (", ".join(f"{kind} {count}" for kind, count in sorted(self.alarms.items())) or "none"),
            "requests per notification: "
            + ", ".join(f"{service} {count / per:.2f}" for service, count in self.requests.items()),
            f"invariant violations: {len(self.violations)}",
        ]
        return "\n".join(lines + [f"  {violation}" for violation in self.violations[:20]])


class World:
    """Plays one story and checks the invariant."""

    def __init__(self, story: stories.Story) -> None:
        self.story = story
        self.clock = Clock(STORY_START)
        self.outages = Outages()
        self.service_catalog = ServiceCatalog(self.clock, self.outages)
        self.step_functions = StepFunctions(self.clock, self.outages)
        self.dead_letters = DeadLetterQueue(self.clock)
        self.secrets = Secrets()
        self.faults: Counter[str] = Counter()
        self.alarms: dict[str, set[str]] = defaultdict(set)
        self.violations: list[str] = []
        self._queue: list[tuple[float, int, bool, Callable[[], None]]] = []
        self._happening = 0
        """Events in the queue other than the sweep's schedule."""
        self._order = itertools.count()
        self._workflows = {w.index: w for w in story.workflows()}
        self._workloads: dict[int, Workload] = {}
        self._executions: dict[int, ExecutionModel] = {}
        self._runs: dict[int, list[Intended | None]] = defaultdict(list)
        self._record_of_execution: dict[str, str] = {}
        self._workflow_of_record: dict[str, int] = {}
        self._output = io.StringIO()
        self._dynamodb_requests = 0

    # Playing.

    def play(self) -> Summary:
        with self._services():
            for episode in self.story.episodes:
                self._schedule(episode)
            self._at(STORY_START + 1, self._scheduled_sweep, scheduled=True)
            self._run_queue()
            self._quiesce()
            self._check()
        return Summary(
            seed=self.story.seed,
            redrive_grace_minutes=self.story.redrive_grace_minutes,
            executions=len(self._workflows),
            faults=self.faults,
            notifications=sum(1 for r in self.service_catalog.records.values() if r.notification),
            retries_of_accepted=self.service_catalog.retries_of_accepted,
            alarms=Counter(kind for kinds in self.alarms.values() for kind in kinds),
            requests={
                "Service Catalog": self.service_catalog.requests,
                "DynamoDB": self._dynamodb_requests,
                "Step Functions": self.step_functions.requests,
            },
            violations=self.violations,
        )

    @contextlib.contextmanager
    def _services(self) -> Iterator[None]:
        handler: Any = logger.registered_handler
        powertools_clock = [persistence_base, persistence_dynamodb, idempotency_base, datarecord]
        package_clock = [delivery_module, commands, sweep_module]
        with (
            mock_aws(),
            simulated_time(self.clock, powertools_clock + package_clock),
            contextlib.redirect_stdout(self._output),
        ):
            saved_stream = handler.setStream(self._output)
            try:
                self._wire()
                yield
            finally:
                handler.setStream(saved_stream)

    def _wire(self) -> None:
        # In process, no network: short timeouts keep the sweep's reserve for one rescue (computed from them) short.
        config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
        session = boto3.session.Session(region_name=REGION)
        dynamodb = session.client("dynamodb", config=config)
        create_idempotency_table(dynamodb, TABLE)

        def count_and_fail(model: Any, **_: Any) -> Any:
            self._dynamodb_requests += 1
            return self.outages.failing("dynamodb", self.clock.now)

        dynamodb.meta.events.register("before-call", count_and_fail)
        service_catalog = session.client("servicecatalog", config=config)
        self.service_catalog.attach(service_catalog)
        self.service_catalog.in_flight = self._in_flight
        step_functions = session.client("stepfunctions", config=config)
        self.step_functions.attach(step_functions)
        sqs = session.client("sqs", config=config)
        self.dead_letters.attach(sqs)
        self._sqs = sqs
        for arn in STATE_MACHINES.values():
            self.step_functions.create_state_machine(arn)
        declared = declared_environment(load_template(), NOTIFY_FUNCTION)
        self.settings = Settings.from_environ(
            {
                **{name: declared[name] for name in ENTRY_POINT_VARIABLES.values()},
                "IDEMPOTENCY_TABLE_NAME": TABLE,
                "ENGINE_STATE_MACHINE_ARNS": ",".join(STATE_MACHINES.values()),
                "REDRIVE_GRACE_MINUTES": str(self.story.redrive_grace_minutes),
                "DEAD_LETTER_QUEUE_URL": DeadLetterQueue.URL,
            }
        )
        self._containers = [self._container(service_catalog, dynamodb, step_functions) for _ in range(2)]
        entry_points = {
            operation.value: name
            for name, operation in self.settings.entry_points.operations().items()
            if operation is not None
        }
        self._operation_of_function = {name: Operation(op) for op, name in entry_points.items()}
        self._remembered_for = float(self.settings.idempotency_expires_after_seconds)
        self.engine = ReferenceEngine(self.step_functions, entry_points, MACHINE_OF)

    def _container(self, service_catalog: Any, dynamodb: Any, step_functions: Any) -> Container:
        delivery = Delivery(self.settings, service_catalog, dynamodb)
        rescuer = Rescuer(self.settings, delivery, step_functions)
        return Container(
            delivery,
            Notify(self.settings, delivery),
            rescuer,
            Sweep(self.settings, rescuer, step_functions, dynamodb),
        )

    def _at(self, when: float, action: Callable[[], None], *, scheduled: bool = False) -> None:
        """Run ``action`` at ``when``; ``scheduled``: the sweep's schedule, which does not keep the story going."""
        heapq.heappush(self._queue, (when, next(self._order), scheduled, action))
        self._happening += not scheduled

    def _run_queue(self) -> None:
        while self._queue:
            when, _, scheduled, action = heapq.heappop(self._queue)
            self._happening -= not scheduled
            self.clock.now = max(self.clock.now, when)
            action()

    def _scheduled_sweep(self) -> None:
        """The sweep's schedule: every 15 minutes, for as long as anything else is still to happen (not while it is
        paused: its rule disabled, or its function failing, for longer than the look-back)."""
        if not self.outages.failing_at("sweep_paused", self.clock.now):
            self._sweep("scheduled")
        if self._happening:
            self._at(self.clock.now + SWEEP_EVERY_MINUTES * MINUTE, self._scheduled_sweep, scheduled=True)

    def _schedule(self, episode: stories.Episode) -> None:
        start = STORY_START + episode.start * MINUTE
        if isinstance(episode, stories.Workflow):
            self._at(start, lambda: self._start(episode))
            self._at(start + episode.minutes * MINUTE, lambda: self._finish(episode, 0))
        elif isinstance(episode, stories.Outage):
            self.outages.windows.append(
                Window(_service_of(episode.service), episode.service, start, start + episode.minutes * MINUTE)
            )
            self.faults[episode.service] += 1
        elif isinstance(episode, stories.Sweep):
            self._at(start, lambda: self._sweep(episode.kind))
        elif isinstance(episode, stories.OperatorRescue):
            self._at(start, lambda: self._operator_rescue(episode.workflow))
        elif isinstance(episode, stories.OperatorReplay):
            self._at(start, self._operator_replay)
        else:
            self._at(start, lambda: self._poison(episode))

    # The engine.

    def _start(self, workflow: stories.Workflow) -> None:
        record_id = f"rec-sim{workflow.index:07d}"
        workload = Workload(
            operation=workflow.operation,
            record_id=record_id,
            workflow_token=workflow_token(workflow.index),
            secret=f"SimSecretValue{workflow.index:07d}",
            product_id=f"pp-sim{workflow.index:07d}",
        )
        self.service_catalog.register(record_id, workflow.operation, workload.workflow_token)
        self.secrets.token(workload.workflow_token)
        if workflow.plan == "step_fails":
            self.faults["token_quoted"] += 1
        self._workloads[workflow.index] = workload
        execution = self.engine.start(workload)
        if "stale_reads" in workflow.faults:
            self.faults["stale_reads"] += 1
            execution.read_lag = workflow.read_lag_seconds
        self._executions[workflow.index] = execution
        self._record_of_execution[execution.arn] = record_id
        self._workflow_of_record[record_id] = workflow.index

    def _finish(self, workflow: stories.Workflow, run: int) -> None:
        execution = self._executions[workflow.index]
        plan = workflow.plan if run == 0 else workflow.redrive.plan  # type: ignore[union-attr]
        lambda_errors = 0
        if run == 0 and "lambda_service_error" in workflow.faults:
            lambda_errors = 1
            self.faults["lambda_service_error"] += 1
        intended = self.engine.run(
            execution, self._workloads[workflow.index], plan, self._engine_invoke, lambda_service_errors=lambda_errors
        )
        self._runs[workflow.index].append(intended)
        if execution.status not in FAILED_STATUSES:
            return
        redrive_at = None
        if run == 0 and workflow.redrive is not None:
            redrive_at = self.clock.now + max(workflow.redrive.after_minutes * MINUTE, 5.0)
            self._at(redrive_at, lambda: self._redrive(workflow))
        self._emit_status_change(workflow, execution, run, redrive_at)

    def _redrive(self, workflow: stories.Workflow) -> None:
        execution = self._executions[workflow.index]
        if not self.step_functions.redrivable(execution):
            return
        notified = self.service_catalog.records[self._workloads[workflow.index].record_id].notification
        self.faults["redrive_after_the_safety_net" if notified else "redrive_before_the_safety_net"] += 1
        self.step_functions.redrive(execution)
        self._at(self.clock.now + workflow.redrive.minutes * MINUTE, lambda: self._finish(workflow, 1))  # type: ignore[union-attr]

    def _engine_invoke(self, function_name: str, payload: dict[str, Any]) -> None:
        operation = self._operation_of_function[function_name]
        record_id = payload["recordId"]
        self._invocation(
            record_id,
            lambda: self._containers[0].notify.completion(payload, SimulatedContext(NOTIFY_TIMEOUT_MS), operation),
            reraise=True,
        )

    # EventBridge and Lambda's asynchronous invocation.

    def _emit_status_change(
        self, workflow: stories.Workflow, execution: ExecutionModel, run: int, redrive_at: float | None
    ) -> None:
        event = status_change_event(self.step_functions.describe(execution))
        event["detail"]["redriveCount"] = execution.redrive_count
        faults = workflow.faults if run == 0 else ()
        deliver_at = self.clock.now + STATUS_CHANGE_LATENCY
        if "status_change_lost" in faults:
            self.faults["status_change_lost"] += 1
            return
        if "status_change_out_of_order" in faults and redrive_at is not None:
            self.faults["status_change_out_of_order"] += 1
            deliver_at = redrive_at + (workflow.redrive.minutes + 1) * MINUTE  # type: ignore[union-attr]
        elif "status_change_delayed" in faults or "status_change_out_of_order" in faults:
            self.faults["status_change_delayed"] += 1
            deliver_at = self.clock.now + workflow.delay_minutes * MINUTE
        self._at(deliver_at, lambda: self._safety_net(event, 1, crash="safety_net_crashed" in faults))
        if "status_change_duplicated" in faults:
            self.faults["status_change_duplicated"] += 1
            self._at(deliver_at + 30, lambda: self._safety_net(event, 1))

    def _safety_net(self, event: dict[str, Any], attempt: int, *, crash: bool = False, container: int = 0) -> None:
        """One attempt of Lambda's asynchronous invocation of the safety net; a function error is retried twice,
        then the event goes to the OnFailure destination."""
        record_id = self._record_of_execution.get(event.get("detail", {}).get("executionArn", ""))
        if crash and attempt == 1:
            self.faults["safety_net_crashed"] += 1
            failed = True
        else:
            rescuer = self._containers[container].rescuer
            failed = not self._invocation(
                record_id, lambda: rescuer.status_change(event, SimulatedContext(NOTIFY_TIMEOUT_MS))
            )
        if not failed:
            return
        if attempt <= len(ASYNC_RETRY_DELAYS):
            self.faults["lambda_async_retry"] += 1
            self._at(self.clock.now + ASYNC_RETRY_DELAYS[attempt - 1], lambda: self._safety_net(event, attempt + 1))
            return
        self.faults["dead_letter"] += 1
        record = {
            "version": "1.0",
            "timestamp": self.clock.datetime().isoformat(),
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": attempt},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        }
        self.dead_letters.put(json.dumps(record))

    # Faults in flight.

    def _in_flight(self, record_id: str, call: int) -> str | None:
        """Asked by Service Catalog at each call: what happens to this one."""
        index = self._workflow_of_record.get(record_id)
        if index is None or call != 1:
            return None
        faults = self._workflows[index].faults
        if "concurrent_delivery" in faults:
            execution = self._executions[index]
            if execution.status in FAILED_STATUSES:
                self.faults["concurrent_delivery"] += 1
                event = status_change_event(self.step_functions.describe(execution))
                self._safety_net(event, 1, container=1)
        for fault, injected in (
            ("killed_before_the_call", "kill_before"),
            ("killed_after_the_call", "kill_after"),
            ("answer_lost", "lose_answer"),
        ):
            if fault in faults:
                self.faults[fault] += 1
                return injected
        return None

    # The sweep and the operators.

    def _sweep(self, kind: str) -> None:
        context = SimulatedContext(900_000)
        if kind != "scheduled":
            self.faults[f"sweep_{kind}"] += 1
        if kind == "cut_off":
            # Time for a rescue at the first two readings, then the deadline's reserve is reached.
            context = SimulatedContext(self._containers[0].sweep.time_to_stop_ms + 5_000, readings_before_the_end=2)
        describes = itertools.count(1)

        def interleave(_: str) -> None:
            number = next(describes)
            if kind == "two_at_once" and number == 1:
                self.step_functions.on_describe = lambda arn: None
                self._invocation(
                    None, lambda: self._containers[1].sweep.run(SimulatedContext(900_000), self.clock.datetime())
                )
            if kind == "killed" and number == 2:
                raise Killed

        self.step_functions.on_describe = interleave
        try:
            self._invocation(None, lambda: self._containers[0].sweep.run(context, self.clock.datetime()))
        finally:
            self.step_functions.on_describe = lambda arn: None

    def _operator_rescue(self, index: int) -> None:
        execution = self._executions.get(index)
        if execution is None:
            return
        self.faults["operator_rescue"] += 1
        container = self._containers[0]
        self._invocation(
            self._record_of_execution[execution.arn],
            lambda: commands.rescue_execution(container.rescuer, container.delivery, execution.arn, lambda: True),
        )

    def _operator_replay(self) -> None:
        """The operators' replay, then what it deleted held to what happened: a dead letter goes only once its
        record is notified, or its execution no longer stands failed (redriven); any other stays in the queue."""
        self.faults["operator_replay"] += 1
        queue = PackageDeadLetterQueue(DeadLetterQueue.URL, self._sqs)
        rescuer = self._containers[0].rescuer
        deleted_before = len(self.dead_letters.deleted)
        self._invocation(None, lambda: commands.replay_dead_letters(rescuer, queue, DeadLetterQueue.URL, send=True))
        for message in self.dead_letters.deleted[deleted_before:]:
            execution = self._execution(_execution_of_dead_letter(message))
            if execution is None:
                continue
            record_id = self._record_of_execution[execution.arn]
            notified = self.service_catalog.records[record_id].notification is not None
            if not notified and execution.status in FAILED_STATUSES:
                self.violations.append(
                    f"{record_id}: the replay deleted its dead letter, but its record is not notified"
                )

    def _execution(self, execution_arn: str) -> ExecutionModel | None:
        """One of the story's executions, by its ARN (None for another's: a poison event's)."""
        record_id = self._record_of_execution.get(execution_arn)
        return None if record_id is None else self._executions[self._workflow_of_record[record_id]]

    def _poison(self, episode: stories.Poison) -> None:
        kind = episode.kind
        if kind == "malformed":
            event: dict[str, Any] = {
                "version": "0",
                "detail-type": "Step Functions Execution Status Change",
                "source": "aws.states",
                "detail": {"status": "FAILED", "executionArn": "not-an-arn"},
            }
        elif kind == "foreign":
            event = status_change_event(
                {
                    "executionArn": FOREIGN_STATE_MACHINE.replace(":stateMachine:", ":execution:") + ":x",
                    "stateMachineArn": FOREIGN_STATE_MACHINE,
                    "name": "x",
                    "status": "FAILED",
                    "startDate": self.clock.datetime(),
                    "stopDate": self.clock.datetime(),
                    "input": json.dumps({"token": "abc", "operation": "PROVISION_PRODUCT", "recordId": "rec-foreign"}),
                }
            )
        else:
            execution = self._first_from(episode.workflow, kind)
            if execution is None:
                return
            record_id = self._record_of_execution[execution.arn]
            if kind == "input_left_out":
                event = status_change_event(self.step_functions.describe(execution))
                event["detail"].update(input=None, inputDetails={"included": False})
            else:  # wrong_operation: a completion event naming another operation, for a record already notified
                workload = self._workloads[self._workflow_of_record[record_id]]
                others = [op for op in stories.OPERATIONS if op != workload.operation]
                wrong = {
                    "token": workload.workflow_token,
                    "recordId": record_id,
                    "operation": others[len(record_id) % 2],
                    "outputs": [],
                }
                self.faults["poison_wrong_operation"] += 1
                self._invocation(
                    record_id,
                    lambda: self._containers[0].notify.completion(wrong, SimulatedContext(NOTIFY_TIMEOUT_MS), None),
                )
                return
        self.faults[f"poison_{kind}"] += 1
        self._safety_net(event, 1)

    def _first_from(self, index: int, kind: str) -> ExecutionModel | None:
        """The execution a poison event is about: the first from ``index`` on that ended failed (input left out), or
        whose record is notified, the component was told so, and the table still remembers it (another operation
        named: it must make no call; after IDEMPOTENCY_EXPIRES_AFTER_SECONDS the record is forgotten, as the
        settings say, and Service Catalog's refusal is the only guard)."""
        for candidate in itertools.chain(range(index, len(self._workflows)), range(index)):
            execution = self._executions.get(candidate)
            if execution is None:
                continue
            if kind == "input_left_out" and execution.status in FAILED_STATUSES:
                return execution
            notified = self.service_catalog.records[self._workloads[candidate].record_id].notification
            answered = not _ANSWER_UNKNOWN.intersection(self._workflows[candidate].faults)
            remembered = notified is not None and notified.at > self.clock.now - self._remembered_for
            if kind == "wrong_operation" and remembered and answered:
                return execution
        return None

    # One invocation, observed.

    def _invocation(self, record_id: str | None, call: Callable[[], Any], *, reraise: bool = False) -> bool:
        """Run one invocation of a use case; whether it returned. Its log lines, metrics and printed lines are
        searched for secrets; a final error naming a record is that record's alarm."""
        logger.clear_state()
        try:
            call()
        except Killed:
            if reraise:
                raise
            return False
        except (NotifierError, IdempotencyAlreadyInProgressError):
            if reraise:
                raise
            return False
        except Exception as error:
            self.violations.append(f"a generic exception escaped: {type(error).__name__}: {error}")
            if reraise:
                raise
            return False
        finally:
            self._observe()
        return True

    def _observe(self) -> None:
        if metrics.metric_set:
            print(json.dumps(metrics.serialize_metric_set()))
            metrics.clear_metrics()
        text = self._output.getvalue()
        self._output.seek(0)
        self._output.truncate()
        leaked = self.secrets.leaked(text) if text else None
        if leaked is not None:
            line = next((line for line in text.splitlines() if self.secrets.leaked(line)), leaked)
            self.violations.append(f"a secret in the output: {line[:300]}")
        if _TAKEN_FOR_A_REDRIVE in text:
            self._check_redrives_claimed(text)
        if any(said in text for said in _ALARMING):
            for line in text.splitlines():
                if line.startswith("{") and any(said in line for said in _ALARMING):
                    logged = json.loads(line)
                    kind = next(kind for said, kind in _ALARMING.items() if said in logged.get("message", ""))
                    named = logged.get("record_id") or self._record_of_execution.get(logged.get("execution_arn", ""))
                    self.alarms[named or "?"].add(kind)

    def _check_redrives_claimed(self, text: str) -> None:
        """An execution the package took for redriven must have been: not still failed in the very attempt it knew
        of (a read behind the execution is not a redrive)."""
        for line in text.splitlines():
            if _TAKEN_FOR_A_REDRIVE not in line or not line.startswith("{"):
                continue
            logged = json.loads(line)
            known = logged.get("known_redrive_count")
            execution = self._execution(logged.get("execution_arn", ""))
            if known is None or execution is None:
                continue
            if execution.status in FAILED_STATUSES and execution.redrive_count == known:
                self.violations.append(
                    f"{self._record_of_execution[execution.arn]}: taken for redriven from a read showing it "
                    f"{logged.get('execution_status')}, though it still stands {execution.status} in the attempt known"
                )

    # The end.

    def _quiesce(self) -> None:
        """Every retry spent, the dead letters replayed, then sweeps until one finds nothing left."""
        last_outage = max((window.end for window in self.outages.windows), default=self.clock.now)
        self.clock.now = max(self.clock.now, last_outage) + 60 * MINUTE
        self._operator_replay()
        self._run_queue()
        settle = (max(self.settings.sweep_min_age_minutes, self.settings.redrive_grace_minutes) + 5) * MINUTE
        reports: list[SweepReport] = []

        def last_sweep() -> None:
            reports.append(self._containers[0].sweep.run(SimulatedContext(900_000), self.clock.datetime()))

        for _ in range(500):
            self.clock.now += settle
            self._invocation(None, last_sweep)
            self._run_queue()
            if reports and reports[-1].examined == 0 and reports[-1].remaining == 0:
                return
        self.violations.append("the sweep did not come to rest in 500 runs")

    def _check(self) -> None:
        """The invariant: every call Service Catalog saw, then every record."""
        for message in self.dead_letters.messages:  # DeadLetterQueueAlarm: each message names its execution
            self.alarms[self._record_of_execution.get(_execution_of_dead_letter(message), "?")].add(
                "dead letter waiting"
            )
        self._check_calls()
        self._check_records()

    def _check_calls(self) -> None:
        """No call refused unless the story explains it, none for a record Service Catalog does not know, each
        accepted one with the derived idempotency token, and no secret in a failure reason."""
        for record_id, kind, why in self.service_catalog.refused:
            # Another operation or token is never right; a second notification is excused only where the story
            # explains it (the execution redriven after its record was notified), and alarmed.
            if kind != "not_in_progress" or not self._redriven_after_notified(record_id):
                self.violations.append(f"{record_id}: Service Catalog refused a notification: {why}")
            elif not self.alarms.get(record_id):
                self.violations.append(f"{record_id}: redriven after it was notified, and no alarm names it")
        for call in self.service_catalog.unknown:
            self.violations.append(f"a notification for a record Service Catalog does not know: {call}")
        for record_id, record in self.service_catalog.records.items():
            derived = f"{_TOKEN_PREFIXES[record.operation]}-{record_id}"
            if record.notification is not None and record.notification.idempotency_token != derived:
                self.violations.append(
                    f"{record_id}: accepted with idempotency token {record.notification.idempotency_token}, not "
                    f"the one derived from its operation and record ({derived})"
                )
        for reason in self.service_catalog.reasons:
            if self.secrets.leaked(reason):
                self.violations.append(f"a secret in a failure reason: {reason[:300]}")

    def _check_records(self) -> None:
        """Each record holds what its engine's last run meant to send, or an alarm names it."""
        for index, execution in self._executions.items():
            record_id = self._workloads[index].record_id
            record = self.service_catalog.records[record_id]
            runs = self._runs[index]
            if execution.status == "RUNNING" or not runs:
                self.violations.append(f"{record_id}: its execution never ended in the simulation")
                continue
            intended = runs[-1] or Intended("FAILED")
            notification = record.notification
            if notification is None:
                if not self.alarms.get(record_id):
                    self.violations.append(f"{record_id}: left in progress, and no alarm names it")
                continue
            held = Intended(notification.status, notification.outputs if notification.status == "SUCCEEDED" else ())
            if held == intended:
                continue
            if self._redriven_after_notified(record_id) and self.alarms.get(record_id):
                continue  # redriven after it was notified: what Service Catalog shows cannot change; alarmed
            self.violations.append(
                f"{record_id}: Service Catalog holds {notification.status} {list(held.outputs)}, but the engine "
                f"reached {intended.status} {list(intended.outputs)}"
            )

    def _redriven_after_notified(self, record_id: str) -> bool:
        execution = self._executions[self._workflow_of_record[record_id]]
        notification = self.service_catalog.records[record_id].notification
        return (
            notification is not None
            and execution.redrive_date is not None
            and notification.at <= execution.redrive_date
        )


def _execution_of_dead_letter(message: Message) -> str:
    """The execution ARN of a dead letter: the status change in the OnFailure record the safety net files."""
    execution_arn: str = json.loads(message.body)["requestPayload"]["detail"]["executionArn"]
    return execution_arn


def workflow_token(index: int) -> str:
    """A workflow token as Service Catalog's look (``[0-9A-Za-z+/=]``), one of a kind: nothing else the package
    writes holds a piece of one."""
    digest = base64.b64encode(hashlib.sha256(f"workflow-token-{index}".encode()).digest()).decode()
    return f"{digest[:16]}/{digest[16:30]}+{digest[30:43]}="


_TOKEN_PREFIXES = {
    "PROVISION_PRODUCT": "provision",
    "UPDATE_PROVISIONED_PRODUCT": "update",
    "TERMINATE_PROVISIONED_PRODUCT": "terminate",
}
"""The documented idempotency token of a record's notification: ``<operation>-<record id>``, the same on every
attempt and every path."""

_TAKEN_FOR_A_REDRIVE = "The execution is no longer as it ended: no call"

_ANSWER_UNKNOWN = frozenset({"answer_lost", "killed_before_the_call", "killed_after_the_call"})
"""Faults after which Service Catalog may hold a notification the component was never told of."""

_ALARMING = {
    "Conflicting notification": "conflict",
    "Execution redriven after its record was notified": "conflict",
    "Service Catalog rejected the notification": "rejected",
    "its record needs a person": "needs a person",
}
"""What the log says when an alarm goes off for a record (Conflicts, the functions' errors, the sweep's errors)."""


def _service_of(outage: str) -> str:
    return "service_catalog" if outage.startswith("service_catalog") else outage


def play(story: stories.Story) -> Summary:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    return World(story).play()

"""The sweep over ten thousand ended executions: each examined once across runs, its memory intact, and a run that
finds nothing new as cheap as with ten. Step Functions is ``local_aws.executions`` (it lists as the service does);
the sweep's memory is the idempotency table in moto's DynamoDB (in-process: ten thousand writes over HTTP take
twice as long); the rescue is a stand-in that records what it is
asked, since what is measured here is the sweep's own listing and memory (the rescue runs for real in
tests/state_machines)."""

from __future__ import annotations

import collections
import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from engine_result_notifier.errors import RescueFailedError
from engine_result_notifier.models import NotifyResult
from engine_result_notifier.observability import logger, metrics
from engine_result_notifier.settings import DEFAULT_SWEEP_LOOK_BACK_HOURS, EntryPoints, Settings
from engine_result_notifier.sweep import Sweep
from local_aws import dynamodb as local_dynamodb
from local_aws.executions import Execution, ManyExecutions
from local_aws.lambda_context import LocalLambdaContext
from tests.conftest import TABLE_NAME

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BUDGET = 1_000
STATE_MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:ManageProvisionedProductStateMachine"


class RecordingRescue:
    """The sweep's rescuer, standing in: each execution it is asked to rescue is counted and "notified"."""

    def __init__(self, step_functions: ManyExecutions) -> None:
        self._step_functions = step_functions
        self.rescued: collections.Counter[str] = collections.Counter()

    @staticmethod
    def longest_seconds() -> float:
        """In process: a rescue takes no time worth reserving."""
        return 0.0

    def execution(self, execution_arn: str, context: Any, path: Any, listed: Any = None) -> NotifyResult:
        described = self._step_functions.describe_execution(executionArn=execution_arn)
        self.rescued[execution_arn] += 1
        record_id = json.loads(described["input"])["recordId"]
        return NotifyResult(record_id, "PROVISION_PRODUCT", "FAILED", f"provision-{record_id}", "NOTIFIED")


def engine(ended: int, state_machine: str = STATE_MACHINE) -> ManyExecutions:
    """A state machine whose executions stopped FAILED within the last 40 hours (each having run up to three days),
    beside some that succeeded and some still running."""
    step_functions = ManyExecutions()
    for number in range(ended):
        stopped = NOW - timedelta(minutes=20) - timedelta(seconds=number * 14)
        add(
            step_functions,
            state_machine,
            f"failed-{number}",
            "FAILED",
            stopped - timedelta(minutes=number % 4320),
            stopped,
        )
    for number in range(200):
        stopped = NOW - timedelta(minutes=30 + number)
        add(step_functions, state_machine, f"succeeded-{number}", "SUCCEEDED", stopped - timedelta(hours=1), stopped)
    for number in range(5):
        add(step_functions, state_machine, f"running-{number}", "RUNNING", NOW - timedelta(days=number), None)
    return step_functions


def add(
    step_functions: ManyExecutions,
    state_machine: str,
    name: str,
    status: str,
    started: datetime,
    stopped: datetime | None,
) -> None:
    arn = state_machine.replace(":stateMachine:", ":execution:") + f":{name}"
    payload = json.dumps({"token": "dG9rZW4=", "recordId": f"rec-{name}", "operation": "PROVISION_PRODUCT"})
    step_functions.add(Execution(arn, state_machine, name, status, started, stopped, payload))


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    """Ten thousand "record rescued" warnings, written and captured, would take longer than the sweep itself."""
    level = logger.log_level
    logger.setLevel("ERROR")
    yield
    logger.setLevel(level)


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, collections.Counter[str]]]:
    """An idempotency table of its own, created from its definition in template.yaml in moto's in-process
    DynamoDB, and its client, counting its requests by operation. The in-process backends are the session's moto
    server's too: they are neither reset nor wiped, and the table is in a region no other test uses."""
    mock = mock_aws()
    mock.start(reset=False)
    region = "eu-north-1"
    client = boto3.client("dynamodb", region_name=region, endpoint_url=f"https://dynamodb.{region}.amazonaws.com")
    local_dynamodb.create_idempotency_table(client, TABLE_NAME)
    sent: collections.Counter[str] = collections.Counter()

    def count(**kwargs: Any) -> None:
        sent[kwargs["event_name"].split(".")[-1]] += 1

    client.meta.events.register("before-call", count)
    try:
        yield client, sent
    finally:
        client.delete_table(TableName=TABLE_NAME)
        mock.stop(remove_data=False)


def sweep_of(
    step_functions: ManyExecutions, dynamodb_client: Any, state_machine: str = STATE_MACHINE
) -> tuple[Sweep, RecordingRescue]:
    settings = Settings(
        idempotency_table_name=TABLE_NAME,
        entry_points=EntryPoints("provision", "update", "terminate", "notify"),
        engine_state_machine_arns=(state_machine,),
        sweep_max_executions=BUDGET,
    )
    rescue = RecordingRescue(step_functions)
    return Sweep(settings, rescue, step_functions, dynamodb_client), rescue  # type: ignore[arg-type]


def idle_run_requests(sweep: Sweep, step_functions: ManyExecutions, sent: collections.Counter[str]) -> dict[str, int]:
    """The requests of a run, later, that finds nothing new."""
    sent.clear()
    step_functions.requests.clear()
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW + timedelta(minutes=15)).examined == 0
    return {**sent, **step_functions.requests}


def test_ten_thousand_ended_executions_are_examined_once_each_and_an_idle_run_costs_what_it_does_with_ten(
    dynamodb: tuple[Any, collections.Counter[str]],
) -> None:
    client, sent = dynamodb
    # Given ten thousand executions that stopped FAILED within the window, and a sweep of a thousand a run
    many = engine(10_000)
    sweep, rescue = sweep_of(many, client)
    # When it runs until nothing remains
    reports = []
    while not reports or reports[-1].remaining:
        reports.append(sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW))
    # Then it took ten runs, and each execution was examined once: its memory held from run to run
    assert [report.examined for report in reports] == [BUDGET] * 10
    assert len(rescue.rescued) == 10_000
    assert set(rescue.rescued.values()) == {1}
    # And a later run that finds nothing new costs what it costs over an engine of ten executions: one GetItem of
    # the state machine's memory and one ListExecutions page per ended status, FAILED, TIMED_OUT and ABORTED
    # (docs/operations.md, "The sweep")
    few_state_machine = STATE_MACHINE.replace("Manage", "Few")
    few = engine(10, few_state_machine)
    few_sweep, _ = sweep_of(few, client, few_state_machine)
    few_sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW)
    expected = {"GetItem": 1, "ListExecutions": 3}
    assert idle_run_requests(sweep, many, sent) == idle_run_requests(few_sweep, few, sent) == expected


def test_an_execution_redriven_and_ended_failed_again_is_examined_again(
    dynamodb: tuple[Any, collections.Counter[str]],
) -> None:
    # Given an execution the sweep examined
    step_functions = engine(1)
    sweep, rescue = sweep_of(step_functions, dynamodb[0])
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW).examined == 1
    # When it is redriven and ends failed again (Step Functions: the same ARN, a new stop, redriveCount 1)
    (execution,) = [e for e in step_functions.executions.values() if e.status == "FAILED"]
    execution.redrive_count, execution.stop_date = 1, NOW + timedelta(minutes=5)
    later = NOW + timedelta(minutes=30)
    # Then the next run examines it again, and the one after does not
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=later).examined == 1
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=later).examined == 0
    assert rescue.rescued[execution.execution_arn] == 2


def test_an_execution_that_ended_between_two_runs_is_examined_whatever_ended_after_it(
    dynamodb: tuple[Any, collections.Counter[str]],
) -> None:
    # Given L, started three days ago, and E, started an hour ago, both running at a run of the sweep
    step_functions = ManyExecutions()
    add(step_functions, STATE_MACHINE, "L", "RUNNING", NOW - timedelta(days=3), None)
    add(step_functions, STATE_MACHINE, "E", "RUNNING", NOW - timedelta(hours=1), None)
    sweep, rescue = sweep_of(step_functions, dynamodb[0])
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW).examined == 0
    # When F starts after that run and fails (its status change lost), then E fails, then L
    add(step_functions, STATE_MACHINE, "F", "FAILED", NOW + timedelta(minutes=1), NOW + timedelta(minutes=5))
    for name, minutes in (("E", 6), ("L", 7)):
        execution = step_functions.executions[f"{STATE_MACHINE.replace(':stateMachine:', ':execution:')}:{name}"]
        execution.status, execution.stop_date = "FAILED", NOW + timedelta(minutes=minutes)
    # Then the runs after the minimum age examine all three, F included (ListExecutions lists ended executions
    # newest stop first: L, which started long before, comes first)
    for minutes in (30, 45):
        sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW + timedelta(minutes=minutes))
    assert sorted(arn.rsplit(":", 1)[1] for arn in rescue.rescued) == ["E", "F", "L"]


def test_executions_that_left_the_window_unexamined_are_each_counted_once_however_many(
    dynamodb: tuple[Any, collections.Counter[str]],
) -> None:
    # Given a sweep that ran, then did not run for longer than its look-back while 150 executions failed (more than
    # one BatchGetItem reads)
    step_functions = engine(ended=10)
    sweep, rescue = sweep_of(step_functions, dynamodb[0])
    sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW)
    for number in range(150):
        stopped = NOW + timedelta(minutes=1, seconds=number * 30)
        add(step_functions, STATE_MACHINE, f"unswept-{number}", "FAILED", stopped - timedelta(minutes=5), stopped)
    later = NOW + timedelta(hours=DEFAULT_SWEEP_LOOK_BACK_HOURS + 12)
    # When the sweep runs again, then once more
    with pytest.raises(RescueFailedError, match="150 ended execution"):
        sweep.run(LocalLambdaContext(timeout_seconds=900), now=later)
    again = sweep.run(LocalLambdaContext(timeout_seconds=900), now=later + timedelta(minutes=15))
    # Then each is counted (and alarmed) once, none is rescued by the sweep, and the next run is at rest
    assert again.examined == again.needing_a_person == 0
    assert not [arn for arn in rescue.rescued if "unswept" in arn]


def test_a_missing_and_an_express_state_machine_fail_the_run_each_named_and_counted_the_others_swept(
    dynamodb: tuple[Any, collections.Counter[str]],
) -> None:
    # Given the engine's state machine, one that does not exist (a typo, or deleted), and an Express one
    step_functions = engine(ended=3)
    missing = STATE_MACHINE.replace("Manage", "Mange")
    express = STATE_MACHINE.replace("Manage", "Express")
    step_functions.express_state_machines.add(express)
    sweep, rescue = sweep_of(step_functions, dynamodb[0])
    sweep = Sweep(
        replace(sweep._settings, engine_state_machine_arns=(missing, STATE_MACHINE, express)),  # noqa: SLF001
        rescue,  # type: ignore[arg-type]
        step_functions,  # type: ignore[arg-type]
        dynamodb[0],
    )
    # When the sweep runs
    with pytest.raises(RescueFailedError) as failed, logged() as log, metrics_of_the_run() as counted:
        sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW)
    # Then the engine's failed executions are rescued, and the run fails (SweepErrorsAlarm) naming the other two
    assert len(rescue.rescued) == 3
    assert f"{missing} (StateMachineNotSweptError)" in str(failed.value)
    assert f"{express} (StateMachineNotSweptError)" in str(failed.value)
    # And the log says what to do for each, and the run counts both as StateMachinesNotSwept
    reasons = [json.loads(line).get("reason", "") for line in log.getvalue().splitlines()]
    assert any("does not exist (StateMachineDoesNotExist): correct EngineStateMachineArns" in r for r in reasons)
    assert any("is an Express state machine (StateMachineTypeNotSupported)" in r for r in reasons)
    assert counted["StateMachinesNotSwept"] == [2.0]


@contextlib.contextmanager
def logged() -> Iterator[io.StringIO]:
    """What the logger writes (at ERROR, as ``quiet_logs`` leaves it)."""
    buffer = io.StringIO()
    handler: Any = logger.registered_handler
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@contextlib.contextmanager
def metrics_of_the_run() -> Iterator[dict[str, Any]]:
    """The metrics a run adds, as its invocation would flush them."""
    counted: dict[str, Any] = {}
    metrics.clear_metrics()
    try:
        yield counted
    finally:
        counted.update({name: metric["Value"] for name, metric in metrics.metric_set.items()})
        metrics.clear_metrics()


def test_what_failed_while_a_sweep_that_never_examined_anything_was_stopped_is_counted_once_back(
    dynamodb: tuple[Any, collections.Counter[str]],
) -> None:
    # Given a sweep whose runs found nothing failed, then did not run for longer than its look-back
    step_functions = ManyExecutions(state_machines={STATE_MACHINE})
    sweep, rescue = sweep_of(step_functions, dynamodb[0])
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW).examined == 0
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=NOW + timedelta(minutes=15)).examined == 0
    stopped = NOW + timedelta(hours=1)
    add(step_functions, STATE_MACHINE, "while-stopped", "FAILED", stopped - timedelta(minutes=5), stopped)
    # When it runs again
    later = NOW + timedelta(hours=DEFAULT_SWEEP_LOOK_BACK_HOURS + 12)
    # Then the execution that left the window is counted, though no run had examined anything before
    with pytest.raises(RescueFailedError, match="while-stopped \\(left the window unexamined\\)"):
        sweep.run(LocalLambdaContext(timeout_seconds=900), now=later)
    assert not rescue.rescued

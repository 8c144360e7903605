"""The sweep: executions whose status change never reached the safety net are found and rescued, exactly once.

Each test runs the reference engine's state machines (created afresh, so that the sweep sees only this test's
executions) in moto's interpreter, delivers no status change, and runs the sweep over them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine_result_notifier.errors import RescueFailedError
from engine_result_notifier.settings import DEFAULT_SWEEP_MIN_AGE_MINUTES
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from tests.conftest import LocalFunctions
from tests.state_machines.conftest import (
    ENGINE_FUNCTION_PREFIX,
    Scene,
    create_reference_engine,
    lost_status_change,
    run_workflow,
    start_workflow,
    sweep_over,
)


@pytest.fixture
def scene(scene: Scene) -> Scene:
    """The reference engine's state machines created for each test: a sweep lists every execution of those it
    watches, and another test's executions are none of its business."""
    return replace(scene, reference_engine=create_reference_engine(scene.interpreter))


def after_the_minimum_age() -> datetime:
    """A moment when the executions that just stopped are old enough for the sweep: the safety net has had its
    attempts at their status changes."""
    return datetime.now(UTC) + timedelta(minutes=DEFAULT_SWEEP_MIN_AGE_MINUTES, seconds=30)


@pytest.fixture
def requests_sent(lambdas: LocalFunctions) -> Iterator[list[str]]:
    """Every Step Functions and DynamoDB request the notifier's clients send, by operation name."""
    sent: list[str] = []
    clients = (lambdas.module("SweepFunction").step_functions_client, lambdas.dynamodb_client)

    def record(**kwargs: Any) -> None:
        sent.append(kwargs["event_name"].split(".")[-1])

    for client in clients:
        client.meta.events.register("before-call", record)
    yield sent
    for client in clients:
        client.meta.events.unregister("before-call", record)


def test_a_status_change_never_delivered_is_found_by_the_sweep_and_notified_once(
    scene: Scene,
) -> None:
    # Given a provision whose execution failed on a throttled success notify, and no status change delivered
    execution = lost_status_change(scene)
    # When the sweep runs
    report = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    # Then it found the execution and sent what the engine meant to send: the success, with its outputs
    (call,) = scene.service_catalog.accepted
    assert (call.operation, call.parameters["Status"]) == ("NotifyProvisionProductEngineWorkflowResult", "SUCCEEDED")
    assert call.parameters["Outputs"] == [{"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders"}]
    assert call.parameters["RecordId"] == json.loads(execution["input"])["recordId"]
    assert report.to_response() == {"examined": 1, "rescued": 1, "remaining": 0, "needingAPerson": 0}


def test_a_second_sweep_makes_no_call_and_reads_no_execution_again(
    scene: Scene,
    requests_sent: list[str],
) -> None:
    # Given a sweep that rescued a lost status change
    lost_status_change(scene)
    sweep = sweep_over(scene)
    sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    calls_before = len(scene.service_catalog.requests)
    requests_sent.clear()
    # When the next run finds nothing new
    report = sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    # Then it made no call and read no execution: per state machine, its memory and a list page per ended status
    # (FAILED, TIMED_OUT, ABORTED)
    assert len(scene.service_catalog.requests) == calls_before
    assert report.to_response() == {"examined": 0, "rescued": 0, "remaining": 0, "needingAPerson": 0}
    assert sorted(requests_sent) == sorted(["GetItem"] * 2 + ["ListExecutions"] * 6)


def test_a_record_the_state_machine_notified_is_never_touched(
    scene: Scene,
) -> None:
    # Given the engine notified a failure and then ended its execution FAILED (its Fail state)
    scene.engine.raises = RuntimeError("no worker host answered")
    run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    (engine_call,) = scene.service_catalog.requests
    # When the sweep runs
    report = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    # Then it examined the execution and made no call: the engine's notify task completed
    assert scene.service_catalog.requests == [engine_call]
    assert report.to_response() == {"examined": 1, "rescued": 0, "remaining": 0, "needingAPerson": 0}


def test_work_per_run_is_bounded_and_the_next_run_continues_oldest_first(
    scene: Scene,
) -> None:
    # Given two lost status changes, and a sweep that examines one execution a run
    first = lost_status_change(scene)
    second = lost_status_change(scene, "UPDATE_PROVISIONED_PRODUCT")
    sweep = sweep_over(scene, sweep_max_executions=1)
    # When it runs twice, Then each run rescues one, the older first, and the first says one is left
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).to_response() == {
        "examined": 1,
        "rescued": 1,
        "remaining": 1,
        "needingAPerson": 0,
    }
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).to_response() == {
        "examined": 1,
        "rescued": 1,
        "remaining": 0,
        "needingAPerson": 0,
    }
    record_ids = [request.parameters["RecordId"] for request in scene.service_catalog.accepted]
    assert record_ids == [json.loads(execution["input"])["recordId"] for execution in (first, second)]


def test_a_run_starts_no_rescue_with_less_time_left_than_one_rescue_can_take(
    scene: Scene,
) -> None:
    # Given a lost status change, and a run with a second less than one rescue and its record can take at worst
    lost_status_change(scene)
    sweep = sweep_over(scene)
    short = LocalLambdaContext(timeout_seconds=sweep.time_to_stop_ms / 1000 - 1)
    # When it runs, Then it examines nothing, and leaves the execution for the next run
    report = sweep.run(short, now=after_the_minimum_age())
    assert report.to_response() == {"examined": 0, "rescued": 0, "remaining": 1, "needingAPerson": 0}
    assert scene.service_catalog.accepted == []
    # And a run with a few seconds more rescues it
    enough = LocalLambdaContext(timeout_seconds=sweep.time_to_stop_ms / 1000 + 5)
    assert sweep.run(enough, now=after_the_minimum_age()).rescued == 1


def test_executions_that_stopped_before_the_window_are_not_examined(
    scene: Scene,
) -> None:
    lost_status_change(scene)
    sweep = sweep_over(scene, sweep_look_back_hours=24)
    three_days_on = datetime.now(UTC) + timedelta(days=3)
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=three_days_on).examined == 0
    assert scene.service_catalog.accepted == []


def test_an_execution_that_cannot_be_rescued_fails_the_run_after_the_others_and_is_not_retried(
    scene: Scene,
) -> None:
    # Given an execution started without a workflow token (it fails when a notify task reads $.token)
    broken = run_workflow(scene, "PROVISION_PRODUCT", leave_out=("token",))
    assert broken["status"] == "FAILED"
    # And a lost status change
    lost_status_change(scene)
    sweep = sweep_over(scene)
    # When the sweep runs, Then it rescues the other and fails naming the one that needs a person
    with pytest.raises(RescueFailedError, match=broken["executionArn"]):
        sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    assert len(scene.service_catalog.accepted) == 1
    # And the next run does not try it again
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).examined == 0


def test_the_sweep_counts_what_it_examined_and_rescued_as_its_alarm_reads_them(
    scene: Scene,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a lost status change, and the scheduled entry point running over the engine's state machines
    lost_status_change(scene)
    monkeypatch.setattr(scene.lambdas.module("SweepFunction"), "sweep", sweep_over(scene, sweep_min_age_minutes=0))
    capsys.readouterr()
    # When the schedule invokes it
    scene.lambdas.handler("SweepFunction")(
        {"source": "aws.events", "detail-type": "Scheduled Event"}, LocalLambdaContext(timeout_seconds=900)
    )
    # Then the run's metrics are in the namespace, under the dimension, the template's alarm reads
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    (run,) = [document for document in documents if "RecordsRescued" in document]
    assert (run["ExecutionsExamined"], run["RecordsRescued"]) == ([1.0], [1.0])
    (directive,) = run["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"], run["service"]) == (
        "EngineResultNotifier",
        [["service"]],
        "engine-result-notifier",
    )
    # And the rescued record's own notification was counted as a delivery would count it
    assert any(d.get("Notifications") == [1.0] and d.get("operation") == "PROVISION_PRODUCT" for d in documents)


# Issue: executions that ran longer than the window, the minimum age, one execution or run going wrong, two runs.


def test_an_execution_that_started_before_the_window_and_stopped_within_it_is_found_and_notified_once(
    scene: Scene,
) -> None:
    # Given a provision whose engine step runs on (held), seen running by a sweep, then stopped by an operator
    sweep = sweep_over(scene)
    with scene.interpreter.hold(f"{ENGINE_FUNCTION_PREFIX}run-command") as held:
        execution_arn = start_workflow(scene, "PROVISION_PRODUCT")
        held.wait_until_invoked()
        assert sweep.run(LocalLambdaContext(timeout_seconds=900)).examined == 0
        time.sleep(2)
        scene.interpreter.client.stop_execution(executionArn=execution_arn)
        scene.interpreter.keep_late_results_out(execution_arn)
    execution = scene.interpreter.wait(execution_arn)
    # When the sweep runs at a moment when the execution started before the window and stopped within it
    ran_for = execution["stopDate"] - execution["startDate"]
    look_back = timedelta(hours=scene.lambdas.settings.sweep_look_back_hours)  # the sweep's, as sweep_over gives it
    now = execution["startDate"] + look_back + ran_for / 2
    assert execution["startDate"] < now - look_back < execution["stopDate"]
    report = sweep.run(LocalLambdaContext(timeout_seconds=900), now=now)
    # Then its record gets one FAILED call saying the execution was stopped
    (call,) = scene.service_catalog.accepted
    assert (report.rescued, call.parameters["Status"]) == (1, "FAILED")
    assert call.parameters["RecordId"] == json.loads(execution["input"])["recordId"]
    assert "ABORTED" in call.parameters["FailureReason"] or "stopped" in call.parameters["FailureReason"]


def test_an_execution_that_stopped_within_the_minimum_age_is_left_and_found_by_a_later_run(scene: Scene) -> None:
    # Given a lost status change that happened just now (the safety net may still be retrying it)
    lost_status_change(scene)
    sweep = sweep_over(scene)
    # When the sweep runs now, Then it leaves the execution alone
    assert sweep.run(LocalLambdaContext(timeout_seconds=900)).to_response() == {
        "examined": 0,
        "rescued": 0,
        "remaining": 0,
        "needingAPerson": 0,
    }
    assert scene.service_catalog.accepted == []
    # And a run after the minimum age rescues it
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).rescued == 1
    assert len(scene.service_catalog.accepted) == 1


def test_an_unexpected_error_at_one_execution_stops_no_other_is_alarmed_and_is_not_retried(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two lost status changes, and a rescue that breaks on the first one in a way nobody foresaw
    broken = lost_status_change(scene)
    lost_status_change(scene, "UPDATE_PROVISIONED_PRODUCT")
    sweep = sweep_over(scene)
    rescuer = scene.lambdas.module("SweepFunction").rescuer
    rescue_execution = rescuer.execution

    def breaks_on_the_first(execution_arn: str, context: Any, path: Any, listed: Any = None) -> Any:
        if execution_arn == broken["executionArn"]:
            raise KeyError("something nobody foresaw")
        return rescue_execution(execution_arn, context, path, listed)

    monkeypatch.setattr(rescuer, "execution", breaks_on_the_first)
    # When the sweep runs, Then the other is rescued and the run fails naming the broken one (the errors alarm)
    with pytest.raises(RescueFailedError, match=broken["executionArn"]) as raised:
        sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    assert "KeyError" in str(raised.value)
    (call,) = scene.service_catalog.accepted
    assert call.operation == "NotifyUpdateProvisionedProductEngineWorkflowResult"
    # And the next run neither retries it nor stalls on it
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).to_response() == {
        "examined": 0,
        "rescued": 0,
        "remaining": 0,
        "needingAPerson": 0,
    }


class Killed(BaseException):
    """Lambda ending an invocation at its timeout: nothing after it runs, no handler sees it."""


class KilledOnceNotified(LocalLambdaContext):
    """An invocation that Lambda ends at its timeout once Service Catalog has accepted a notification from it."""

    def __init__(self, service_catalog: ServiceCatalogEndpoint) -> None:
        super().__init__(timeout_seconds=900)
        self._service_catalog = service_catalog

    def get_remaining_time_in_millis(self) -> int:
        if self._service_catalog.accepted:
            raise Killed
        return super().get_remaining_time_in_millis()


def test_a_run_ended_by_its_deadline_loses_nothing_and_the_next_continues_where_it_stopped(scene: Scene) -> None:
    # Given three lost status changes, and a run that Lambda ends after it examined the first
    executions = [lost_status_change(scene) for _ in range(3)]
    sweep = sweep_over(scene)
    with pytest.raises(Killed):
        sweep.run(KilledOnceNotified(scene.service_catalog), now=after_the_minimum_age())
    assert len(scene.service_catalog.accepted) == 1
    # When the next run comes, Then it examines the two others only, and each record was notified once
    report = sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    assert (report.examined, report.rescued) == (2, 2)
    record_ids = sorted(request.parameters["RecordId"] for request in scene.service_catalog.accepted)
    assert record_ids == sorted(json.loads(execution["input"])["recordId"] for execution in executions)


def test_two_runs_at_once_make_no_second_call_and_lose_no_memory(scene: Scene) -> None:
    # Given four lost status changes
    executions = [lost_status_change(scene) for _ in range(4)]
    # When two sweep runs examine them at the same time
    start = threading.Barrier(2)

    def run_one() -> Any:
        start.wait()
        return sweep_over(scene).run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: run_one(), range(2)))
    # Then each record was notified once, between them
    record_ids = sorted(request.parameters["RecordId"] for request in scene.service_catalog.accepted)
    assert record_ids == sorted(json.loads(execution["input"])["recordId"] for execution in executions)
    assert sum(report.rescued for report in reports) == 4
    # And a run after them finds nothing left: what either examined is remembered (one that was in progress in
    # the other run is examined again, and makes no call)
    last = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age())
    assert last.rescued == 0
    assert len(scene.service_catalog.accepted) == 4
    assert sweep_over(scene).run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).examined == 0


def test_the_memory_a_0_2_0_sweep_left_is_taken_over(scene: Scene) -> None:
    # Given the item 0.2.0's sweep kept per state machine (the names it examined, no version), and a lost status change
    execution = lost_status_change(scene)
    scene.lambdas.dynamodb_client.put_item(
        TableName=scene.lambdas.settings.idempotency_table_name,
        Item={
            "id": {"S": f"engine-result-sweep#{execution['stateMachineArn']}"},
            "examined": {"M": {"an-older-execution": {"N": "1795900000"}}},
            "expiration": {"N": "1796500000"},
        },
    )
    sweep = sweep_over(scene)
    # When this version's sweep runs twice, Then it rescues the execution once and remembers it
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).rescued == 1
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after_the_minimum_age()).examined == 0
    assert len(scene.service_catalog.accepted) == 1

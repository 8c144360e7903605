"""The sweep: executions whose status change never reached the safety net are found and rescued, exactly once.

Each test runs the reference engine's state machines (created afresh, so that the sweep sees only this test's
executions) in moto's interpreter, delivers no status change, and runs the sweep over them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine_result_notifier.errors import RescueFailedError
from engine_result_notifier.settings import DEFAULT_SWEEP_MIN_AGE_MINUTES
from local_aws.lambda_context import LocalLambdaContext
from tests.conftest import LocalFunctions
from tests.state_machines.conftest import (
    Scene,
    create_reference_engine,
    lost_status_change,
    run_workflow,
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
    report = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age())
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
    sweep.run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age())
    calls_before = len(scene.service_catalog.requests)
    requests_sent.clear()
    # When the next run finds nothing new
    report = sweep.run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age())
    # Then it made no call and read no execution: per state machine, its memory and one list page
    assert len(scene.service_catalog.requests) == calls_before
    assert report.to_response() == {"examined": 0, "rescued": 0, "remaining": 0, "needingAPerson": 0}
    assert sorted(requests_sent) == sorted(["GetItem"] * 2 + ["ListExecutions"] * 2)


def test_a_record_the_state_machine_notified_is_never_touched(
    scene: Scene,
) -> None:
    # Given the engine notified a failure and then ended its execution FAILED (its Fail state)
    scene.engine.raises = RuntimeError("no worker host answered")
    run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    (engine_call,) = scene.service_catalog.requests
    # When the sweep runs
    report = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age())
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
    assert sweep.run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age()).to_response() == {
        "examined": 1,
        "rescued": 1,
        "remaining": 1,
        "needingAPerson": 0,
    }
    assert sweep.run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age()).to_response() == {
        "examined": 1,
        "rescued": 1,
        "remaining": 0,
        "needingAPerson": 0,
    }
    record_ids = [request.parameters["RecordId"] for request in scene.service_catalog.accepted]
    assert record_ids == [json.loads(execution["input"])["recordId"] for execution in (first, second)]


def test_a_run_starts_no_execution_when_its_invocation_is_about_to_time_out(
    scene: Scene,
) -> None:
    lost_status_change(scene)
    report = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=10), now=after_the_minimum_age())
    assert report.to_response() == {"examined": 0, "rescued": 0, "remaining": 1, "needingAPerson": 0}
    assert scene.service_catalog.accepted == []


def test_executions_that_stopped_before_the_window_are_not_examined(
    scene: Scene,
) -> None:
    lost_status_change(scene)
    sweep = sweep_over(scene, sweep_look_back_hours=24)
    three_days_on = datetime.now(UTC) + timedelta(days=3)
    assert sweep.run(LocalLambdaContext(timeout_seconds=300), now=three_days_on).examined == 0
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
        sweep.run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age())
    assert len(scene.service_catalog.accepted) == 1
    # And the next run does not try it again
    assert sweep.run(LocalLambdaContext(timeout_seconds=300), now=after_the_minimum_age()).examined == 0


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
        {"source": "aws.events", "detail-type": "Scheduled Event"}, LocalLambdaContext(timeout_seconds=300)
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

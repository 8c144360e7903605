"""The safety net acts on the execution as it is now: it reads it before deciding, and sends only for an execution
of a watched state machine that still stands ended FAILED, TIMED_OUT or ABORTED. A status change of another state
machine, account or region is ignored without a call or an error; one that comes late, when a redrive made the
execution run again or succeed, makes no call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from engine_result_notifier import step_functions
from engine_result_notifier.errors import NotificationConflictError, StaleExecutionReadError
from local_aws.lambda_context import LocalLambdaContext
from local_aws.step_functions import status_change_event
from tests.conftest import LambdaContainer, invoke, lambda_container
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
def watching(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LambdaContainer, list[str]]]:
    """A safety net that watches the reference engine's state machines, and the Step Functions requests it sends."""
    monkeypatch.setenv("ENGINE_STATE_MACHINE_ARNS", ",".join(sorted(set(scene.reference_engine.values()))))
    client = step_functions.new_client()
    container = lambda_container(step_functions_client=client)
    sent: list[str] = []
    events = client.meta.events

    def count(**kwargs: Any) -> None:
        sent.append(kwargs["event_name"].split(".")[-1])

    events.register("before-call", count)
    yield container, sent
    events.unregister("before-call", count)


def elsewhere(description: dict[str, Any], region: str | None = None, account: str | None = None) -> dict[str, Any]:
    """The status change of the same execution as if it were of another region or account: its ARNs moved, and so
    the event's ``account``, ``region``, ``resources`` and ``detail``, as EventBridge would deliver it."""

    def moved(arn: str) -> str:
        parts = arn.split(":")
        parts[3], parts[4] = region or parts[3], account or parts[4]
        return ":".join(parts)

    return status_change_event(
        {
            **description,
            "executionArn": moved(description["executionArn"]),
            "stateMachineArn": moved(description["stateMachineArn"]),
        }
    )


def as_it_failed(description: dict[str, Any]) -> dict[str, Any]:
    """The execution as its FAILED status change described it, before a redrive: with the error and cause Step
    Functions gives a failure."""
    return {
        **description,
        "status": "FAILED",
        "stopDate": description.get("stopDate", description["startDate"]),
        "error": "States.TaskFailed",
        "cause": "the engine's step failed before the execution was redriven",
    }


def test_a_status_change_of_a_state_machine_not_watched_is_ignored_without_a_call(
    scene: Scene, watching: tuple[LambdaContainer, list[str]]
) -> None:
    container, sent = watching
    other_engine = create_reference_engine(scene.interpreter)
    execution = lost_status_change(replace(scene, reference_engine=other_engine))
    result = container.rescuer.status_change(status_change_event(execution), LocalLambdaContext())
    assert (result.outcome, scene.service_catalog.accepted, sent) == ("IGNORED", [], [])


@pytest.mark.parametrize(("region", "account"), [("eu-west-1", None), (None, "999988887777")])
def test_a_status_change_of_another_region_or_account_is_ignored_without_a_call_or_an_error(
    scene: Scene, watching: tuple[LambdaContainer, list[str]], region: str | None, account: str | None
) -> None:
    container, sent = watching
    execution = lost_status_change(scene)
    event = elsewhere(execution, region, account)
    assert (event["account"], event["region"], event["detail"]["stateMachineArn"].split(":")[3:5]) == (
        account or "123456789012",
        region or "us-east-1",
        [region or "us-east-1", account or "123456789012"],
    )
    result = container.rescuer.status_change(event, LocalLambdaContext())
    assert (result.outcome, scene.service_catalog.accepted, sent) == ("IGNORED", [], [])


def test_a_failed_status_change_of_an_execution_described_running_in_the_same_attempt_is_read_again(
    scene: Scene,
) -> None:
    # Given an execution described RUNNING, not redriven since, and a FAILED status change of that attempt (what an
    # eventually consistent describe shows a moment after the stop)
    with scene.interpreter.hold(f"{ENGINE_FUNCTION_PREFIX}run-command") as held:
        execution_arn = start_workflow(scene, "PROVISION_PRODUCT")
        held.wait_until_invoked()
        running = scene.interpreter.client.describe_execution(executionArn=execution_arn)
        change = status_change_event(as_it_failed(running))
        # When it reaches the safety net, Then nothing is sent, and the error is one Lambda's retries take again
        with pytest.raises(StaleExecutionReadError):
            invoke(scene.lambdas, change)
        assert scene.service_catalog.accepted == []
        scene.interpreter.client.stop_execution(executionArn=execution_arn)
        scene.interpreter.keep_late_results_out(execution_arn)
    scene.interpreter.wait(execution_arn)


def test_a_late_failed_status_change_of_an_execution_that_succeeded_since_makes_no_second_call(scene: Scene) -> None:
    # Given an execution that notified and succeeded (as a redrive would end), and a FAILED status change of it
    execution = run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    late = status_change_event(as_it_failed(execution))
    # When it reaches the safety net, Then nothing more is sent
    assert invoke(scene.lambdas, late)["outcome"] == "REDRIVEN"
    assert len(scene.service_catalog.accepted) == 1


def test_a_redrive_after_the_safety_net_reported_a_failure_ends_in_the_named_error_and_no_second_call(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an execution that failed before its notify step, and the safety net that reported it FAILED
    execution = run_workflow(scene, "PROVISION_PRODUCT", leave_out=("launchRoleArn",))
    assert invoke(scene.lambdas, status_change_event(execution))["outcome"] == "NOTIFIED"
    (reported,) = scene.service_catalog.accepted
    assert reported.parameters["Status"] == "FAILED"
    # When the execution is redriven and its engine's success notify task runs with the same record (moto cannot
    # redrive: the task's payload goes to its entry point, as the task would send it)
    payload = json.loads(execution["input"])
    success = {"token": payload["token"], "recordId": payload["recordId"], "outputs": [], "tracerTag": None}
    capsys.readouterr()
    with pytest.raises(NotificationConflictError, match="already holds PROVISION_PRODUCT FAILED") as raised:
        invoke(scene.lambdas, {k: v for k, v in success.items() if v is not None}, "NotifyProvisionResultFunction")
    # Then no second call is made, the error says what the record holds and by which way, and Conflicts is counted
    assert len(scene.service_catalog.accepted) == 1
    assert "by the safety net (a status change)" in str(raised.value)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(document.get("Conflicts") == [1.0] for document in documents)


def test_with_a_redrive_grace_the_record_is_left_to_the_sweep_which_reports_it_once_the_grace_is_over(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a redrive grace of an hour, and a lost success notification of an engine of its own
    monkeypatch.setenv("REDRIVE_GRACE_MINUTES", "60")
    scene = replace(scene, reference_engine=create_reference_engine(scene.interpreter))
    execution = lost_status_change(scene)
    # When its status change reaches the safety net, Then it is left to the sweep: no call yet
    result = lambda_container().rescuer.status_change(status_change_event(execution), LocalLambdaContext())
    assert (result.outcome, scene.service_catalog.accepted) == ("LEFT_TO_THE_SWEEP", [])
    # And the sweep leaves it while the grace lasts, then reports what the engine meant to send
    sweep = sweep_over(scene, redrive_grace_minutes=60)
    within = execution["stopDate"] + timedelta(minutes=30)
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=within).examined == 0
    after = execution["stopDate"] + timedelta(minutes=61)
    assert sweep.run(LocalLambdaContext(timeout_seconds=900), now=after).rescued == 1
    (call,) = scene.service_catalog.accepted
    assert call.parameters["Status"] == "SUCCEEDED"


def test_without_a_redrive_grace_the_safety_net_reports_at_once(scene: Scene) -> None:
    execution = lost_status_change(scene)
    assert invoke(scene.lambdas, status_change_event(execution))["outcome"] == "NOTIFIED"

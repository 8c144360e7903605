"""The safety net acts on the execution as it is now: it reads it before deciding, and sends only for an execution
of a watched state machine that still stands ended FAILED, TIMED_OUT or ABORTED. A status change of another state
machine, account or region is ignored without a call or an error; one that comes late, when a redrive made the
execution run again or succeed, makes no call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

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
)


@pytest.fixture
def watching(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LambdaContainer, list[str]]]:
    """A safety net that watches the reference engine's state machines, and the Step Functions requests it sends."""
    monkeypatch.setenv("ENGINE_STATE_MACHINE_ARNS", ",".join(sorted(set(scene.reference_engine.values()))))
    container = lambda_container()
    sent: list[str] = []
    events = container.rescuer._step_functions.meta.events  # noqa: SLF001 (the test counts what the rescue reads)

    def count(**kwargs: Any) -> None:
        sent.append(kwargs["event_name"].split(".")[-1])

    events.register("before-call", count)
    yield container, sent
    events.unregister("before-call", count)


def elsewhere(event: dict[str, Any], region: str | None = None, account: str | None = None) -> dict[str, Any]:
    """The same status change, as if of an execution of another region or account."""
    arn = event["detail"]["executionArn"].split(":")
    arn[3], arn[4] = region or arn[3], account or arn[4]
    moved = ":".join(arn)
    return {**event, "detail": {**event["detail"], "executionArn": moved}, "resources": [moved]}


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
    event = elsewhere(status_change_event(execution), region, account)
    result = container.rescuer.status_change(event, LocalLambdaContext())
    assert (result.outcome, scene.service_catalog.accepted, sent) == ("IGNORED", [], [])


def test_a_late_failed_status_change_of_an_execution_running_again_makes_no_call(scene: Scene) -> None:
    # Given an execution that is running (as after a redrive), and a FAILED status change of it arriving late
    with scene.interpreter.hold(f"{ENGINE_FUNCTION_PREFIX}run-command") as held:
        execution_arn = start_workflow(scene, "PROVISION_PRODUCT")
        held.wait_until_invoked()
        running = scene.interpreter.client.describe_execution(executionArn=execution_arn)
        late = status_change_event({**running, "status": "FAILED", "stopDate": running["startDate"]})
        # When it reaches the safety net, Then nothing is sent: the execution reads RUNNING now
        result = invoke(scene.lambdas, late)
        assert (result["outcome"], result["executionStatus"]) == ("REDRIVEN", "RUNNING")
        assert scene.service_catalog.accepted == []
        scene.interpreter.client.stop_execution(executionArn=execution_arn)
        scene.interpreter.keep_late_results_out(execution_arn)
    scene.interpreter.wait(execution_arn)


def test_a_late_failed_status_change_of_an_execution_that_succeeded_since_makes_no_second_call(scene: Scene) -> None:
    # Given an execution that notified and succeeded (as a redrive would end), and a FAILED status change of it
    execution = run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    late = status_change_event({**execution, "status": "FAILED"})
    # When it reaches the safety net, Then nothing more is sent
    assert invoke(scene.lambdas, late)["outcome"] == "REDRIVEN"
    assert len(scene.service_catalog.accepted) == 1

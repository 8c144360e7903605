"""The simulation's engine model cannot drift from the real shapes: for the same workflow, it writes the history
moto's interpreter writes running the reference engine's own definitions, task for task, with the same notify
payloads and the same errors, and the rescue reads the same last notify attempt from both."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from engine_result_notifier import history
from engine_result_notifier.errors import ServiceCatalogUnavailableError
from tests.conftest import EVENTS
from tests.simulation.engine import (
    ReferenceEngine,
    Workload,
    step_error_message,
    terraform_error_output,
    terraform_outputs,
)
from tests.simulation.services import Clock, Outages, StepFunctions
from tests.state_machines.conftest import BOTOCORE_ATTEMPTS, EngineStepError, Scene, unique_name

_TASK_EVENTS = frozenset({"TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskFailed"})


def shape(events: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """A history as the rescue reads it: every Lambda task's events (with its function, or its error) and the
    execution's own, in order."""
    kept: list[tuple[str, ...]] = []
    for event in sorted(events, key=lambda e: int(e["id"])):
        kind = str(getattr(event["type"], "value", event["type"]))
        if kind == "TaskScheduled":
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            kept.append((kind, history.function_name(parameters["FunctionName"])))
        elif kind == "TaskFailed":
            kept.append((kind, event["taskFailedEventDetails"].get("error", "")))
        elif kind == "ExecutionFailed":
            kept.append((kind, event.get("executionFailedEventDetails", {}).get("error", "")))
        elif kind in _TASK_EVENTS or kind.startswith("Execution"):
            kept.append((kind,))
    return kept


def workload(operation: str) -> Workload:
    record_id = unique_name("rec-model").replace("-", "")
    return Workload(operation, record_id, "SimWorkflowToken0000001/Zm9v+YmFy=", "SimSecretValue1", "pp-model1")


def returns(function: str, payload: dict[str, Any]) -> None:
    return None


def throttled(function: str, payload: dict[str, Any]) -> None:
    raise ServiceCatalogUnavailableError("Service Catalog answered ThrottlingException (HTTP 400) after retries")


SCENARIOS = {
    "provision succeeds": ("PROVISION_PRODUCT", "succeeds", returns),
    "update fails in Terraform": ("UPDATE_PROVISIONED_PRODUCT", "terraform_fails", returns),
    "terminate fails in an engine step": ("TERMINATE_PROVISIONED_PRODUCT", "step_fails", returns),
    "update succeeds, its notify throttled": ("UPDATE_PROVISIONED_PRODUCT", "succeeds", throttled),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_engine_model_writes_the_history_the_reference_engine_writes(scene: Scene, scenario: str) -> None:
    operation, plan, notify = SCENARIOS[scenario]
    work = workload(operation)
    # The reference engine in moto's interpreter, its own functions answering as the model's plan says
    scene.engine.record_outputs = terraform_outputs(work)
    if plan == "terraform_fails":
        scene.engine.command_status, scene.engine.command_error_output = "Failed", terraform_error_output(work)
    if plan == "step_fails":
        scene.engine.raises = EngineStepError(step_error_message(work))
    if notify is throttled:
        scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    scene.service_catalog.register(work.record_id, operation)
    name = f"{work.product_id}-{work.record_id}"
    ran = scene.interpreter.wait(scene.interpreter.start(scene.reference_engine[operation], work.payload(), name))
    interpreted = scene.interpreter.history(ran["executionArn"])
    # The model, for the same workflow
    modelled = run_model(work, plan, notify)
    entry_points = scene.lambdas.settings.entry_points.operations()
    assert shape(modelled.events) == shape(interpreted)
    assert modelled.status == ran["status"]
    real = history.last_notify_attempt(interpreted, entry_points)
    model = history.last_notify_attempt(modelled.events, entry_points)
    assert real is not None
    assert model is not None
    assert (model.function_name, model.outcome, model.error and model.error.error) == (
        real.function_name,
        real.outcome,
        real.error and real.error.error,
    )
    assert without_stack_trace(model.payload) == without_stack_trace(real.payload)


def run_model(work: Workload, plan: str, notify: Callable[[str, dict[str, Any]], None]) -> Any:
    step_functions = StepFunctions(Clock(0), Outages())
    machine = "arn:aws:states:us-east-1:111122223333:stateMachine:model"
    step_functions.create_state_machine(machine)
    entry_points = {
        "PROVISION_PRODUCT": "engine-result-notifier-notify-provision",
        "UPDATE_PROVISIONED_PRODUCT": "engine-result-notifier-notify-update",
        "TERMINATE_PROVISIONED_PRODUCT": "engine-result-notifier-notify-terminate",
    }
    engine = ReferenceEngine(step_functions, entry_points, dict.fromkeys(entry_points, machine))
    execution = engine.start(work)
    engine.run(execution, work, plan, notify)
    return execution


def without_stack_trace(payload: Any) -> Any:
    """A failure payload's ``errorMessage`` quotes the runtime's error payload, whose stack trace differs."""
    if not isinstance(payload, dict) or not str(payload.get("errorMessage", "")).startswith("{"):
        return payload
    message = json.loads(payload["errorMessage"])
    return {**payload, "errorMessage": {k: message.get(k) for k in ("errorMessage", "errorType")}}


def test_the_recorded_sample_history_is_what_the_reference_engine_writes(scene: Scene) -> None:
    # events/execution-failed-notify-throttled.history.json, which make invoke serves to the safety net
    recorded = json.loads((EVENTS / "execution-failed-notify-throttled.history.json").read_text(encoding="utf-8"))
    events = recorded["events"]
    payload = json.loads(events[0]["executionStartedEventDetails"]["input"])
    scene.engine.record_outputs = [{"key": "bucket_arn", "value": "arn:aws:s3:::orders", "description": None}]
    scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    name = f"{payload['provisionedProductId']}-{payload['recordId']}-{unique_name('again')}"
    ran = scene.interpreter.wait(scene.interpreter.start(scene.reference_engine["PROVISION_PRODUCT"], payload, name))
    interpreted = scene.interpreter.history(ran["executionArn"])
    assert [event["type"] for event in events] == [str(event["type"]) for event in interpreted]
    entry_points = scene.lambdas.settings.entry_points.operations()
    real = history.last_notify_attempt(interpreted, entry_points)
    sample = history.last_notify_attempt(events, entry_points)
    assert real is not None
    assert sample is not None
    assert (sample.payload, sample.outcome, sample.error and sample.error.error) == (
        real.payload,
        real.outcome,
        real.error and real.error.error,
    )

"""The dashboard draws the metrics the code emits: same namespace, same name, same dimensions and values.

The code runs every path that emits a metric (notifications of each operation and status, a duplicate, a
conflict, each rejection and unavailability, a status change ignored, a record the engine had notified, a sweep
that rescues a record), through the entry points the template names, against the local services and the
reference engine in moto's interpreter. The EMF documents it prints are what CloudWatch would turn into metrics;
the dashboard's rows are read from template.yaml. A metric renamed in the code, or a dimension added or dropped,
fails here until the dashboard follows.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from engine_result_notifier.errors import (
    IdempotencyStoreUnavailableError,
    InvalidEventError,
    NotificationConflictError,
    NotificationRejectedError,
    RescueFailedError,
    ServiceCatalogUnavailableError,
    StepFunctionsUnavailableError,
)
from engine_result_notifier.observability import metrics
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.step_functions import StepFunctionsInterpreter, status_change_event
from tests.conftest import (
    SAMPLE_FUNCTIONS,
    TABLE_NAME,
    TEMPLATE,
    LocalFunctions,
    client_without_retries,
    closed_port,
    empty_idempotency_table,
    invoke,
    invoke_sample,
    lambda_container,
    load_event,
    while_calling_service_catalog,
)
from tests.dashboard import dashboard_metrics, rendered_dashboard
from tests.state_machines.conftest import (
    BOTOCORE_ATTEMPTS,
    Scene,
    create_reference_engine,
    lost_status_change,
    register_engine,
    run_workflow,
    sweep_over,
)

SOURCE = Path(__file__).resolve().parents[2] / "src" / "engine_result_notifier"
EVERY_WIDGET = {"EngineStateMachineArns": "arn:aws:states:us-east-1:111122223333:stateMachine:Engine"}
REFERENCE_ENGINE_SAMPLES = [
    sample for sample, function in SAMPLE_FUNCTIONS.items() if function not in ("NotifyFunction", "SweepFunction")
]


@dataclass(frozen=True)
class Signature:
    """What names a metric in CloudWatch: its namespace, its name and its dimensions' names."""

    namespace: str
    name: str
    dimension_names: frozenset[str]


def provision_event(record_id: str) -> dict[str, Any]:
    return {**load_event("provision-succeeded.json"), "recordId": record_id}


def provision(scene: Scene, record_id: str) -> dict[str, str]:
    return invoke(scene.lambdas, provision_event(record_id), "NotifyProvisionResultFunction")


def notifications_of_each_operation_and_status_then_a_duplicate(scene: Scene) -> None:
    for sample in REFERENCE_ENGINE_SAMPLES:
        assert invoke_sample(scene.lambdas, sample)["outcome"] == "NOTIFIED"
    assert invoke_sample(scene.lambdas, REFERENCE_ENGINE_SAMPLES[0])["outcome"] == "DUPLICATE"


def a_conflicting_notification(scene: Scene) -> None:
    failed = {**load_event("provision-succeeded.json"), "error": "States.TaskFailed", "errorMessage": "late"}
    with pytest.raises(NotificationConflictError):
        invoke(scene.lambdas, failed, "NotifyProvisionResultFunction")


def a_rejected_event(scene: Scene) -> None:
    with pytest.raises(InvalidEventError):
        invoke(scene.lambdas, {"recordId": "rec-1"})


def a_rejected_notification(scene: Scene) -> None:
    scene.service_catalog.reject("rec-refused")
    with pytest.raises(NotificationRejectedError):
        provision(scene, "rec-refused")


def service_catalog_unavailable(scene: Scene) -> None:
    scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    with pytest.raises(ServiceCatalogUnavailableError):
        provision(scene, "rec-throttled")


def a_delivery_in_progress(scene: Scene) -> None:
    """A second delivery of a record whose first is still calling Service Catalog. Only the second one's metrics
    are kept: both run in this one process, sharing Powertools' metrics, which no two Lambda invocations do."""
    kept = sys.stdout

    def deliver_again() -> None:
        with contextlib.redirect_stdout(kept), pytest.raises(IdempotencyAlreadyInProgressError):
            provision(scene, "rec-overlapping")

    first = while_calling_service_catalog(scene.lambdas, deliver_again)
    with contextlib.redirect_stdout(io.StringIO()), first:
        assert provision(scene, "rec-overlapping")["outcome"] == "NOTIFIED"


def idempotency_table_unavailable(scene: Scene) -> None:
    boto3.client("dynamodb", endpoint_url=scene.dynamodb_url).delete_table(TableName=TABLE_NAME)
    try:
        with pytest.raises(IdempotencyStoreUnavailableError):
            provision(scene, "rec-no-table")
    finally:
        empty_idempotency_table(scene.dynamodb_url)


def a_status_change_ignored(scene: Scene) -> None:
    assert invoke_sample(scene.lambdas, "execution-succeeded.json")["outcome"] == "IGNORED"


def step_functions_unavailable(scene: Scene) -> None:
    unreachable = lambda_container(step_functions_client=client_without_retries("stepfunctions", closed_port()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scene.lambdas.module("NotifyFunction"), "rescuer", unreachable.rescuer)
        with pytest.raises(StepFunctionsUnavailableError):
            invoke_sample(scene.lambdas, "execution-failed.json")


def a_record_the_engine_notified(scene: Scene) -> None:
    scene.engine.raises = RuntimeError("no worker host answered")
    execution = run_workflow(scene, "TERMINATE_PROVISIONED_PRODUCT")
    scene.engine.raises = None
    assert invoke(scene.lambdas, status_change_event(execution))["outcome"] == "ALREADY_NOTIFIED"


def a_sweep_that_rescues_a_record(scene: Scene) -> None:
    lost_status_change(scene)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scene.lambdas.module("SweepFunction"), "sweep", sweep_over(scene, sweep_min_age_minutes=0))
        report = scene.lambdas.handler("SweepFunction")({}, LocalLambdaContext(timeout_seconds=900))
    assert report["rescued"] == 1


def a_sweep_that_finds_an_execution_left_the_window_unexamined(scene: Scene) -> None:
    # A sweep that last examined something a day before this execution stopped, running after the execution left
    # its look-back window (the sweep could not run for that long)
    execution = lost_status_change(scene)
    sweep = sweep_over(scene)
    state_machine = execution["stateMachineArn"]
    long_before = int((execution["stopDate"] - timedelta(days=1)).timestamp() * 1000)
    scene.lambdas.dynamodb_client.put_item(
        TableName=TABLE_NAME,
        Item={
            "id": {"S": f"engine-result-sweep#{state_machine}"},
            "watermark": {"S": f"{long_before:015d}#"},
            "version": {"N": "7"},
        },
    )
    too_late = execution["stopDate"] + timedelta(hours=scene.lambdas.settings.sweep_look_back_hours + 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scene.lambdas.module("SweepFunction"), "sweep", sweep)
        with pytest.raises(RescueFailedError, match="left the window unexamined"):
            sweep.run(LocalLambdaContext(timeout_seconds=900), now=too_late)
    metrics.flush_metrics()


def a_foreign_execution(scene: Scene) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENGINE_STATE_MACHINE_ARNS", EVERY_WIDGET["EngineStateMachineArns"])
        watching = lambda_container()
        patch.setattr(scene.lambdas.module("NotifyFunction"), "rescuer", watching.rescuer)
        assert invoke_sample(scene.lambdas, "execution-failed.json")["outcome"] == "IGNORED"


def a_late_status_change_of_an_execution_redriven_to_success(scene: Scene) -> None:
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    late = status_change_event(
        {**execution, "status": "FAILED", "error": "States.TaskFailed", "cause": "failed before it was redriven"}
    )
    assert invoke(scene.lambdas, late)["outcome"] == "REDRIVEN"


def a_record_left_to_the_sweep_for_a_redrive(scene: Scene) -> None:
    execution = lost_status_change(scene)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDRIVE_GRACE_MINUTES", "60")
        patch.setattr(scene.lambdas.module("NotifyFunction"), "rescuer", lambda_container().rescuer)
        assert invoke(scene.lambdas, status_change_event(execution))["outcome"] == "LEFT_TO_THE_SWEEP"


SCENARIOS: list[Callable[[Scene], None]] = [
    notifications_of_each_operation_and_status_then_a_duplicate,
    a_conflicting_notification,
    a_rejected_event,
    a_rejected_notification,
    service_catalog_unavailable,
    a_delivery_in_progress,
    idempotency_table_unavailable,
    a_status_change_ignored,
    a_foreign_execution,
    a_late_status_change_of_an_execution_redriven_to_success,
    step_functions_unavailable,
    a_record_the_engine_notified,
    a_sweep_that_rescues_a_record,
    a_sweep_that_finds_an_execution_left_the_window_unexamined,
    a_record_left_to_the_sweep_for_a_redrive,
]


@pytest.fixture(scope="module")
def emitted(
    lambdas: LocalFunctions,
    dynamodb_url: str,
    service_catalog_endpoint: ServiceCatalogEndpoint,
    interpreter: StepFunctionsInterpreter,
) -> list[dict[str, Any]]:
    """Every EMF document the code printed while running every scenario once."""
    empty_idempotency_table(dynamodb_url)
    service_catalog_endpoint.reset()
    scene = Scene(
        lambdas=lambdas,
        service_catalog=service_catalog_endpoint,
        interpreter=interpreter,
        reference_engine=create_reference_engine(interpreter),
        engine=register_engine(interpreter),
        dynamodb_url=dynamodb_url,
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for scenario in SCENARIOS:
            scenario(scene)
    return [json.loads(line) for line in output.getvalue().splitlines() if line.startswith('{"_aws"')]


def emitted_metrics(documents: list[dict[str, Any]]) -> list[tuple[Signature, dict[str, str]]]:
    """Each metric of each document, as CloudWatch extracts it: its signature and its dimensions' values."""
    metrics = []
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                values = {name: document[name] for name in dimension_set}
                for metric in directive["Metrics"]:
                    signature = Signature(directive["Namespace"], metric["Name"], frozenset(dimension_set))
                    metrics.append((signature, values))
    return metrics


def drawn_metrics() -> list[tuple[Signature, dict[str, str]]]:
    """The dashboard's metrics of this package's own namespace (not AWS/...), with every widget deployed."""
    return [
        (Signature(metric.namespace, metric.name, metric.dimension_names), dict(metric.dimensions))
        for metric in dashboard_metrics(rendered_dashboard(TEMPLATE, EVERY_WIDGET))
        if not metric.namespace.startswith("AWS/")
    ]


def metric_names_in_the_source() -> set[str]:
    """The name of every ``metrics.add_metric(name=...)`` call in the package."""
    names = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                (name,) = [keyword.value for keyword in node.keywords if keyword.arg == "name"]
                assert isinstance(name, ast.Constant), f"{path.name}: a metric name that is not a literal"
                names.add(name.value)
    return names


def test_the_scenarios_emit_every_metric_the_source_names(emitted: list[dict[str, Any]]) -> None:
    assert metric_names_in_the_source() == {signature.name for signature, _ in emitted_metrics(emitted)}


def test_every_metric_the_dashboard_draws_is_emitted_with_its_namespace_and_dimensions(
    emitted: list[dict[str, Any]],
) -> None:
    emitted_signatures = {signature for signature, _ in emitted_metrics(emitted)}
    assert drawn_metrics()
    assert [signature for signature, _ in drawn_metrics() if signature not in emitted_signatures] == []


def test_every_dimension_value_the_dashboard_draws_is_one_the_code_emits(emitted: list[dict[str, Any]]) -> None:
    emitted_values = {(name, value) for _, values in emitted_metrics(emitted) for name, value in values.items()}
    drawn_values = {(name, value) for _, values in drawn_metrics() for name, value in values.items()}
    assert drawn_values - emitted_values == set()


def test_every_metric_the_code_emits_is_on_the_dashboard(emitted: list[dict[str, Any]]) -> None:
    drawn_signatures = {signature for signature, _ in drawn_metrics()}
    assert {signature for signature, _ in emitted_metrics(emitted)} - drawn_signatures == set()

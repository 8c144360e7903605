"""The dashboard's shape, read from template.yaml for each way of deploying the stack: every alarm, every function,
the dead-letter queue, all three operations. (Whether its metrics are the ones the code emits is checked by
tests/state_machines/test_dashboard.py, which runs the code.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine_result_notifier.models import Operation, Status
from engine_result_notifier.observability import METRICS_NAMESPACE
from local_aws.template import Intrinsics, functions
from tests.conftest import TEMPLATE
from tests.dashboard import DASHBOARD, dashboard_metrics, math_expressions, rendered_dashboard

ENGINE = "arn:aws:states:us-east-1:111122223333:stateMachine:ManageProvisionedProductStateMachine"
OTHER = "arn:aws:states:us-east-1:111122223333:stateMachine:TerminateProvisionedProductStateMachine"
DEPLOYMENTS = {
    "nothing watched": {},
    "the engine's state machines": {"EngineStateMachineArns": ENGINE},
    "two state machines": {"EngineStateMachineArns": f"{ENGINE},{OTHER}"},
}
GRID_COLUMNS = 24


def existing(parameters: dict[str, str], resource_type: str) -> set[str]:
    """The logical ids of this type that a stack deployed with these parameters has."""
    intrinsics = Intrinsics(TEMPLATE, parameters)
    return {
        logical_id
        for logical_id, spec in TEMPLATE["Resources"].items()
        if spec["Type"] == resource_type and ("Condition" not in spec or intrinsics.condition(spec["Condition"]))
    }


def test_the_dashboard_is_created_unless_the_parameter_turns_it_off() -> None:
    assert TEMPLATE["Resources"][DASHBOARD]["Condition"] == "HasDashboard"
    assert Intrinsics(TEMPLATE).condition("HasDashboard")
    assert not Intrinsics(TEMPLATE, {"CreateDashboard": "false"}).condition("HasDashboard")


@pytest.mark.parametrize("parameters", DEPLOYMENTS.values(), ids=DEPLOYMENTS)
def test_every_widget_fits_the_dashboards_grid(parameters: dict[str, str]) -> None:
    for widget in rendered_dashboard(TEMPLATE, parameters)["widgets"]:
        assert widget["x"] >= 0
        assert widget["x"] + widget["width"] <= GRID_COLUMNS
        assert widget["height"] > 0


@pytest.mark.parametrize("parameters", DEPLOYMENTS.values(), ids=DEPLOYMENTS)
def test_the_alarm_widget_shows_every_alarm_of_the_stack(parameters: dict[str, str]) -> None:
    (alarms,) = [w for w in rendered_dashboard(TEMPLATE, parameters)["widgets"] if w["type"] == "alarm"]
    shown = {arn.removeprefix("<").removesuffix(".Arn>") for arn in alarms["properties"]["alarms"]}
    assert shown == existing(parameters, "AWS::CloudWatch::Alarm")


@pytest.mark.parametrize("parameters", DEPLOYMENTS.values(), ids=DEPLOYMENTS)
@pytest.mark.parametrize("metric", ["Errors", "Duration", "Throttles"])
def test_every_function_of_the_stack_has_its_errors_duration_and_throttles(
    parameters: dict[str, str], metric: str
) -> None:
    drawn = {
        dict(m.dimensions)["FunctionName"]
        for m in dashboard_metrics(rendered_dashboard(TEMPLATE, parameters))
        if (m.namespace, m.name) == ("AWS/Lambda", metric)
    }
    assert drawn == existing(parameters, "AWS::Serverless::Function")
    assert existing(DEPLOYMENTS["two state machines"], "AWS::Serverless::Function") == set(functions(TEMPLATE))


def test_the_dead_letter_queue_depth_is_of_the_stacks_queue() -> None:
    (depth,) = [m for m in dashboard_metrics(rendered_dashboard(TEMPLATE)) if m.namespace == "AWS/SQS"]
    assert (depth.name, depth.dimensions) == (
        "ApproximateNumberOfMessagesVisible",
        (("QueueName", "<DeadLetterQueue.QueueName>"),),
    )


def test_every_per_operation_metric_is_drawn_for_all_three_operations() -> None:
    operations_of: dict[str, set[str]] = {}
    for metric in dashboard_metrics(rendered_dashboard(TEMPLATE, DEPLOYMENTS["two state machines"])):
        if metric.namespace == METRICS_NAMESPACE and "operation" in metric.dimension_names:
            operations_of.setdefault(metric.name, set()).add(dict(metric.dimensions)["operation"])
    assert operations_of
    assert all(operations == {operation.value for operation in Operation} for operations in operations_of.values())


def test_notifications_are_drawn_for_every_operation_and_status() -> None:
    drawn = {
        (dict(m.dimensions)["operation"], dict(m.dimensions)["status"])
        for m in dashboard_metrics(rendered_dashboard(TEMPLATE))
        if m.name == "Notifications"
    }
    assert drawn == {(operation.value, status.value) for operation in Operation for status in Status}


def test_every_math_expression_adds_up_metrics_of_its_own_widget_by_id() -> None:
    for widget in rendered_dashboard(TEMPLATE)["widgets"]:
        ids = {dict(row[-1]).get("id") for row in widget["properties"].get("metrics", []) if isinstance(row[-1], dict)}
        for expression in math_expressions(widget):
            referenced = set(re.findall(r"[a-z][a-zA-Z0-9_]*", expression["expression"])) - {"SUM"}
            assert referenced <= ids, widget["properties"]["title"]
            assert referenced


def test_the_dashboard_url_output_names_the_dashboard() -> None:
    output: dict[str, Any] = TEMPLATE["Outputs"]["DashboardUrl"]
    assert output["Condition"] == "HasDashboard"
    assert "${Dashboard}" in output["Value"]["Fn::Sub"]

"""What template.yaml promises, read from the template itself."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from engine_result_notifier.models import Operation
from local_aws.template import function_properties, functions, load_template, resource

ENTRY_POINTS = {
    "NotifyFunction": "engine_result_notifier.handler.lambda_handler",
    "NotifyProvisionResultFunction": "engine_result_notifier.handler.provision_handler",
    "NotifyUpdateResultFunction": "engine_result_notifier.handler.update_handler",
    "NotifyTerminateResultFunction": "engine_result_notifier.handler.terminate_handler",
}
# The reference Terraform engine's DefinitionSubstitutions, and the operation each of its notify Lambdas reports.
REFERENCE_ENGINE_SUBSTITUTIONS = {
    "NotifyProvisionResultFunctionArn": Operation.PROVISION_PRODUCT,
    "NotifyUpdateResultFunctionArn": Operation.UPDATE_PROVISIONED_PRODUCT,
    "NotifyTerminateResultFunctionArn": Operation.TERMINATE_PROVISIONED_PRODUCT,
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.mark.parametrize("function", sorted(ENTRY_POINTS))
def test_every_entry_point_runs_the_lambda_runtime_traced_with_the_shared_code_role_and_logs(
    template: dict[str, Any], function: str
) -> None:
    properties = function_properties(template, function)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Tracing"] == "Active"
    assert properties["CodeUri"] == "src/"
    assert properties["Handler"] == ENTRY_POINTS[function]
    assert properties["Role"] == {"Fn::GetAtt": ["NotifierRole", "Arn"]}
    assert properties["LoggingConfig"]["LogGroup"] == {"Ref": "NotifierLogGroup"}
    assert "IDEMPOTENCY_TABLE_NAME" in properties["Environment"]["Variables"]


def test_the_template_has_exactly_the_four_entry_points(template: dict[str, Any]) -> None:
    assert sorted(functions(template)) == sorted(ENTRY_POINTS)


@pytest.mark.parametrize(("output", "operation"), sorted(REFERENCE_ENGINE_SUBSTITUTIONS.items()))
def test_each_reference_engine_substitution_is_an_output_naming_the_entry_point_of_its_operation(
    template: dict[str, Any], handler_module: ModuleType, output: str, operation: Operation
) -> None:
    (function, attribute) = template["Outputs"][output]["Value"]["Fn::GetAtt"]
    assert attribute == "Arn"
    handler_name = function_properties(template, function)["Handler"].rsplit(".", 1)[1]
    assert (
        getattr(handler_module, handler_name)
        is {
            Operation.PROVISION_PRODUCT: handler_module.provision_handler,
            Operation.UPDATE_PROVISIONED_PRODUCT: handler_module.update_handler,
            Operation.TERMINATE_PROVISIONED_PRODUCT: handler_module.terminate_handler,
        }[operation]
    )


def test_safety_net_rule_matches_failed_timed_out_and_aborted_executions_of_the_engine(
    template: dict[str, Any],
) -> None:
    event = function_properties(template)["Events"]["EngineExecutionEnded"]
    pattern = event["Properties"]["Pattern"]
    assert event["Type"] == "EventBridgeRule"
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert "EngineStateMachineArns" in str(pattern["detail"]["stateMachineArn"])
    assert template["Parameters"]["EngineStateMachineArns"]["Type"] == "CommaDelimitedList"


def test_failed_asynchronous_deliveries_go_to_the_dead_letter_queue(template: dict[str, Any]) -> None:
    invoke_config = function_properties(template)["EventInvokeConfig"]
    assert 0 <= invoke_config["MaximumRetryAttempts"] <= 2
    assert invoke_config["MaximumEventAgeInSeconds"] <= 6 * 3600
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    rule = function_properties(template)["Events"]["EngineExecutionEnded"]["Properties"]
    assert rule["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_dead_letter_queue_keeps_messages_fourteen_days(template: dict[str, Any]) -> None:
    queue = resource(template, "DeadLetterQueue")["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


@pytest.mark.parametrize("alarm", ["NotifyFunctionErrorsAlarm", "DeadLetterQueueAlarm"])
def test_alarms_notify_the_optional_topic(template: dict[str, Any], alarm: str) -> None:
    properties = resource(template, alarm)["Properties"]
    assert properties["Threshold"] == 1
    assert properties["AlarmActions"] == {
        "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
    }


def test_example_state_machine_is_created_only_on_request(template: dict[str, Any]) -> None:
    state_machine = resource(template, "ExampleEngineStateMachine")
    assert state_machine["Condition"] == "CreateExampleStateMachine"
    assert state_machine["Properties"]["DefinitionUri"] == "statemachine/engine.asl.json"


def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every identity policy: IAM roles' and SAM resources' inline policies."""
    statements: list[dict[str, Any]] = []
    for resource_ in template["Resources"].values():
        for policy in resource_.get("Properties", {}).get("Policies", []):
            if isinstance(policy, dict):
                statements.extend(policy.get("PolicyDocument", policy).get("Statement", []))
    return statements


def policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every policy in the template: identity policies, queue and key policies."""
    statements = role_statements(template)
    for resource_ in template["Resources"].values():
        properties = resource_.get("Properties", {})
        for document in (properties.get("PolicyDocument"), properties.get("KeyPolicy")):
            if document:
                statements.extend(document["Statement"])
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_the_template_has_policies_to_check(template: dict[str, Any]) -> None:
    assert len(role_statements(template)) >= 7
    assert len(policy_statements(template)) >= 11


def test_no_allow_statement_grants_a_wildcard_action(template: dict[str, Any]) -> None:
    wildcards = [
        action
        for statement in policy_statements(template)
        if statement["Effect"] == "Allow"
        for action in actions(statement)
        if "*" in action
    ]
    assert wildcards == []


def test_only_actions_that_support_no_resource_type_are_granted_on_every_resource(template: dict[str, Any]) -> None:
    on_everything = {action for s in role_statements(template) if s["Resource"] == "*" for action in actions(s)}
    assert on_everything == {
        "servicecatalog:NotifyProvisionProductEngineWorkflowResult",
        "servicecatalog:NotifyUpdateProvisionedProductEngineWorkflowResult",
        "servicecatalog:NotifyTerminateProvisionedProductEngineWorkflowResult",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_logs_are_written_only_to_the_notifiers_log_group(template: dict[str, Any]) -> None:
    (logs,) = [s for s in role_statements(template) if any(a.startswith("logs:") for a in actions(s))]
    assert sorted(actions(logs)) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == {"Fn::GetAtt": ["NotifierLogGroup", "Arn"]}


def test_the_errors_alarm_adds_up_every_entry_points_errors(template: dict[str, Any]) -> None:
    metrics = resource(template, "NotifyFunctionErrorsAlarm")["Properties"]["Metrics"]
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in metrics if "MetricStat" in m}
    (expression,) = [m["Expression"] for m in metrics if "Expression" in m]
    assert watched == set(ENTRY_POINTS)
    assert expression == f"SUM([{', '.join(m['Id'] for m in metrics if 'MetricStat' in m)}])"


def test_dynamodb_access_is_only_the_four_item_actions_on_the_idempotency_table(template: dict[str, Any]) -> None:
    dynamodb = [s for s in policy_statements(template) if any(a.startswith("dynamodb:") for a in actions(s))]
    assert len(dynamodb) == 1
    assert sorted(actions(dynamodb[0])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert dynamodb[0]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_the_idempotency_table_is_encrypted_at_rest(template: dict[str, Any]) -> None:
    assert resource(template, "IdempotencyTable")["Properties"]["SSESpecification"] == {"SSEEnabled": True}


def test_the_dead_letter_queue_is_encrypted_with_its_own_rotated_key(template: dict[str, Any]) -> None:
    queue = resource(template, "DeadLetterQueue")["Properties"]
    assert queue["KmsMasterKeyId"] == {"Ref": "DeadLetterQueueKey"}
    assert resource(template, "DeadLetterQueueKey")["Properties"]["EnableKeyRotation"] is True


def test_the_dead_letter_queue_refuses_transport_without_tls(template: dict[str, Any]) -> None:
    statements = resource(template, "DeadLetterQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.items() <= statements[-1].items()


def test_the_functions_logs_have_a_retention(template: dict[str, Any]) -> None:
    log_group = resource(template, "NotifierLogGroup")["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert template["Parameters"]["LogRetentionInDays"]["Default"] > 0


def test_tracing_is_active_on_the_functions_and_the_example_state_machine(template: dict[str, Any]) -> None:
    assert all(function_properties(template, function)["Tracing"] == "Active" for function in ENTRY_POINTS)
    assert resource(template, "ExampleEngineStateMachine")["Properties"]["Tracing"] == {"Enabled": True}


def test_every_checkov_skip_gives_a_reason(template: dict[str, Any]) -> None:
    skips = [
        skip
        for resource_ in template["Resources"].values()
        for skip in resource_.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    assert all(len(skip["comment"]) > 40 for skip in skips)

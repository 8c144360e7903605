"""What template.yaml promises, read from the template itself."""

from __future__ import annotations

from typing import Any

import pytest

from local_aws.template import function_properties, load_template, resource


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_function_runs_the_lambda_runtime_traced(template: dict[str, Any]) -> None:
    properties = function_properties(template)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Tracing"] == "Active"
    assert properties["Handler"] == "engine_result_notifier.handler.lambda_handler"


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


def policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every policy in the template: roles' inline policies, queue and key policies."""
    statements: list[dict[str, Any]] = []
    for resource_ in template["Resources"].values():
        properties = resource_.get("Properties", {})
        for policy in properties.get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                statements.extend(policy["Statement"])
        for document in (properties.get("PolicyDocument"), properties.get("KeyPolicy")):
            if document:
                statements.extend(document["Statement"])
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_the_template_has_policies_to_check(template: dict[str, Any]) -> None:
    assert len(policy_statements(template)) >= 7


def test_no_allow_statement_grants_a_wildcard_action(template: dict[str, Any]) -> None:
    wildcards = [
        action
        for statement in policy_statements(template)
        if statement["Effect"] == "Allow"
        for action in actions(statement)
        if "*" in action
    ]
    assert wildcards == []


def test_only_the_notify_actions_are_granted_on_every_resource_of_an_iam_policy(template: dict[str, Any]) -> None:
    role_statements = [
        statement
        for resource_ in template["Resources"].values()
        for policy in resource_.get("Properties", {}).get("Policies", [])
        if isinstance(policy, dict)
        for statement in policy["Statement"]
    ]
    on_everything = {action for s in role_statements if s["Resource"] == "*" for action in actions(s)}
    assert on_everything == {
        "servicecatalog:NotifyProvisionProductEngineWorkflowResult",
        "servicecatalog:NotifyUpdateProvisionedProductEngineWorkflowResult",
        "servicecatalog:NotifyTerminateProvisionedProductEngineWorkflowResult",
    }


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
    log_group = resource(template, "NotifyFunctionLogGroup")["Properties"]
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${NotifyFunction}"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert template["Parameters"]["LogRetentionInDays"]["Default"] > 0


def test_tracing_is_active_on_the_function_and_the_example_state_machine(template: dict[str, Any]) -> None:
    assert function_properties(template)["Tracing"] == "Active"
    assert resource(template, "ExampleEngineStateMachine")["Properties"]["Tracing"] == {"Enabled": True}


def test_every_checkov_skip_gives_a_reason(template: dict[str, Any]) -> None:
    skips = [
        skip
        for resource_ in template["Resources"].values()
        for skip in resource_.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    assert all(len(skip["comment"]) > 40 for skip in skips)

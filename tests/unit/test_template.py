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


def test_dead_letter_queue_is_encrypted_and_keeps_messages_fourteen_days(template: dict[str, Any]) -> None:
    queue = resource(template, "DeadLetterQueue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
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

"""What template.yaml promises, read from the template itself."""

from __future__ import annotations

import importlib
import json
from typing import Any
from unittest.mock import MagicMock

import pytest

from engine_result_notifier import service_catalog, step_functions
from engine_result_notifier.delivery import Delivery, new_dynamodb_client
from engine_result_notifier.models import Operation
from engine_result_notifier.rescue import Rescuer
from engine_result_notifier.settings import (
    DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS,
    Settings,
)
from engine_result_notifier.sweep import Sweep
from local_aws.template import (
    Intrinsics,
    declared_environment,
    function_name,
    function_properties,
    functions,
    load_template,
    resource,
)
from tests.conftest import LocalFunctions

ENTRY_POINTS = {
    "NotifyFunction": "engine_result_notifier.handlers.safety_net.lambda_handler",
    "NotifyProvisionResultFunction": "engine_result_notifier.handlers.notify.provision_handler",
    "NotifyUpdateResultFunction": "engine_result_notifier.handlers.notify.update_handler",
    "NotifyTerminateResultFunction": "engine_result_notifier.handlers.notify.terminate_handler",
}
ROLES = {
    "NotifyFunction": "SafetyNetRole",
    "NotifyProvisionResultFunction": "NotifierRole",
    "NotifyUpdateResultFunction": "NotifierRole",
    "NotifyTerminateResultFunction": "NotifierRole",
    "SweepFunction": "SweepRole",
}
ENTRY_POINT_SETTINGS = {
    "PROVISION_ENTRY_POINT": "NotifyProvisionResultFunction",
    "UPDATE_ENTRY_POINT": "NotifyUpdateResultFunction",
    "TERMINATE_ENTRY_POINT": "NotifyTerminateResultFunction",
    "GENERIC_ENTRY_POINT": "NotifyFunction",
}
ENGINE = "arn:aws:states:us-east-1:111122223333:stateMachine:ManageProvisionedProductStateMachine"
ENGINE_EXECUTIONS = "arn:aws:states:us-east-1:111122223333:execution:ManageProvisionedProductStateMachine:*"
OTHER = "arn:aws:states:us-east-1:111122223333:stateMachine:TerminateProvisionedProduct"
OTHER_EXECUTIONS = "arn:aws:states:us-east-1:111122223333:execution:TerminateProvisionedProduct:*"
WATCH_BOTH = {"EngineStateMachineArns": f"{ENGINE},{OTHER}"}
"""Two state machines watched: every watch-dependent statement at its widest."""
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
    assert properties["Role"] == {"Fn::GetAtt": [ROLES[function], "Arn"]}
    assert properties["LoggingConfig"]["LogGroup"] == {"Ref": "NotifierLogGroup"}
    assert "IDEMPOTENCY_TABLE_NAME" in properties["Environment"]["Variables"]


def test_the_templates_functions_are_the_four_entry_points_and_the_sweep(template: dict[str, Any]) -> None:
    assert sorted(functions(template)) == sorted([*ENTRY_POINTS, "SweepFunction"])


@pytest.mark.parametrize(("variable", "function"), sorted(ENTRY_POINT_SETTINGS.items()))
def test_every_function_is_told_each_entry_points_name(template: dict[str, Any], variable: str, function: str) -> None:
    # A rescue recognises a notify task by the function name it invokes: the setting must be that name.
    for each in functions(template):
        assert declared_environment(template, each)[variable] == function_name(template, function)


def test_function_names_fit_lambdas_limit_for_a_serverless_application_repository_stack(
    template: dict[str, Any],
) -> None:
    # A stack deployed from the Serverless Application Repository is named "serverlessrepo-<application>".
    longest_suffix = max(len(function_name(template, f)) - len("engine-result-notifier") for f in functions(template))
    assert len("serverlessrepo-engine-result-notifier") + longest_suffix <= 64


@pytest.mark.parametrize(
    ("parameters", "watched", "executions"),
    [
        ({}, None, None),
        ({"EngineStateMachineArns": ENGINE}, [ENGINE], [ENGINE_EXECUTIONS]),
        (WATCH_BOTH, [ENGINE, OTHER], [ENGINE_EXECUTIONS, OTHER_EXECUTIONS]),
    ],
)
def test_the_engines_executions_are_read_only_where_they_are_watched(
    template: dict[str, Any], parameters: dict[str, str], watched: list[str] | None, executions: list[str] | None
) -> None:
    intrinsics = Intrinsics(template, parameters)
    statements = {
        s.get("Sid"): s
        for s in intrinsics.evaluate(
            resource(template, "SafetyNetRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        )
    }
    if watched is None:
        assert "ReadEngineExecutions" not in statements
        assert not intrinsics.condition("WatchesStateMachines")  # and so no sweep, nor its role
        assert resource(template, "SweepRole")["Condition"] == "WatchesStateMachines"
        return
    swept = {
        s.get("Sid"): s
        for s in intrinsics.evaluate(
            resource(template, "SweepRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        )
    }
    assert swept["ListEngineExecutions"]["Resource"] == watched
    for role in (statements, swept):
        assert role["ReadEngineExecutions"]["Resource"] == executions
        assert role["ReadEngineExecutions"]["Action"] == ["states:DescribeExecution", "states:GetExecutionHistory"]
    rule = function_properties(template)["Events"]["EngineExecutionEnded"]["Properties"]["Pattern"]["detail"]
    assert intrinsics.evaluate(rule["stateMachineArn"]) == watched
    sweep = resource(template, "SweepFunction")
    assert intrinsics.evaluate(
        sweep["Properties"]["Environment"]["Variables"]["ENGINE_STATE_MACHINE_ARNS"]
    ) == ",".join(watched)
    assert intrinsics.condition(sweep["Condition"])


def test_the_sweep_runs_on_its_schedule_within_its_window(template: dict[str, Any]) -> None:
    properties = function_properties(template, "SweepFunction")
    assert properties["Handler"] == "engine_result_notifier.handlers.sweep.sweep_handler"
    assert properties["Events"]["Sweep"] == {
        "Type": "Schedule",
        "Properties": {
            "Schedule": {"Ref": "SweepRate"},
            "Description": properties["Events"]["Sweep"]["Properties"]["Description"],
        },
    }
    assert properties["Environment"]["Variables"]["SWEEP_LOOK_BACK_HOURS"] == {"Ref": "SweepLookBackHours"}
    # Longer than the safety net's own retries: 6 hours asynchronous, 24 hours EventBridge
    assert template["Parameters"]["SweepLookBackHours"]["MinValue"] > 6
    assert template["Parameters"]["SweepLookBackHours"]["Default"] > 24


def test_a_sweep_run_that_fails_or_times_out_is_not_run_again_by_lambdas_asynchronous_retries(
    template: dict[str, Any],
) -> None:
    # The next scheduled run continues where it stopped: a retry on top would be a second run at once
    assert function_properties(template, "SweepFunction")["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}


@pytest.mark.parametrize("service_catalog_attempts", [DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS, 10])
def test_the_sweeps_timeout_leaves_minutes_beyond_what_one_rescue_can_take_at_its_clients_worst(
    template: dict[str, Any], service_catalog_attempts: int
) -> None:
    # The clients as the functions build them, SERVICE_CATALOG_MAX_ATTEMPTS at its default and at its most
    settings = Settings.from_environ(declared_environment(template, "SweepFunction", WATCH_BOTH))
    dynamodb = new_dynamodb_client()
    delivery = Delivery(settings, service_catalog.new_client(service_catalog_attempts), dynamodb)
    sweep = Sweep(settings, Rescuer(settings, delivery, step_functions.new_client()), MagicMock(), dynamodb)
    timeout_ms = function_properties(template, "SweepFunction")["Timeout"] * 1000
    assert sweep.time_to_stop_ms > 6 * 60_000  # six history reads, three table calls, the notification, the record
    assert timeout_ms - sweep.time_to_stop_ms >= 2 * 60_000


def test_a_record_the_sweep_rescued_raises_an_alarm_on_the_metric_it_emits(template: dict[str, Any]) -> None:
    alarm = resource(template, "SweepRescuedRecordsAlarm")["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("EngineResultNotifier", "RecordsRescued")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "engine-result-notifier"}]
    assert alarm["Threshold"] == 1


@pytest.mark.parametrize(("output", "operation"), sorted(REFERENCE_ENGINE_SUBSTITUTIONS.items()))
def test_each_reference_engine_substitution_is_an_output_naming_the_entry_point_of_its_operation(
    template: dict[str, Any], lambdas: LocalFunctions, output: str, operation: Operation
) -> None:
    (function, attribute) = template["Outputs"][output]["Value"]["Fn::GetAtt"]
    assert attribute == "Arn"
    entry_points = importlib.import_module("engine_result_notifier.handlers.notify")
    assert (
        lambdas.handler(function)
        is {
            Operation.PROVISION_PRODUCT: entry_points.provision_handler,
            Operation.UPDATE_PROVISIONED_PRODUCT: entry_points.update_handler,
            Operation.TERMINATE_PROVISIONED_PRODUCT: entry_points.terminate_handler,
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


def test_the_template_creates_no_state_machine_and_watches_only_the_engines(template: dict[str, Any]) -> None:
    # The example engine is a stack of its own (examples/engine/template.yaml)
    types = {resource_["Type"] for resource_ in template["Resources"].values()}
    assert not types & {"AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine"}
    assert not [name for name in template["Parameters"] if "Example" in name]


def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every identity policy, with every watch option on: roles' inline policies and the
    managed policy they share."""
    intrinsics = Intrinsics(template, WATCH_BOTH)
    statements: list[dict[str, Any]] = []
    for resource_ in template["Resources"].values():
        properties = resource_.get("Properties", {})
        for policy in properties.get("Policies", []):
            if isinstance(policy, dict):
                statements.extend(intrinsics.evaluate(policy.get("PolicyDocument", policy)).get("Statement", []))
        if resource_["Type"] == "AWS::IAM::ManagedPolicy":
            statements.extend(intrinsics.evaluate(properties["PolicyDocument"])["Statement"])
    return statements


def policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every policy in the template: identity policies, queue and key policies."""
    statements = role_statements(template)
    intrinsics = Intrinsics(template, WATCH_BOTH)
    for resource_ in template["Resources"].values():
        properties = resource_.get("Properties", {})
        if resource_["Type"] == "AWS::IAM::ManagedPolicy":
            continue
        for document in (properties.get("PolicyDocument"), properties.get("KeyPolicy")):
            if document:
                statements.extend(intrinsics.evaluate(document)["Statement"])
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_the_template_has_policies_to_check(template: dict[str, Any]) -> None:
    assert len(role_statements(template)) >= 8
    assert len(policy_statements(template)) >= 12


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
    assert logs["Resource"] == "<NotifierLogGroup.Arn>"


def test_the_errors_alarm_adds_up_every_entry_points_errors(template: dict[str, Any]) -> None:
    metrics = resource(template, "NotifyFunctionErrorsAlarm")["Properties"]["Metrics"]
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in metrics if "MetricStat" in m}
    (expression,) = [m["Expression"] for m in metrics if "Expression" in m]
    assert watched == set(ENTRY_POINTS)
    assert expression == f"SUM([{', '.join(m['Id'] for m in metrics if 'MetricStat' in m)}])"


def test_dynamodb_access_is_the_four_item_actions_and_the_sweeps_batch_read_on_the_idempotency_table(
    template: dict[str, Any],
) -> None:
    dynamodb = [s for s in policy_statements(template) if any(a.startswith("dynamodb:") for a in actions(s))]
    assert sorted(sorted(actions(statement)) for statement in dynamodb) == [
        ["dynamodb:BatchGetItem"],
        ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    ]
    assert [statement["Resource"] for statement in dynamodb] == ["<IdempotencyTable.Arn>"] * 2


def test_the_sweeps_look_back_cannot_be_set_as_long_as_the_idempotency_records_live(template: dict[str, Any]) -> None:
    # The template sets no IDEMPOTENCY_EXPIRES_AFTER_SECONDS: the records live as long as the settings' default
    assert "IDEMPOTENCY_EXPIRES_AFTER_SECONDS" not in declared_environment(template, "SweepFunction")
    longest = template["Parameters"]["SweepLookBackHours"]["MaxValue"]
    assert longest * 3600 < DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS


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


def test_tracing_is_active_on_the_functions(template: dict[str, Any]) -> None:
    assert all(function_properties(template, function)["Tracing"] == "Active" for function in ENTRY_POINTS)


def test_every_checkov_skip_gives_a_reason(template: dict[str, Any]) -> None:
    skips = [
        skip
        for resource_ in template["Resources"].values()
        for skip in resource_.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    assert all(len(skip["comment"]) > 40 for skip in skips)


@pytest.mark.parametrize(
    "parameters",
    [
        {"EngineStateMachineArns": "arn:aws:states:us-east-1:111122223333:stateMachine:Manage"},
        WATCH_BOTH,
    ],
)
def test_the_safety_net_watches_the_state_machines_the_sweep_sweeps(
    template: dict[str, Any], parameters: dict[str, str]
) -> None:
    intrinsics = Intrinsics(template, parameters)
    watched = intrinsics.evaluate(function_properties(template, "NotifyFunction")["Environment"]["Variables"])
    swept = intrinsics.evaluate(function_properties(template, "SweepFunction")["Environment"]["Variables"])
    assert watched["ENGINE_STATE_MACHINE_ARNS"] == swept["ENGINE_STATE_MACHINE_ARNS"]
    assert watched["ENGINE_STATE_MACHINE_ARNS"].startswith("arn:aws:states:")


def test_with_nothing_watched_the_safety_net_takes_any_state_machine(template: dict[str, Any]) -> None:
    assert declared_environment(template, "NotifyFunction")["ENGINE_STATE_MACHINE_ARNS"] == ""


def test_the_conflicts_alarm_adds_up_the_metric_the_code_emits_for_every_operation(template: dict[str, Any]) -> None:
    alarm = resource(template, "ConflictsAlarm")["Properties"]
    stats = [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]
    assert {(m["Namespace"], m["MetricName"]) for m in stats} == {("EngineResultNotifier", "Conflicts")}
    assert sorted(next(d["Value"] for d in m["Dimensions"] if d["Name"] == "operation") for m in stats) == sorted(
        operation.value for operation in Operation
    )
    assert all({d["Name"] for d in m["Dimensions"]} == {"operation", "service"} for m in stats)
    (total,) = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    assert total["Expression"] == "SUM([provision, update, terminate])"


def role_actions(template: dict[str, Any], role: str) -> set[str]:
    """Every action a role's own policies allow, with every watch option on (beside the shared NotifyPolicy)."""
    intrinsics = Intrinsics(template, WATCH_BOTH)
    properties = resource(template, role)["Properties"]
    assert properties["ManagedPolicyArns"] == [{"Ref": "NotifyPolicy"}]
    return {
        action
        for policy in properties.get("Policies", [])
        for statement in intrinsics.evaluate(policy["PolicyDocument"])["Statement"]
        for action in actions(statement)
    }


def test_each_kind_of_function_has_a_role_of_its_own_with_only_what_it_uses(template: dict[str, Any]) -> None:
    # The operation entry points notify and keep their records (NotifyPolicy), nothing else
    assert role_actions(template, "NotifierRole") == set()
    # The generic entry point reads the executions it rescues and sends its failed deliveries to the queue
    assert role_actions(template, "SafetyNetRole") == {
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "sqs:SendMessage",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }
    # The sweep lists and reads the executions, and reads its memory in batches; it has no queue to send to
    assert role_actions(template, "SweepRole") == {
        "states:ListExecutions",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "dynamodb:BatchGetItem",
    }


def test_every_output_is_exported_under_the_stack_name_so_that_import_value_works(template: dict[str, Any]) -> None:
    for name, output in template["Outputs"].items():
        assert output["Export"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{name}"}}, name


def test_every_function_is_in_one_build_group_so_sam_build_builds_the_code_once(template: dict[str, Any]) -> None:
    # sam build groups functions by code, runtime, architecture, handler-independent properties and Metadata:
    # functions whose Metadata differ are built apart, each into a folder of its own
    built = {
        json.dumps(
            [
                resource(template, function).get("Metadata"),
                function_properties(template, function).get("CodeUri"),
                function_properties(template, function).get("Runtime"),
                function_properties(template, function).get("Architectures"),
            ],
            sort_keys=True,
        )
        for function in functions(template)
    }
    assert len(built) == 1


ENGINE_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("role", ["SafetyNetRole", "SweepRole"])
def test_the_roles_that_read_executions_may_decrypt_them_through_step_functions_with_the_engines_keys(
    template: dict[str, Any], role: str
) -> None:
    intrinsics = Intrinsics(template, {**WATCH_BOTH, "EngineKmsKeyArns": ENGINE_KEY})
    statements = intrinsics.evaluate(resource(template, role)["Properties"]["Policies"][0]["PolicyDocument"])
    (decrypt,) = [s for s in statements["Statement"] if s.get("Sid") == "DecryptEngineExecutions"]
    assert decrypt == {
        "Sid": "DecryptEngineExecutions",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": [ENGINE_KEY],
        "Condition": {"StringEquals": {"kms:ViaService": "states.us-east-1.amazonaws.com"}},
    }


@pytest.mark.parametrize("role", ["SafetyNetRole", "SweepRole"])
def test_without_engine_keys_no_role_may_decrypt_with_any_key_but_the_queues(
    template: dict[str, Any], role: str
) -> None:
    statements = Intrinsics(template, WATCH_BOTH).evaluate(
        resource(template, role)["Properties"]["Policies"][0]["PolicyDocument"]
    )
    assert [s["Resource"] for s in statements["Statement"] if "kms:Decrypt" in actions(s)] == (
        ["<DeadLetterQueueKey.Arn>"] if role == "SafetyNetRole" else []
    )


@pytest.mark.parametrize("stateful", ["IdempotencyTable", "DeadLetterQueue", "DeadLetterQueueKey"])
def test_the_stateful_resources_go_with_the_stack_as_the_deploy_documentation_says(
    template: dict[str, Any], stateful: str
) -> None:
    assert resource(template, stateful)["DeletionPolicy"] == "Delete"
    assert resource(template, stateful)["UpdateReplacePolicy"] == "Delete"


def test_the_queues_key_waits_kmss_shortest_period_before_it_is_deleted(template: dict[str, Any]) -> None:
    assert resource(template, "DeadLetterQueueKey")["Properties"]["PendingWindowInDays"] == 7

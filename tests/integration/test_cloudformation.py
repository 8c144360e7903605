"""The templates as CloudFormation receives them: expanded by the SAM transform under every parameter set that
changes the expanded resources, with no circular dependency and no cfn-lint error; and every parameter set
CloudFormation accepts gives functions that start (their handlers imported, in a fresh process each, with the
environment the template gives them), or the template refuses the set."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local_aws.template import Intrinsics, declared_environment, function_properties, functions, load_template
from tests.cloudformation import created_resources, expanded, lint_errors, refusal

ROOT = Path(__file__).resolve().parents[2]
NOTIFIER = ROOT / "template.yaml"
EXAMPLE_ENGINE = ROOT / "examples" / "engine" / "template.yaml"
NOTIFIER_TEMPLATE = load_template(NOTIFIER)

MANAGE = "arn:aws:states:us-east-1:111122223333:stateMachine:ManageProvisionedProductStateMachine"
TERMINATE = "arn:aws:states:us-east-1:111122223333:stateMachine:TerminateProvisionedProductStateMachine"
ENGINE = {"EngineStateMachineArns": f"{MANAGE},{TERMINATE}"}
ENGINE_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
"""The reference engine's two state machines watched: the sweep, its role and its alarms exist."""


def _ends(name: str) -> tuple[str, str]:
    """A Number parameter's two ends: its MinValue and MaxValue, or its first and last AllowedValues."""
    spec = NOTIFIER_TEMPLATE["Parameters"][name]
    if "AllowedValues" in spec:
        return str(spec["AllowedValues"][0]), str(spec["AllowedValues"][-1])
    return str(spec["MinValue"]), str(spec["MaxValue"])


NUMBERS = sorted(name for name, spec in NOTIFIER_TEMPLATE["Parameters"].items() if spec["Type"] == "Number")
SWEEP_NUMBERS = ["SweepLookBackHours", "SweepMinAgeMinutes", "RedriveGraceMinutes"]
"""The Number parameters the settings hold against each other: every combination of their ends is a set."""

NOTIFIER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "one engine state machine": {"EngineStateMachineArns": MANAGE},
    "two engine state machines": ENGINE,
    "no dashboard": {**ENGINE, "CreateDashboard": "false"},
    "an alarm topic": {**ENGINE, "AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:engine-alarms"},
    "an endpoint": {"EndpointUrl": "http://127.0.0.1:4566"},
    "engine keys": {**ENGINE, "EngineKmsKeyArns": f"{ENGINE_KEY},{ENGINE_KEY.replace('1234abcd', 'mrk-5678')}"},
    "everything": {
        **ENGINE,
        "AlarmTopicArn": "arn:aws:sns:us-east-1:111122223333:engine-alarms",
        "EndpointUrl": "http://127.0.0.1:4566",
        "SensitiveOutputs": "omit",
        "EngineKmsKeyArns": ENGINE_KEY,
    },
    **{f"{name}={end}": {**ENGINE, name: end} for name in NUMBERS for end in _ends(name)},
    **{
        ", ".join(f"{name}={value}" for name, value in zip(SWEEP_NUMBERS, ends, strict=True)): {
            **ENGINE,
            **dict(zip(SWEEP_NUMBERS, ends, strict=True)),
        }
        for ends in itertools.product(*(_ends(name) for name in SWEEP_NUMBERS))
    },
    "a state machine version": {"EngineStateMachineArns": f"{MANAGE}:1"},
    "a state machine alias": {"EngineStateMachineArns": f"{MANAGE}:live,{TERMINATE}"},
    "a key alias": {**ENGINE, "EngineKmsKeyArns": "arn:aws:kms:us-east-1:111122223333:alias/engine"},
}
"""Every parameter set whose expansion or whose functions' environment differs."""

EXAMPLE_ENGINE_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "another notifier stack": {"NotifierStackName": "notifier-staging"},
}

EXPANSIONS = [
    *((NOTIFIER, name, parameters) for name, parameters in NOTIFIER_SETS.items()),
    *((EXAMPLE_ENGINE, name, parameters) for name, parameters in EXAMPLE_ENGINE_SETS.items()),
]
ACCEPTED = [
    pytest.param(path, parameters, id=f"{path.parent.name}/{path.name}: {name}")
    for path, name, parameters in EXPANSIONS
    if refusal(load_template(path), parameters) is None
]


@cache
def _expanded(path: Path, parameters: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return expanded(path, dict(parameters))


def expansion(path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    return _expanded(path, tuple(sorted(parameters.items())))


def test_the_parameter_sets_include_sets_the_template_refuses_and_sets_it_accepts() -> None:
    # Else the checks below would pass on a template that refuses everything, or on a list without its ends
    assert len(ACCEPTED) >= 20
    assert len(ACCEPTED) < len(EXPANSIONS)


@pytest.mark.parametrize(("path", "parameters"), ACCEPTED)
def test_the_expanded_template_has_no_circular_dependency(path: Path, parameters: dict[str, str]) -> None:
    errors = lint_errors(expansion(path, parameters), parameters)
    assert [error for error in errors if error.startswith("E3004")] == []


@pytest.mark.parametrize(("path", "parameters"), ACCEPTED)
def test_cfn_lint_finds_no_error_in_the_expanded_template(path: Path, parameters: dict[str, str]) -> None:
    assert lint_errors(expansion(path, parameters), parameters) == []


def test_the_safety_nets_rule_exists_only_once_expanded_and_is_named_as_the_key_policy_names_it() -> None:
    # The rule SAM generates from NotifyFunction's EventBridgeRule event: the queue's key lets only it use the key
    template = expansion(NOTIFIER, ENGINE)
    rule = template["Resources"]["NotifyFunctionEngineExecutionEnded"]
    assert rule["Type"] == "AWS::Events::Rule"
    assert "NotifyFunctionEngineExecutionEnded" not in NOTIFIER_TEMPLATE["Resources"]
    intrinsics = Intrinsics(template, ENGINE)
    name = intrinsics.evaluate(rule["Properties"]["Name"])
    rule_arn = f"arn:aws:events:us-east-1:111122223333:rule/{name}"
    key_statements = intrinsics.evaluate(template["Resources"]["DeadLetterQueueKey"]["Properties"]["KeyPolicy"])
    queue_statements = intrinsics.evaluate(
        template["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    )
    for document in (key_statements, queue_statements):
        (events,) = [s for s in document["Statement"] if s.get("Principal") == {"Service": "events.amazonaws.com"}]
        assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}
    (target,) = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_the_safety_nets_rule_name_fits_eventbridges_limit_for_the_longest_stack_name() -> None:
    # A stack name of 47 characters is the longest whose functions' names fit Lambda's 64 (test_template)
    properties = function_properties(NOTIFIER_TEMPLATE)["Events"]["EngineExecutionEnded"]["Properties"]
    assert properties["RuleName"] == {"Fn::Sub": "${AWS::StackName}-executions-ended"}
    assert len("s" * 47 + "-executions-ended") <= 64


@pytest.mark.parametrize(
    ("parameters", "created"),
    [
        ({}, 19),
        (ENGINE, 27),
        ({**ENGINE, "CreateDashboard": "false"}, 26),
    ],
)
def test_the_stack_creates_these_many_resources(parameters: dict[str, str], created: int) -> None:
    assert len(created_resources(expansion(NOTIFIER, parameters), parameters)) == created


# Every parameter set CloudFormation accepts gives functions that start.

_START_AS_LAMBDA_DOES = """
import importlib, sys
module_name, handler_name = sys.argv[1].rsplit(".", 1)
getattr(importlib.import_module(module_name), handler_name)
"""


@cache
def _starts(handler: str, environment: tuple[tuple[str, str], ...]) -> str:
    """What a fresh process set up as Lambda sets one up prints when it imports the handler: nothing if it starts,
    else the error's last line (the function would fail every invocation)."""
    completed = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _START_AS_LAMBDA_DOES, handler],
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT / "src"),
            "LAMBDA_TASK_ROOT": str(ROOT / "src"),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            **dict(environment),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return "" if completed.returncode == 0 else completed.stderr.strip().splitlines()[-1]


def _functions_created(parameters: dict[str, str]) -> list[str]:
    created = created_resources(NOTIFIER_TEMPLATE, parameters)
    return [function for function in functions(NOTIFIER_TEMPLATE) if function in created]


@pytest.mark.parametrize(
    "parameters",
    [pytest.param(parameters, id=name) for name, parameters in NOTIFIER_SETS.items()],
)
def test_every_parameter_set_cloudformation_accepts_gives_functions_that_start(parameters: dict[str, str]) -> None:
    if refusal(NOTIFIER_TEMPLATE, parameters) is not None:
        return  # refused at deploy: no stack, no function to start
    failures = {
        function: _starts(
            function_properties(NOTIFIER_TEMPLATE, function)["Handler"],
            tuple(sorted(declared_environment(NOTIFIER_TEMPLATE, function, parameters).items())),
        )
        for function in _functions_created(parameters)
    }
    assert {function: failure for function, failure in failures.items() if failure} == {}


@pytest.mark.parametrize(
    "arns",
    [f"{MANAGE}:1", f"{MANAGE}:live", f"{MANAGE},{TERMINATE}:42", "ManageProvisionedProductStateMachine"],
)
def test_a_state_machine_version_alias_or_name_is_refused_at_deploy(arns: str) -> None:
    # Its executions' ARNs, the rule's stateMachineArn and the roles' resources are the unqualified state machine's
    assert refusal(NOTIFIER_TEMPLATE, {"EngineStateMachineArns": arns}) is not None


def test_a_redrive_grace_the_shortest_look_back_cannot_hold_is_refused_at_deploy() -> None:
    parameters = NOTIFIER_TEMPLATE["Parameters"]
    longest_grace = parameters["RedriveGraceMinutes"]["MaxValue"]
    shortest_look_back = parameters["SweepLookBackHours"]["MinValue"]
    assert longest_grace < shortest_look_back * 60
    assert refusal(NOTIFIER_TEMPLATE, {**ENGINE, "RedriveGraceMinutes": str(longest_grace + 1)}) is not None


@pytest.mark.parametrize(
    "keys", ["arn:aws:kms:us-east-1:111122223333:alias/engine", "1234abcd-12ab-34cd-56ef-1234567890ab"]
)
def test_an_engine_key_given_by_alias_or_id_is_refused_at_deploy(keys: str) -> None:
    # IAM grants kms:Decrypt on a key's ARN; an alias or a bare id in a policy's Resource grants nothing
    assert refusal(NOTIFIER_TEMPLATE, {**ENGINE, "EngineKmsKeyArns": keys}) is not None

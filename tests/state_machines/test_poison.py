"""Poison input: text that is deeply nested JSON (a Terraform error output, a cause) is treated as text on every
path, never a generic error that leaves the record in progress."""

from __future__ import annotations

import json

from local_aws.step_functions import status_change_event
from tests.conftest import invoke
from tests.state_machines.conftest import Scene, run_workflow

DEEP_JSON_TEXT = '{"errorType":' + "[" * 50_000
"""50 KB of text that begins as a Lambda error and nests deeper than any Python can read."""


def test_a_terraform_error_of_deep_json_text_ends_in_one_failed_call_with_a_reason(scene: Scene) -> None:
    # Given Terraform fails and its error output is deeply nested JSON text
    scene.engine.command_status, scene.engine.command_error_output = "Failed", DEEP_JSON_TEXT
    # When the reference engine runs
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    # Then its failure notification made one FAILED call with a reason, and the execution did not fail
    (call,) = scene.service_catalog.accepted
    assert call.parameters["Status"] == "FAILED"
    assert 0 < len(call.parameters["FailureReason"]) <= 2048
    assert execution["status"] != "FAILED" or execution.get("error") != "RecursionError"


def test_a_status_change_whose_cause_is_deep_json_text_raises_no_generic_error(scene: Scene) -> None:
    # Given an ended execution whose status change carries a cause of deeply nested JSON text
    scene.engine.raises = RuntimeError("no worker host answered")
    execution = run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    event = status_change_event(execution)
    event["detail"].update(status="FAILED", error="States.TaskFailed", cause=DEEP_JSON_TEXT)
    # When it reaches the safety net, Then it is handled (the engine had notified: nothing to add)
    assert invoke(scene.lambdas, event)["outcome"] == "ALREADY_NOTIFIED"
    assert len(scene.service_catalog.accepted) == 1
    assert json.dumps(event)  # the event itself is writable JSON, as EventBridge delivers it

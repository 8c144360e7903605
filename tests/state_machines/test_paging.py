"""Paging as Step Functions pages: the local stand-in answers ``GetExecutionHistory`` and ``ListExecutions`` a page
at a time (``maxResults``, ``reverseOrder``, ``nextToken``), and the rescue and the sweep read past the first
page. Page sizes are made small here so that the reference engine's executions span several pages."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine_result_notifier import step_functions
from engine_result_notifier.settings import DEFAULT_SWEEP_MIN_AGE_MINUTES
from local_aws.lambda_context import LocalLambdaContext
from local_aws.step_functions import status_change_event
from tests.conftest import invoke
from tests.state_machines.conftest import (
    LOST_RECORD_OUTPUTS,
    Scene,
    create_reference_engine,
    lost_status_change,
    run_workflow,
    sweep_over,
)


def pages(scene: Scene, operation: str, **arguments: Any) -> list[dict[str, Any]]:
    """Every page of one Step Functions listing, read as a client reads them."""
    read = [getattr(scene.interpreter.client, operation)(**arguments)]
    while "nextToken" in read[-1]:
        read.append(getattr(scene.interpreter.client, operation)(**arguments, nextToken=read[-1]["nextToken"]))
    return read


def test_the_history_comes_a_page_at_a_time_oldest_first_or_newest_first(scene: Scene) -> None:
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    arn = execution["executionArn"]
    oldest_first = pages(scene, "get_execution_history", executionArn=arn, maxResults=3)
    newest_first = pages(scene, "get_execution_history", executionArn=arn, maxResults=3, reverseOrder=True)
    ids = [int(event["id"]) for page in oldest_first for event in page["events"]]
    assert [len(page["events"]) for page in oldest_first[:-1]] == [3] * (len(oldest_first) - 1)
    assert ids == list(range(1, len(ids) + 1))
    assert [int(event["id"]) for page in newest_first for event in page["events"]] == ids[::-1]
    assert len(ids) > 10


def test_a_history_page_is_100_events_unless_asked(scene: Scene) -> None:
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    page = scene.interpreter.client.get_execution_history(executionArn=execution["executionArn"])
    assert "nextToken" not in page
    assert len(page["events"]) < 100


def test_every_ended_execution_is_listed_with_its_stop_date(scene: Scene) -> None:
    scene.engine.raises = RuntimeError("no worker host answered")
    execution = run_workflow(scene, "TERMINATE_PROVISIONED_PRODUCT")
    listed = [
        item
        for page in pages(scene, "list_executions", stateMachineArn=execution["stateMachineArn"], maxResults=1)
        for item in page["executions"]
    ]
    assert listed[0]["executionArn"] == execution["executionArn"]
    assert all("stopDate" in item for item in listed if item["status"] != "RUNNING")


def test_the_rescue_reads_the_history_newest_first_to_a_notify_task_beyond_its_first_page(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a lost success notification, and history pages of two events (the notify task is not on the first)
    execution = lost_status_change(scene)
    newest_first = scene.interpreter.history(execution["executionArn"])[::-1]
    notify_at = next(index for index, event in enumerate(newest_first) if event["type"] == "TaskScheduled")
    monkeypatch.setattr(step_functions, "HISTORY_PAGE_SIZE", 2)
    assert notify_at >= 2  # not on the first page
    assert notify_at < 2 * step_functions.HISTORY_MAX_PAGES < len(newest_first) - notify_at
    # When the status change reaches the safety net
    result = invoke(scene.lambdas, status_change_event(execution))
    # Then the success the notify task meant to send is sent, with its outputs
    (call,) = scene.service_catalog.accepted
    assert (result["outcome"], call.parameters["Status"]) == ("NOTIFIED", "SUCCEEDED")
    assert [output["OutputKey"] for output in call.parameters["Outputs"]] == [
        output["key"] for output in LOST_RECORD_OUTPUTS
    ]


def test_the_sweep_lists_past_the_first_page_of_executions(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given three lost status changes of one state machine, and listing pages of one execution
    scene = replace(scene, reference_engine=create_reference_engine(scene.interpreter))
    executions = [lost_status_change(scene) for _ in range(3)]
    monkeypatch.setattr(step_functions, "LIST_PAGE_SIZE", 1)
    # When the sweep runs after the minimum age
    later = datetime.now(UTC) + timedelta(minutes=DEFAULT_SWEEP_MIN_AGE_MINUTES + 1)
    report = sweep_over(scene).run(LocalLambdaContext(timeout_seconds=900), now=later)
    # Then it found all three
    assert report.rescued == 3
    record_ids = sorted(request.parameters["RecordId"] for request in scene.service_catalog.accepted)
    assert record_ids == sorted(json.loads(execution["input"])["recordId"] for execution in executions)

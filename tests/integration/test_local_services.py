"""Failure modes against the real local servers, over HTTP: what reaches Service Catalog, what is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from engine_result_notifier.errors import IdempotencyStoreUnavailableError, ServiceCatalogUnavailableError
from engine_result_notifier.models import Operation
from engine_result_notifier.notify import Notify
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from tests.conftest import (
    EVENTS,
    SAMPLE_FUNCTIONS,
    SAMPLE_TOKEN,
    TABLE_NAME,
    LocalFunctions,
    client_without_retries,
    invoke,
    invoke_sample,
    load_event,
)

ROOT = Path(__file__).resolve().parents[2]
IN_PROGRESS = "IN_PROGRESS"
PROVISION, TERMINATE = Operation.PROVISION_PRODUCT, Operation.TERMINATE_PROVISIONED_PRODUCT


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until the condition holds, polling; fail the test if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)


def table_items(dynamodb_url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb", endpoint_url=dynamodb_url).scan(TableName=TABLE_NAME)[
        "Items"
    ]
    return items


def deliver(notify: Notify, event: dict[str, Any], operation: Operation = PROVISION) -> str:
    """One delivery to the operation's entry point; the outcome, or IN_PROGRESS for the documented retryable
    refusal."""
    try:
        return notify.completion(event, LocalLambdaContext(), operation).outcome
    except IdempotencyAlreadyInProgressError:
        return IN_PROGRESS


def test_the_installed_botocore_protocol_is_served(
    local_services: LocalFunctions, service_catalog: ServiceCatalogEndpoint
) -> None:
    invoke_sample(local_services, "terminate-succeeded.json")
    (request,) = service_catalog.accepted
    model = boto3.client("servicecatalog").meta.service_model
    assert request.protocol == model.resolved_protocol


def test_storm_of_32_concurrent_deliveries_makes_exactly_one_call(
    new_notify: Callable[..., Notify], service_catalog: ServiceCatalogEndpoint
) -> None:
    # Given 32 containers receiving the same notification at once, the first call slow enough to overlap
    notifiers = [new_notify() for _ in range(32)]
    service_catalog.delay(0.3, times=1)
    start = threading.Barrier(len(notifiers))
    event = load_event("provision-succeeded.json")

    def storm(notifier: Notify) -> str:
        start.wait()
        return deliver(notifier, event)

    # When they all deliver
    with ThreadPoolExecutor(len(notifiers)) as pool:
        outcomes = list(pool.map(storm, notifiers))
    # Then one call reached Service Catalog; every other delivery got the stored result or the retryable error
    assert len(service_catalog.requests) == 1
    assert outcomes.count("NOTIFIED") == 1
    assert set(outcomes) <= {"NOTIFIED", "DUPLICATE", IN_PROGRESS}


def test_400_distinct_notifications_over_8_threads_are_each_delivered_exactly_once(
    new_notify: Callable[..., Notify], service_catalog: ServiceCatalogEndpoint
) -> None:
    notifiers = [new_notify() for _ in range(8)]
    events = [{"token": SAMPLE_TOKEN, "recordId": f"rec-{index:04d}"} for index in range(400)]

    def deliver_all(worker: int, deliveries: list[dict[str, Any]]) -> list[str]:
        return [deliver(notifiers[worker], event) for event in deliveries[worker::8]]

    with ThreadPoolExecutor(8) as pool:
        first = [outcome for outcomes in pool.map(deliver_all, range(8), [events] * 8) for outcome in outcomes]
        again = [outcome for outcomes in pool.map(deliver_all, range(8), [events[::-1]] * 8) for outcome in outcomes]

    record_ids = [request.parameters["RecordId"] for request in service_catalog.requests]
    assert sorted(record_ids) == sorted(event["recordId"] for event in events)
    assert first == ["NOTIFIED"] * 400
    assert again == ["DUPLICATE"] * 400


def test_throttling_past_botocores_retries_then_recovery_sends_the_same_idempotency_token(
    local_services: LocalFunctions, service_catalog: ServiceCatalogEndpoint
) -> None:
    # Given Service Catalog throttles every attempt botocore makes (SERVICE_CATALOG_MAX_ATTEMPTS=2 here)
    service_catalog.throttle(2)
    with pytest.raises(ServiceCatalogUnavailableError, match="ThrottlingException"):
        invoke_sample(local_services, "update-succeeded.json")
    # When the state machine retries after the throttling stops
    result = invoke_sample(local_services, "update-succeeded.json")
    # Then the retry went through, and every attempt carried the same IdempotencyToken
    assert result["outcome"] == "NOTIFIED"
    tokens = [request.parameters["IdempotencyToken"] for request in service_catalog.requests]
    assert [request.answer_status for request in service_catalog.requests] == [400, 400, 200]
    assert tokens == ["update-rec-2n5t7fhsyqmlw"] * 3


def test_server_errors_raise_the_retryable_error_and_record_nothing_as_done(
    local_services: LocalFunctions, service_catalog: ServiceCatalogEndpoint, dynamodb_url: str
) -> None:
    service_catalog.fail(2)
    with pytest.raises(ServiceCatalogUnavailableError, match="HTTP 500"):
        invoke_sample(local_services, "terminate-succeeded.json")
    assert len(service_catalog.requests) == 2
    assert table_items(dynamodb_url) == []


def test_unreachable_service_catalog_raises_the_retryable_error_and_records_nothing_as_done(
    new_notify: Callable[..., Notify], closed_port_url: str, dynamodb_url: str
) -> None:
    notifier = new_notify(service_catalog_client=client_without_retries("servicecatalog", closed_port_url))
    with pytest.raises(ServiceCatalogUnavailableError, match="could not be reached"):
        notifier.completion(load_event("provision-succeeded.json"), LocalLambdaContext(), PROVISION)
    assert table_items(dynamodb_url) == []


def test_unreachable_idempotency_table_raises_the_retryable_error_and_makes_no_call(
    new_notify: Callable[..., Notify], closed_port_url: str, service_catalog: ServiceCatalogEndpoint
) -> None:
    notifier = new_notify(dynamodb_client=client_without_retries("dynamodb", closed_port_url))
    with pytest.raises(IdempotencyStoreUnavailableError):
        notifier.completion(load_event("provision-succeeded.json"), LocalLambdaContext(), PROVISION)
    assert service_catalog.requests == []


def test_rejected_record_raises_the_terminal_error_and_records_nothing_as_done(
    local_services: LocalFunctions, service_catalog: ServiceCatalogEndpoint, dynamodb_url: str
) -> None:
    service_catalog.reject("rec-h3c6mzw2b7k4u", "ResourceNotFoundException")
    with pytest.raises(Exception, match="ResourceNotFoundException") as raised:
        invoke_sample(local_services, "terminate-succeeded.json")
    assert type(raised.value).__name__ == "NotificationRejectedError"
    assert table_items(dynamodb_url) == []


def test_invocation_killed_mid_call_blocks_retries_only_until_its_timeout(
    local_services: LocalFunctions, service_catalog: ServiceCatalogEndpoint, dynamodb_url: str
) -> None:
    # Given an invocation with a 3 s timeout that dies (as Lambda kills it) while its call is under way
    timeout_seconds = 3.0
    service_catalog.delay(2.0, times=1)
    event_path = EVENTS / "terminate-succeeded.json"
    invocation = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _INVOKE_ONCE, str(event_path), str(timeout_seconds)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
    )
    wait_for(lambda: service_catalog.in_flight == 1)
    invocation.kill()
    invocation.wait()
    (item,) = table_items(dynamodb_url)
    in_progress_expiry = int(item["in_progress_expiration"]["N"]) / 1000
    assert item["status"]["S"] == "INPROGRESS"
    # When a retry arrives before that invocation's timeout, Then it is refused as in progress
    event = json.loads(event_path.read_text(encoding="utf-8"))
    assert time.time() < in_progress_expiry
    with pytest.raises(IdempotencyAlreadyInProgressError):
        invoke(local_services, event, SAMPLE_FUNCTIONS["terminate-succeeded.json"])
    # And once the timeout has passed, a retry goes through
    outcomes: list[str] = []
    wait_for(
        lambda: (
            outcomes.append(deliver(local_services.module("NotifyTerminateResultFunction").notify, event, TERMINATE))
            or outcomes[-1] != IN_PROGRESS
        )
    )
    assert outcomes[-1] == "NOTIFIED"
    assert time.time() >= in_progress_expiry
    wait_for(lambda: service_catalog.in_flight == 0)


_INVOKE_ONCE = """
import json, sys
from engine_result_notifier.handlers import notify
from local_aws.lambda_context import LocalLambdaContext
notify.terminate_handler(json.load(open(sys.argv[1])), LocalLambdaContext(timeout_seconds=float(sys.argv[2])))
"""

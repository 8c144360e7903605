"""The operation entry points end to end, with the exact request Service Catalog would receive (botocore's
Stubber): each maps its events to its operation's call, and refuses an event it cannot notify."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.stub import Stubber

import engine_result_notifier
from engine_result_notifier.errors import (
    InvalidEventError,
    ServiceCatalogUnavailableError,
)
from tests.conftest import (
    SAMPLE_TOKEN,
    LocalFunctions,
    invoke,
    invoke_sample,
    load_event,
    nested,
)
from tests.handler.conftest import EXPECTED_REQUESTS, OPERATIONS, PROVISION, TERMINATE, UPDATE, emitted_metrics


@pytest.mark.parametrize("sample", sorted(EXPECTED_REQUESTS))
def test_sample_event_sends_the_exact_request(lambdas: LocalFunctions, stubber: Stubber, sample: str) -> None:
    # Given the request the sample must produce
    method, expected = EXPECTED_REQUESTS[sample]
    stubber.add_response(method, {}, expected)
    # When the sample is delivered
    result = invoke_sample(lambdas, sample)
    # Then exactly that request was sent, and the result names what was notified
    assert result == {
        "outcome": "NOTIFIED",
        "recordId": expected["RecordId"],
        "operation": OPERATIONS[method],
        "status": expected["Status"],
        "idempotencyToken": expected["IdempotencyToken"],
    }


@pytest.mark.parametrize(
    ("function", "method", "idempotency_token"),
    [
        ("NotifyProvisionResultFunction", PROVISION, "provision-rec-entry-point"),
        ("NotifyUpdateResultFunction", UPDATE, "update-rec-entry-point"),
        ("NotifyTerminateResultFunction", TERMINATE, "terminate-rec-entry-point"),
    ],
)
def test_operation_entry_point_makes_its_own_call_for_an_event_without_operation(
    lambdas: LocalFunctions, stubber: Stubber, function: str, method: str, idempotency_token: str
) -> None:
    event = {"token": SAMPLE_TOKEN, "recordId": "rec-entry-point"}
    stubber.add_response(
        method,
        {},
        {
            "WorkflowToken": SAMPLE_TOKEN,
            "RecordId": "rec-entry-point",
            "Status": "SUCCEEDED",
            "IdempotencyToken": idempotency_token,
        },
    )
    assert invoke(lambdas, event, function)["operation"] == OPERATIONS[method]


def test_event_contradicting_its_entry_point_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # The reference engine's provision failure task names its operation; delivered to the update entry point
    with pytest.raises(InvalidEventError, match="PROVISION_PRODUCT contradicts this entry point") as raised:
        invoke(lambdas, load_event("provision-failed.json"), "NotifyUpdateResultFunction")
    assert "NotifyUpdateResultFunctionArn" in str(raised.value)


def test_generic_entry_point_never_guesses_a_missing_operation(lambdas: LocalFunctions, stubber: Stubber) -> None:
    with pytest.raises(InvalidEventError, match="operation: is missing") as raised:
        invoke(lambdas, load_event("provision-succeeded.json"))
    for output in (
        "NotifyProvisionResultFunctionArn",
        "NotifyUpdateResultFunctionArn",
        "NotifyTerminateResultFunctionArn",
    ):
        assert output in str(raised.value)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"recordId": "rec-1", "operation": "PROVISION_PRODUCT"}, "token: is missing"),
        ({"token": SAMPLE_TOKEN, "recordId": "rec/!!", "operation": "PROVISION_PRODUCT"}, "RecordId: may only hold"),
        ({"token": SAMPLE_TOKEN, "recordId": "rec-1", "operation": "PROVISION_PRODUCT", "status": "DONE"}, "status:"),
        (
            {
                "token": SAMPLE_TOKEN,
                "recordId": "rec-1",
                "operation": "PROVISION_PRODUCT",
                "tracerTag": {"key": "a;b", "value": "v"},
            },
            "UniqueTag.Key: may only hold",
        ),
        (["not", "an", "object"], "event: must be a JSON object"),
    ],
)
def test_invalid_event_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber, event: Any, reason: str
) -> None:
    with pytest.raises(InvalidEventError, match=reason):
        invoke(lambdas, event)


def test_the_token_and_sensitive_values_never_reach_the_logs(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    for sample, (method, expected) in EXPECTED_REQUESTS.items():
        stubber.add_response(method, {}, expected)
        invoke_sample(lambdas, sample)
        invoke_sample(lambdas, sample)
    logs = captured_logs.getvalue() + capsys.readouterr().out
    assert "Service Catalog notified" in logs
    assert SAMPLE_TOKEN not in logs
    assert "correct-horse-battery-staple" not in logs


def test_the_delivery_logs_the_failure_reason_as_sent_free_of_the_token(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO
) -> None:
    # Given a failure whose message quotes the workflow token, cut off
    event = {**load_event("provision-failed.json"), "errorMessage": f"denied for token {SAMPLE_TOKEN[:30]}"}
    stubber.add_response(PROVISION, {}, None)
    # When it is notified
    invoke(lambdas, event, "NotifyProvisionResultFunction")
    # Then the delivery's log line says the failure reason Service Catalog got, the token left out of it
    (notified,) = [
        json.loads(line) for line in captured_logs.getvalue().splitlines() if "Service Catalog notified" in line
    ]
    assert notified["failure_reason"] == "denied for token <workflow token>"
    assert SAMPLE_TOKEN[:12] not in captured_logs.getvalue()


@pytest.mark.parametrize("sample", ["provision-succeeded.json", "execution-succeeded.json"])
def test_every_log_line_of_an_invocation_carries_the_package_version(
    lambdas: LocalFunctions, stubber: Stubber, captured_logs: io.StringIO, sample: str
) -> None:
    # Given two invocations, the second of which clears the first one's keys (clear_state)
    if sample in EXPECTED_REQUESTS:
        method, expected = EXPECTED_REQUESTS[sample]
        stubber.add_response(method, {}, expected)
    invoke_sample(lambdas, sample)
    invoke_sample(lambdas, sample)
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert len(lines) >= 2
    assert {line.get("version") for line in lines} == {engine_result_notifier.__version__}


def test_rejected_event_is_counted_without_the_dimensions_of_an_earlier_invocation(
    lambdas: LocalFunctions, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    method, _ = EXPECTED_REQUESTS["terminate-succeeded.json"]
    stubber.add_client_error(method, service_error_code="ThrottlingException")
    with pytest.raises(ServiceCatalogUnavailableError):
        invoke_sample(lambdas, "terminate-succeeded.json")
    with pytest.raises(InvalidEventError):
        invoke(lambdas, {"recordId": "rec-1"})
    unavailable, rejected = emitted_metrics(capsys.readouterr().out)
    assert unavailable["ServiceCatalogUnavailable"] == [1.0]
    assert rejected["RejectedEvents"] == [1.0]
    assert "operation" not in rejected


def test_output_nested_too_deeply_raises_the_named_error_and_makes_no_call(
    lambdas: LocalFunctions, stubber: Stubber
) -> None:
    # Found by the fuzzer: a RecursionError escaped the handler (from about 970 levels on Python 3.11).
    event = {"token": SAMPLE_TOKEN, "recordId": "rec-1", "outputs": [{"key": "deep", "value": nested(100_000)}]}
    with pytest.raises(InvalidEventError, match="nested too deeply"):
        invoke(lambdas, event, "NotifyProvisionResultFunction")

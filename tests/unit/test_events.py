"""Parsing the raw events: typed models out, a named error naming the field for anything malformed."""

from __future__ import annotations

import pytest

from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.events import (
    is_status_change,
    parse_completion_event,
    parse_status_change,
    parse_workflow_payload,
)
from engine_result_notifier.models import EngineError, EngineOutput, Operation, Status, UniqueTag
from tests.conftest import SAMPLE_TOKEN, load_event, nested

PROVISION = Operation.PROVISION_PRODUCT


def test_reference_engine_success_event_is_read() -> None:
    event = parse_completion_event(load_event("provision-succeeded.json"), PROVISION)
    assert event.record_id == "rec-ka2yffz3cwguk"
    assert event.operation is Operation.PROVISION_PRODUCT
    assert event.tracer_tag == UniqueTag(
        key="SERVICE_CATALOG_TERRAFORM_INTEGRATION-DO_NOT_DELETE", value="pp-7v4ekvrx2ydva"
    )
    assert event.outputs[0] == EngineOutput(
        key="bucket_arn", value="arn:aws:s3:::orders", description="ARN of the bucket"
    )
    assert event.engine_error is None


def test_fields_the_package_does_not_use_are_carried() -> None:
    event = parse_completion_event(load_event("provision-succeeded.json"), PROVISION)
    assert event.carried == {"awsAccountId": "111122223333", "provisionedProductName": "orders-bucket"}
    assert event.provisioned_product_id == "pp-7v4ekvrx2ydva"


def test_the_token_is_not_in_the_models_repr() -> None:
    assert SAMPLE_TOKEN not in repr(parse_completion_event(load_event("provision-succeeded.json"), PROVISION))


def test_error_fields_take_precedence_over_error_info() -> None:
    event = parse_completion_event(
        {"token": "t", "recordId": "r", "error": "E", "errorMessage": "M", "errorInfo": {"Error": "X", "Cause": "Y"}},
        PROVISION,
    )
    assert event.engine_error == EngineError(error="E", cause="M")


def test_explicit_status_is_read() -> None:
    assert (
        parse_completion_event({"token": "t", "recordId": "r", "status": "FAILED"}, PROVISION).status is Status.FAILED
    )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"recordId": "r"}, "token: is missing"),
        ({"token": 5, "recordId": "r"}, "token: must be a string"),
        ({"token": "t"}, "recordId: is missing"),
        ({"token": "t", "recordId": "r", "operation": "DELETE"}, "operation: must be one of"),
        ({"token": "t", "recordId": "r", "status": "DONE"}, "status: must be SUCCEEDED or FAILED"),
        ({"token": "t", "recordId": "r", "outputs": "a=b"}, "outputs: must be a list"),
        ({"token": "t", "recordId": "r", "outputs": [["a"]]}, "outputs[0]: must be an object"),
        ({"token": "t", "recordId": "r", "outputs": [{"key": "a"}]}, "outputs[0].value: is missing"),
        ({"token": "t", "recordId": "r", "outputs": [{"key": "", "value": 1}]}, "outputs[0].key: must be a non-empty"),
        ({"token": "t", "recordId": "r", "outputs": [{"key": "a", "value": 1, "description": 2}]}, "description"),
        ({"token": "t", "recordId": "r", "outputs": [{"key": "a", "value": 1, "sensitive": "yes"}]}, "sensitive"),
        ({"token": "t", "recordId": "r", "outputs": {"a": "plain"}}, "outputs.a: must be an object with value"),
        ({"token": "t", "recordId": "r", "tracerTag": "TAG"}, "tracerTag: must be an object"),
        ({"token": "t", "recordId": "r", "tracerTag": {"key": "K"}}, "tracerTag.value: is missing"),
        ({"token": "t", "recordId": "r", "errorInfo": "boom"}, "errorInfo: must be an object"),
        ({"token": "t", "recordId": "r", "failureReason": 3}, "failureReason: must be a string"),
    ],
)
def test_malformed_completion_event_raises_a_named_error_naming_the_field(
    event: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_completion_event(event, PROVISION)


def test_error_message_never_quotes_the_token() -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_completion_event({"token": SAMPLE_TOKEN, "recordId": "r", "operation": SAMPLE_TOKEN}, PROVISION)
    assert SAMPLE_TOKEN not in str(raised.value)


@pytest.mark.parametrize("operation", list(Operation))
def test_entry_point_of_an_operation_fixes_it_for_an_event_that_names_none(operation: Operation) -> None:
    assert parse_completion_event({"token": "t", "recordId": "r"}, operation).operation is operation


@pytest.mark.parametrize("operation", list(Operation))
def test_event_naming_the_operation_of_its_entry_point_is_read(operation: Operation) -> None:
    assert (
        parse_completion_event({"token": "t", "recordId": "r", "operation": operation.value}, operation).operation
        is operation
    )


def test_event_contradicting_its_entry_point_raises_a_named_error_naming_both_operations() -> None:
    event = {"token": "t", "recordId": "r", "operation": "PROVISION_PRODUCT"}
    with pytest.raises(
        InvalidEventError, match=r"PROVISION_PRODUCT contradicts .* reports TERMINATE_PROVISIONED_PRODUCT"
    ):
        parse_completion_event(event, Operation.TERMINATE_PROVISIONED_PRODUCT)


@pytest.mark.parametrize("operation", list(Operation))
def test_generic_entry_point_takes_the_operation_the_event_names(operation: Operation) -> None:
    assert (
        parse_completion_event({"token": "t", "recordId": "r", "operation": operation.value}, None).operation
        is operation
    )


def test_generic_entry_point_refuses_an_event_without_operation_naming_the_entry_points() -> None:
    with pytest.raises(
        InvalidEventError,
        match=r"operation: is missing.*NotifyProvisionResultFunctionArn, NotifyUpdateResultFunctionArn, "
        "NotifyTerminateResultFunctionArn",
    ):
        parse_completion_event({"token": "t", "recordId": "r"}, None)


def test_status_change_event_is_recognised() -> None:
    assert is_status_change(load_event("execution-failed.json"))
    assert not is_status_change(load_event("provision-succeeded.json"))


def test_status_change_event_is_read() -> None:
    change = parse_status_change(load_event("execution-timed-out.json"))
    assert change.status == "TIMED_OUT"
    assert change.engine_error == EngineError(error="States.Timeout", cause="")
    assert change.execution_name == "pp-7v4ekvrx2ydva-rec-t8wq3kzr5nf2c"


def test_workflow_payload_is_read_from_the_execution_input() -> None:
    change = parse_status_change(load_event("execution-timed-out.json"))
    workflow = parse_workflow_payload(change.execution_input, change.execution_arn)
    assert workflow.workflow_token == SAMPLE_TOKEN
    assert workflow.record_id == "rec-t8wq3kzr5nf2c"
    assert workflow.operation is Operation.UPDATE_PROVISIONED_PRODUCT


def test_input_left_out_raises_a_named_error_naming_the_execution() -> None:
    change = parse_status_change(load_event("execution-input-left-out.json"))
    with pytest.raises(InvalidEventError, match=f"execution {change.execution_arn}: its input was left out"):
        parse_workflow_payload(change.execution_input, change.execution_arn)


def test_input_marked_not_included_is_treated_as_left_out() -> None:
    event = load_event("execution-failed.json")
    event["detail"]["inputDetails"]["included"] = False
    assert parse_status_change(event).execution_input is None


@pytest.mark.parametrize(
    ("execution_input", "message"),
    [
        ("not json", "its input is not JSON it can read"),
        ("[1]", "its input is not a JSON object"),
        ('{"recordId": "r"}', "input.token: is missing"),
        ('{"token": "t"}', "input.recordId: is missing"),
        ('{"token": "t", "recordId": "r"}', "input.operation: is missing"),
    ],
)
def test_input_without_token_and_record_id_raises_a_named_error(execution_input: str, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        parse_workflow_payload(execution_input, "arn:aws:states:us-east-1:1:execution:sm:x")


def test_status_change_without_detail_raises_a_named_error() -> None:
    with pytest.raises(InvalidEventError, match="detail: must be an object"):
        parse_status_change({"source": "aws.states", "detail-type": "Step Functions Execution Status Change"})


def test_error_message_nested_deeper_than_json_can_write_is_an_invalid_event() -> None:
    # Found by the fuzzer: a RecursionError escaped the handler.
    with pytest.raises(InvalidEventError, match="errorMessage: nested too deeply"):
        parse_completion_event({"token": "t", "recordId": "r", "errorMessage": nested(100_000)}, PROVISION)


def test_execution_input_nested_deeper_than_json_can_read_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEventError, match="its input is not JSON it can read"):
        parse_workflow_payload("[" * 100_000 + "]" * 100_000, "arn:aws:states:us-east-1:1:execution:sm:x")


@pytest.mark.parametrize("field", ["operation", "status"])
def test_deeply_nested_operation_or_status_is_an_invalid_event_not_a_recursion_error(field: str) -> None:
    # Found by the fuzzer: Enum(value) puts repr(value) in its error, and that repr recursed too deep.
    with pytest.raises(InvalidEventError, match=f"{field}: must be"):
        parse_completion_event({"token": "t", "recordId": "r", field: nested(100_000)}, PROVISION)

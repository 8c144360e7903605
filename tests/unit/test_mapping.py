"""The mapping rules, case by case: pure functions, no I/O."""

from __future__ import annotations

import json

import pytest

from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.events import parse_completion_event, parse_status_change
from engine_result_notifier.mapping import (
    FAILURE_REASON_MAX_LENGTH,
    JSON_LEFT_OUT,
    SENSITIVE_PLACEHOLDER,
    TOKEN_LEFT_OUT,
    TRUNCATION_MARKER,
    clean_failure_text,
    describe_cause,
    failure_reason_for_error,
    failure_reason_for_execution,
    fit_failure_reason,
    idempotency_token,
    known_secrets,
    leave_out_secrets,
    output_value,
    record_outputs,
    request_for_completion,
)
from engine_result_notifier.models import EngineError, EngineOutput, Operation, RecordOutput, Status, UniqueTag
from engine_result_notifier.settings import SensitiveOutputs
from tests.conftest import SAMPLE_TOKEN, load_event, nested

LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "terraform apply exited with 1",
        "errorType": "TerraformApplyError",
        "requestId": "5b4b0a10-8d3e-4d7c-9a57-0c6b8e3a1f21",
        "stackTrace": ['  File "/var/task/apply.py", line 41, in handler\n'],
    }
)


def completion(**fields: object) -> dict[str, object]:
    return {"token": SAMPLE_TOKEN, "recordId": "rec-1", "operation": "PROVISION_PRODUCT", **fields}


def request_for(event: dict[str, object], sensitive: SensitiveOutputs = SensitiveOutputs.REDACT):  # type: ignore[no-untyped-def]
    return request_for_completion(parse_completion_event(event, None), sensitive)


# WorkflowToken, RecordId, status and operation


def test_token_and_record_id_pass_through_unchanged() -> None:
    request = request_for(completion())
    assert request.workflow_token == SAMPLE_TOKEN
    assert request.record_id == "rec-1"


def test_event_without_error_is_succeeded() -> None:
    assert request_for(completion()).status is Status.SUCCEEDED


def test_error_and_error_message_make_a_failed_request() -> None:
    request = request_for(completion(error="States.TaskFailed", errorMessage="boom"))
    assert request.status is Status.FAILED
    assert request.failure_reason == "boom"


def test_catch_result_error_info_makes_a_failed_request() -> None:
    request = request_for(completion(errorInfo={"Error": "States.TaskFailed", "Cause": "apply failed"}))
    assert request.status is Status.FAILED
    assert request.failure_reason == "apply failed"


def test_explicit_status_overrides_the_derived_one() -> None:
    request = request_for(completion(status="FAILED"))
    assert request.status is Status.FAILED
    assert request.failure_reason == "The provisioning workflow failed without reporting an error."


def test_explicit_succeeded_status_sends_no_failure_reason_despite_an_error() -> None:
    request = request_for(completion(status="SUCCEEDED", error="States.TaskFailed", errorMessage="ignored"))
    assert request.status is Status.SUCCEEDED
    assert request.failure_reason is None


def test_explicit_failure_reason_overrides_the_derived_one() -> None:
    request = request_for(completion(error="States.TaskFailed", errorMessage="raw", failureReason="Quota exceeded"))
    assert request.failure_reason == "Quota exceeded"


def test_blank_explicit_failure_reason_falls_back_to_the_derived_one() -> None:
    request = request_for(completion(error="States.Timeout", failureReason=" \u001b[0m "))
    assert request.failure_reason == "The provisioning workflow timed out (States.Timeout)."


@pytest.mark.parametrize("operation", list(Operation))
def test_operation_is_taken_from_the_event(operation: Operation) -> None:
    assert request_for(completion(operation=operation.value)).operation is operation


# ResourceIdentifier


def test_tracer_tag_becomes_the_unique_tag_on_provision() -> None:
    request = request_for(completion(tracerTag={"key": "TAG", "value": "pp-1"}))
    assert request.unique_tag == UniqueTag(key="TAG", value="pp-1")
    assert request.api_parameters()["ResourceIdentifier"] == {"UniqueTag": {"Key": "TAG", "Value": "pp-1"}}


@pytest.mark.parametrize("operation", ["UPDATE_PROVISIONED_PRODUCT", "TERMINATE_PROVISIONED_PRODUCT"])
def test_tracer_tag_is_not_sent_for_update_or_terminate(operation: str) -> None:
    request = request_for(completion(operation=operation, tracerTag={"key": "TAG", "value": "pp-1"}))
    assert "ResourceIdentifier" not in request.api_parameters()


# Outputs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("arn:aws:s3:::orders", "arn:aws:s3:::orders"),
        ([5432, 5433], "[5432,5433]"),
        (True, "true"),
        (2, "2"),
        (1.5, "1.5"),
        ({"a": "b"}, '{"a":"b"}'),
        (None, "null"),
        ("", ""),
        (["é"], '["é"]'),
    ],
)
def test_output_values_are_strings_or_compact_json(value: object, expected: str) -> None:
    assert output_value(value) == expected


def test_listed_outputs_keep_their_descriptions() -> None:
    outputs = record_outputs(
        [EngineOutput(key="arn", value="arn:x", description="ARN of the bucket")], SensitiveOutputs.REDACT
    )
    assert outputs == (RecordOutput(key="arn", value="arn:x", description="ARN of the bucket"),)


def test_terraform_output_map_becomes_record_outputs() -> None:
    event = load_event("provision-succeeded-terraform-outputs.json")
    outputs = request_for(event).api_parameters()["Outputs"]
    assert outputs == [
        {"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders"},
        {"OutputKey": "replica_count", "OutputValue": "2"},
        {"OutputKey": "versioning", "OutputValue": "true"},
        {"OutputKey": "endpoints", "OutputValue": '{"primary":"orders.s3.amazonaws.com"}'},
        {"OutputKey": "admin_password", "OutputValue": SENSITIVE_PLACEHOLDER},
    ]


def test_sensitive_output_is_redacted_by_default() -> None:
    outputs = record_outputs([EngineOutput(key="password", value="hunter2", sensitive=True)], SensitiveOutputs.REDACT)
    assert outputs == (RecordOutput(key="password", value=SENSITIVE_PLACEHOLDER),)


def test_sensitive_output_is_left_out_when_the_setting_says_omit() -> None:
    outputs = record_outputs(
        [EngineOutput(key="password", value="hunter2", sensitive=True), EngineOutput(key="arn", value="arn:x")],
        SensitiveOutputs.OMIT,
    )
    assert outputs == (RecordOutput(key="arn", value="arn:x"),)


def test_sensitive_listed_output_is_redacted_too() -> None:
    request = request_for(completion(outputs=[{"key": "pw", "value": "hunter2", "sensitive": True}]))
    assert request.api_parameters()["Outputs"] == [{"OutputKey": "pw", "OutputValue": SENSITIVE_PLACEHOLDER}]


def test_terminate_sends_no_outputs() -> None:
    request = request_for(completion(operation="TERMINATE_PROVISIONED_PRODUCT", outputs=[{"key": "a", "value": "b"}]))
    assert "Outputs" not in request.api_parameters()


def test_no_outputs_member_when_there_are_none() -> None:
    assert "Outputs" not in request_for(completion()).api_parameters()


# FailureReason


def test_lambda_error_cause_becomes_type_and_message_without_the_stack_trace() -> None:
    assert describe_cause(LAMBDA_CAUSE) == "TerraformApplyError: terraform apply exited with 1"


def test_lambda_error_cause_with_only_a_message_keeps_the_message() -> None:
    assert describe_cause(json.dumps({"errorMessage": "out of memory"})) == "out of memory"


def test_json_cause_that_is_not_a_lambda_error_is_kept_as_text() -> None:
    cause = json.dumps({"detail": "x"})
    assert describe_cause(cause) == cause


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("States.Timeout", "The provisioning workflow timed out (States.Timeout)."),
        ("States.TaskFailed", "A step of the provisioning workflow failed (States.TaskFailed) without saying why."),
        ("Custom.Error", "The provisioning workflow failed with Custom.Error."),
        (None, "The provisioning workflow failed without reporting an error."),
    ],
)
def test_empty_cause_gives_a_default_reason_that_says_what_happened(error: str | None, expected: str) -> None:
    assert failure_reason_for_error(EngineError(error=error, cause=""), {}) == expected


def test_ansi_colour_codes_are_removed() -> None:
    event = load_event("provision-failed.json")
    reason = request_for(event).failure_reason
    assert reason is not None
    assert "\u001b" not in reason
    assert reason == "╷\n│ Error: creating S3 Bucket (orders): BucketAlreadyExists\n│\n╵"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\u0000b\u0007c", "abc"),
        ("tab\tnew\nline\r", "tab\tnew\nline"),
        ("emoji \U0001f600 gone", "emoji  gone"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("\ufffe\uffff kept \ufffd", "kept \ufffd"),
        ("\u001b]0;title\u0007visible", "visible"),
    ],
)
def test_characters_outside_the_api_pattern_are_removed(text: str, expected: str) -> None:
    assert clean_failure_text(text) == expected


def test_long_reason_is_cut_to_the_limit_keeping_the_end_and_marking_the_cut() -> None:
    detail = "head " + "x" * 5000 + " Error: the real error"
    reason = fit_failure_reason("", detail)
    assert len(reason) == FAILURE_REASON_MAX_LENGTH
    assert reason.startswith(TRUNCATION_MARKER)
    assert reason.endswith(" Error: the real error")
    assert "head" not in reason


def test_reason_at_the_limit_is_not_cut() -> None:
    detail = "y" * FAILURE_REASON_MAX_LENGTH
    assert fit_failure_reason("", detail) == detail


def test_cut_keeps_a_prefix_whole() -> None:
    reason = fit_failure_reason("Prefix: ", "z" * 3000)
    assert len(reason) == FAILURE_REASON_MAX_LENGTH
    assert reason.startswith("Prefix: " + TRUNCATION_MARKER)


def test_non_string_error_message_of_plain_values_is_kept_as_json_rather_than_lost() -> None:
    request = request_for(completion(error="States.TaskFailed", errorMessage=[7, "quota"]))
    assert request.failure_reason == '[7,"quota"]'


def test_object_error_message_is_left_out_with_a_note_rather_than_sent() -> None:
    request = request_for(completion(error="States.TaskFailed", errorMessage={"code": 7}))
    assert request.failure_reason == JSON_LEFT_OUT


# Status-change events


def _status_change(status: str, error: str | None = None, cause: str | None = None) -> dict[str, object]:
    event = load_event("execution-failed.json")
    event["detail"].update({"status": status, "error": error, "cause": cause})  # type: ignore[attr-defined]
    return event


def test_timed_out_execution_reason_says_it_timed_out() -> None:
    change = parse_status_change(_status_change("TIMED_OUT", "States.Timeout", ""))
    reason = failure_reason_for_execution(change, {})
    assert reason == (
        f"The engine's execution {change.execution_name} timed out before it notified Service Catalog (States.Timeout)."
    )


def test_aborted_execution_reason_says_it_was_stopped() -> None:
    change = parse_status_change(_status_change("ABORTED"))
    assert "was stopped (aborted) before it notified Service Catalog." in failure_reason_for_execution(change, {})


def test_failed_execution_reason_names_the_error_and_the_cause() -> None:
    change = parse_status_change(_status_change("FAILED", "TerraformApplyError", LAMBDA_CAUSE))
    assert failure_reason_for_execution(change, {}) == (
        f"The engine's execution {change.execution_name} failed before it notified Service Catalog "
        "(TerraformApplyError): TerraformApplyError: terraform apply exited with 1"
    )


def test_failed_execution_reason_is_cut_keeping_what_happened_and_the_end_of_the_cause() -> None:
    change = parse_status_change(_status_change("FAILED", "States.TaskFailed", "a" * 4000 + " the end"))
    reason = failure_reason_for_execution(change, {})
    assert len(reason) == FAILURE_REASON_MAX_LENGTH
    assert reason.startswith(f"The engine's execution {change.execution_name} failed")
    assert reason.endswith(" the end")


# IdempotencyToken


def test_idempotency_token_is_derived_from_operation_and_record_id() -> None:
    assert idempotency_token(Operation.PROVISION_PRODUCT, "rec-1") == "provision-rec-1"
    assert idempotency_token(Operation.UPDATE_PROVISIONED_PRODUCT, "rec-1") == "update-rec-1"
    assert idempotency_token(Operation.TERMINATE_PROVISIONED_PRODUCT, "rec-1") == "terminate-rec-1"


def test_idempotency_token_is_the_same_for_every_attempt() -> None:
    assert request_for(completion()).idempotency_token == request_for(completion()).idempotency_token


def test_explicit_idempotency_token_is_used_as_given() -> None:
    assert request_for(completion(idempotencyToken="engine-run-42")).idempotency_token == "engine-run-42"


def test_output_nested_deeper_than_json_can_write_is_an_invalid_event() -> None:
    # Found by the fuzzer: a RecursionError escaped the handler.
    with pytest.raises(InvalidEventError, match=r"outputs\.k: nested too deeply"):
        output_value(nested(100_000), "k")


def test_failed_execution_reason_stays_within_the_limit_whatever_the_name_and_error() -> None:
    event = _status_change("FAILED", "E" * 5000, "cause")
    event["detail"]["name"] = "n\u0007" * 3000  # type: ignore[index]
    reason = failure_reason_for_execution(parse_status_change(event), {})
    assert len(reason) <= FAILURE_REASON_MAX_LENGTH
    assert "\u0007" not in reason
    assert reason.endswith(": cause")


# No secret in a failure reason: Step Functions' own runtime messages, as ../shared/reference quotes them

PASSWORD = "correct-horse-battery-staple"
STATE_INPUT = json.dumps(
    {
        "token": SAMPLE_TOKEN,
        "operation": "PROVISION_PRODUCT",
        "provisionedProductId": "pp-7v4ekvrx2ydva",
        "recordId": "rec-1",
        "parameters": [{"key": "db_password", "value": PASSWORD}],
    },
    separators=(",", ":"),
)
RUNTIME_ERROR_WHERE = "An error occurred while executing the state 'Send apply command' (entered at the event id #7). "
PATH_NOT_FOUND = (
    "The JSONPath '$.launchRoleArn' specified for the field 'launchRoleArn.$' could not be found in the input "
)


def test_state_input_quoted_by_a_runtime_error_is_left_out_keeping_what_failed_and_where() -> None:
    cause = f"{RUNTIME_ERROR_WHERE}{PATH_NOT_FOUND}'{STATE_INPUT}'"
    request = request_for(completion(token=SAMPLE_TOKEN, error="States.Runtime", errorMessage=cause))
    assert request.failure_reason == f"{RUNTIME_ERROR_WHERE}{PATH_NOT_FOUND}'{JSON_LEFT_OUT}'"


def test_state_input_quoted_by_a_runtime_error_is_left_out_on_the_safety_nets_path_too() -> None:
    event = load_event("execution-failed.json")
    event["detail"].update(error="States.Runtime", cause=f"{RUNTIME_ERROR_WHERE}{PATH_NOT_FOUND}'{STATE_INPUT}'")
    reason = failure_reason_for_execution(parse_status_change(event), known_secrets(SAMPLE_TOKEN))
    assert reason.endswith(f"(States.Runtime): {RUNTIME_ERROR_WHERE}{PATH_NOT_FOUND}'{JSON_LEFT_OUT}'")


def test_parameters_a_task_could_not_start_with_are_left_out() -> None:
    parameters = json.dumps(
        {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f", "Payload": json.loads(STATE_INPUT)}
    )
    cause = f"{RUNTIME_ERROR_WHERE}The Parameters '{parameters}' could not be used to start the Task: [boom]"
    reason = leave_out_secrets(cause, known_secrets(SAMPLE_TOKEN))
    assert (
        reason == f"{RUNTIME_ERROR_WHERE}The Parameters '{JSON_LEFT_OUT}' could not be used to start the Task: [boom]"
    )


def test_state_input_cut_short_inside_its_quotes_is_left_out_to_the_end() -> None:
    cause = f"{PATH_NOT_FOUND}'{STATE_INPUT[:-20]}"
    assert leave_out_secrets(cause, {}) == f"{PATH_NOT_FOUND}'{JSON_LEFT_OUT}"


def test_parameters_list_outside_any_object_is_left_out() -> None:
    cause = f'apply failed with parameters [{{"key":"db_password","value":"{PASSWORD}"}}]'
    assert leave_out_secrets(cause, {}) == f"apply failed with parameters {JSON_LEFT_OUT}"


def test_terraform_addresses_and_lists_of_plain_values_are_kept() -> None:
    cause = 'Error: creating EC2 Instance (aws_instance.web[0]) in module.net.aws_subnet.private["a"]: AZs ["a", "b"]'
    assert leave_out_secrets(cause, known_secrets(SAMPLE_TOKEN)) == cause


def test_workflow_token_quoted_anywhere_is_replaced_in_both_json_forms() -> None:
    token = "QVFJQ0FI/aGZsY3pZ+cnB2bjF="
    escaped = token.replace("/", "\\/")  # as a JSON writer that escapes "/" writes it
    reason = request_for(
        completion(token=token, error="E", errorMessage=f"denied for {token}; body was {escaped}")
    ).failure_reason
    assert reason == f"denied for {TOKEN_LEFT_OUT}; body was {TOKEN_LEFT_OUT}"


@pytest.mark.parametrize(
    ("quoted", "how"),
    [
        ("QVFJQ0FI/aGZsY3pZ", "cut off at its end"),
        ("aGZsY3pZ+cnB2bjF=", "cut off at its start"),
        ("QVFJQ0FI\\u002faGZsY3pZ\\u002bcnB2bjF\\u003d", "escaped as JSON escapes any character"),
        ("QVFJQ0FI%2FaGZsY3pZ%2BcnB2bjF%3D", "escaped as a URL escapes it"),
    ],
)
def test_a_piece_of_the_workflow_token_is_left_out_however_it_is_quoted(quoted: str, how: str) -> None:
    token = "QVFJQ0FI/aGZsY3pZ+cnB2bjF="
    reason = request_for(completion(token=token, error="E", errorMessage=f"denied for {quoted}: retry")).failure_reason
    assert reason == f"denied for {TOKEN_LEFT_OUT}: retry", how


def test_a_run_of_text_that_shares_less_than_a_piece_with_the_token_is_kept() -> None:
    token = "QVFJQ0FI/aGZsY3pZ+cnB2bjF="
    text = f"denied for QVFJQ0FI{'x' * 20}; region us-east-1"
    assert leave_out_secrets(text, known_secrets(token)) == text


def test_token_in_a_lambda_errors_message_is_replaced() -> None:
    cause = json.dumps({"errorType": "ApplyError", "errorMessage": f"bad token {SAMPLE_TOKEN}", "stackTrace": []})
    assert request_for(completion(errorInfo={"Error": "ApplyError", "Cause": cause})).failure_reason == (
        f"ApplyError: bad token {TOKEN_LEFT_OUT}"
    )


def test_explicit_failure_reason_is_held_to_the_same_rule() -> None:
    reason = request_for(completion(status="FAILED", failureReason=f"token {SAMPLE_TOKEN} rejected")).failure_reason
    assert reason == f"token {TOKEN_LEFT_OUT} rejected"


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        (PASSWORD, [PASSWORD]),
        ({"user": "admin-user", "password": PASSWORD}, ["admin-user", PASSWORD]),
        ([PASSWORD, 123456], [PASSWORD, "123456"]),
    ],
)
def test_every_text_of_a_sensitive_output_is_replaced_in_the_reason(value: object, texts: list[str]) -> None:
    outputs = [{"key": "secret", "value": value, "sensitive": True}, {"key": "arn", "value": "arn:aws:s3:::orders"}]
    cause = "failed after outputs: " + ", ".join([*texts, "arn:aws:s3:::orders"])
    reason = request_for(completion(error="E", errorMessage=cause, outputs=outputs)).failure_reason
    assert reason == "failed after outputs: " + ", ".join(
        [SENSITIVE_PLACEHOLDER] * len(texts) + ["arn:aws:s3:::orders"]
    )


def test_sensitive_values_shorter_than_the_minimum_are_not_searched_for() -> None:
    outputs = [{"key": "flag", "value": "on", "sensitive": True}]
    assert request_for(completion(error="E", errorMessage="turned on", outputs=outputs)).failure_reason == "turned on"


def test_a_secret_is_left_out_before_the_cut_so_no_part_of_it_survives() -> None:
    # The token straddles the point where a 2,048-character reason is cut
    cause = "x" * 3000 + SAMPLE_TOKEN + "y" * (FAILURE_REASON_MAX_LENGTH - len(TRUNCATION_MARKER) - 20)
    reason = request_for(completion(error="E", errorMessage=cause)).failure_reason
    assert reason is not None
    assert SAMPLE_TOKEN[-20:] not in reason
    assert len(reason) == FAILURE_REASON_MAX_LENGTH


def test_sensitive_value_nested_deeper_than_python_recurses_is_still_searched() -> None:
    outputs = [{"key": "deep", "value": nested(100_000), "sensitive": True}]
    request = request_for(completion(error="E", errorMessage="no secret here", outputs=outputs))
    assert request.failure_reason == "no secret here"


def test_json_nested_deeper_than_python_reads_is_left_out_with_the_rest_of_the_text() -> None:
    cause = 'broken input {"a":' + "[" * 100_000
    assert leave_out_secrets(cause, {}) == f"broken input {JSON_LEFT_OUT}"


def test_text_that_keeps_looking_like_json_without_being_json_is_left_out_after_a_bound() -> None:
    cause = 'ok {"a":1 ' * 1000
    reason = leave_out_secrets(cause, {})
    assert reason.startswith('ok {"a":1 ' * 256 + "ok ")
    assert reason.endswith(JSON_LEFT_OUT)


def test_a_cause_of_json_text_nested_deeper_than_python_reads_is_text_not_a_lambda_error() -> None:
    # Found by hand (issue: poison input): json.loads raised RecursionError, which no except ValueError catches
    reason = failure_reason_for_error(EngineError("States.TaskFailed", '{"errorType":' + "[" * 50_000), {})
    assert reason == JSON_LEFT_OUT  # text that begins like JSON and is not readable JSON is left out

"""Parse the raw events this function receives into typed models.

Only shape is checked here (presence and JSON types); the API's own constraints are checked on the
request in ``constraints.py``. Every problem raises ``InvalidEventError`` naming the field, never the
field's value: values may be secrets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.json_text import compact_json
from engine_result_notifier.models import (
    CompletionEvent,
    EngineError,
    EngineOutput,
    ExecutionStatusChange,
    Operation,
    Status,
    UniqueTag,
    WorkflowPayload,
)

ENTRY_POINT_OUTPUTS = {
    Operation.PROVISION_PRODUCT: "NotifyProvisionResultFunctionArn",
    Operation.UPDATE_PROVISIONED_PRODUCT: "NotifyUpdateResultFunctionArn",
    Operation.TERMINATE_PROVISIONED_PRODUCT: "NotifyTerminateResultFunctionArn",
}
"""The stack output naming each operation's entry point: the reference engine's substitution of the same name."""

STATUS_CHANGE_SOURCE = "aws.states"
STATUS_CHANGE_DETAIL_TYPE = "Step Functions Execution Status Change"

_OPERATIONS = tuple(operation.value for operation in Operation)
_STATUSES = tuple(status.value for status in Status)
_COMPLETION_FIELDS = frozenset(
    {
        "token",
        "recordId",
        "operation",
        "outputs",
        "tracerTag",
        "error",
        "errorMessage",
        "errorInfo",
        "status",
        "failureReason",
        "idempotencyToken",
        "provisionedProductId",
    }
)


def is_status_change(event: Any) -> bool:
    """Whether the event is a Step Functions status change delivered by EventBridge."""
    return (
        isinstance(event, Mapping)
        and event.get("source") == STATUS_CHANGE_SOURCE
        and event.get("detail-type") == STATUS_CHANGE_DETAIL_TYPE
    )


def parse_completion_event(event: Mapping[str, Any], entry_operation: Operation | None) -> CompletionEvent:
    """Read the engine's completion event (the reference Terraform engine's field names).

    ``entry_operation`` is the operation of the entry point the event was delivered to, or None for the
    generic one. The operation is never guessed: an entry point's own operation, or the event's.
    """
    return CompletionEvent(
        workflow_token=_required_string(event, "token"),
        record_id=_required_string(event, "recordId"),
        operation=_completion_operation(event.get("operation"), entry_operation),
        outputs=_outputs(event.get("outputs")),
        tracer_tag=_tracer_tag(event.get("tracerTag")),
        engine_error=_engine_error(event),
        status=_status(event.get("status")),
        failure_reason=_optional_string(event, "failureReason"),
        idempotency_token=_optional_string(event, "idempotencyToken"),
        provisioned_product_id=_optional_string(event, "provisionedProductId"),
        carried={key: value for key, value in event.items() if key not in _COMPLETION_FIELDS},
    )


def parse_status_change(event: Mapping[str, Any]) -> ExecutionStatusChange:
    """Read a Step Functions "Execution Status Change" event; its input is parsed later, if needed."""
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidEventError("detail: must be an object")
    execution_arn = _required_string(detail, "executionArn", "detail.")
    input_details = detail.get("inputDetails")
    input_included = not (isinstance(input_details, Mapping) and input_details.get("included") is False)
    raw_input = detail.get("input")
    if raw_input is not None and not isinstance(raw_input, str):
        raise InvalidEventError("detail.input: must be a JSON string or null")
    return ExecutionStatusChange(
        execution_arn=execution_arn,
        execution_name=_optional_string(detail, "name", "detail.") or execution_arn.rsplit(":", 1)[-1],
        status=_required_string(detail, "status", "detail."),
        engine_error=EngineError(
            error=_text(detail.get("error"), "detail.error"), cause=_text(detail.get("cause"), "detail.cause")
        ),
        execution_input=raw_input if input_included else None,
        redrive_count=_optional_count(detail, "redriveCount"),
        stop_date=_optional_epoch_millis(detail, "stopDate"),
    )


def _optional_count(detail: Mapping[str, Any], name: str) -> int | None:
    value = detail.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEventError(f"detail.{name}: must be a whole number from 0")
    return value


def _optional_epoch_millis(detail: Mapping[str, Any], name: str) -> datetime | None:
    value = detail.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEventError(f"detail.{name}: must be epoch milliseconds")
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidEventError(f"detail.{name}: must be epoch milliseconds") from None


def parse_workflow_payload(execution_input: str | None, execution_arn: str) -> WorkflowPayload:
    """Read the payload Service Catalog sent to the engine from an execution's input."""
    if execution_input is None:
        raise InvalidEventError(
            f"execution {execution_arn}: its input was left out of the event, so its workflow token and "
            "record id are unknown"
        )
    try:
        payload = json.loads(execution_input)
    except (ValueError, RecursionError):
        raise InvalidEventError(f"execution {execution_arn}: its input is not JSON it can read") from None
    if not isinstance(payload, Mapping):
        raise InvalidEventError(f"execution {execution_arn}: its input is not a JSON object")
    prefix = f"execution {execution_arn}: input."
    return WorkflowPayload(
        workflow_token=_required_string(payload, "token", prefix),
        record_id=_required_string(payload, "recordId", prefix),
        operation=_operation(payload, "operation", prefix),
    )


def _required_string(source: Mapping[str, Any], name: str, prefix: str = "") -> str:
    value = source.get(name)
    if value is None:
        raise InvalidEventError(f"{prefix}{name}: is missing")
    if not isinstance(value, str):
        raise InvalidEventError(f"{prefix}{name}: must be a string")
    return value


def _optional_string(source: Mapping[str, Any], name: str, prefix: str = "") -> str | None:
    value = source.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidEventError(f"{prefix}{name}: must be a string")
    return value


def _operation(source: Mapping[str, Any], name: str, prefix: str = "") -> Operation:
    value = source.get(name)
    if value is None:
        raise InvalidEventError(f"{prefix}{name}: is missing")
    if value not in _OPERATIONS:  # a membership test, not Operation(value): its error message is a repr
        raise InvalidEventError(f"{prefix}{name}: must be one of {', '.join(_OPERATIONS)}")
    return Operation(value)


def _completion_operation(value: Any, entry_operation: Operation | None) -> Operation:
    """The operation a completion event reports: fixed by its entry point, else named by the event."""
    if value is None and entry_operation is not None:
        return entry_operation
    if value is None:
        raise InvalidEventError(
            "operation: is missing, and the generic entry point does not guess it: send operation, or invoke "
            f"the entry point of the operation ({', '.join(ENTRY_POINT_OUTPUTS.values())})"
        )
    operation = _operation({"operation": value}, "operation")
    if entry_operation is not None and operation is not entry_operation:
        raise InvalidEventError(
            f"operation: {operation.value} contradicts this entry point, which reports {entry_operation.value} "
            f"results ({ENTRY_POINT_OUTPUTS[entry_operation]})"
        )
    return operation


def _status(value: Any) -> Status | None:
    if value is None:
        return None
    if value not in _STATUSES:
        raise InvalidEventError("status: must be SUCCEEDED or FAILED")
    return Status(value)


def _text(value: Any, field: str) -> str | None:
    """A failure detail as text: engines put strings there, but anything JSON is kept rather than lost."""
    if value is None or isinstance(value, str):
        return value
    return compact_json(value, field)


def _engine_error(event: Mapping[str, Any]) -> EngineError | None:
    """The failure as ``error`` + ``errorMessage``, or as a Step Functions Catch result ``errorInfo``."""
    error, cause = _text(event.get("error"), "error"), _text(event.get("errorMessage"), "errorMessage")
    if error is not None or cause is not None:
        return EngineError(error=error, cause=cause)
    error_info = event.get("errorInfo")
    if error_info is None:
        return None
    if not isinstance(error_info, Mapping):
        raise InvalidEventError("errorInfo: must be an object with Error and Cause")
    return EngineError(
        error=_text(error_info.get("Error"), "errorInfo.Error"), cause=_text(error_info.get("Cause"), "errorInfo.Cause")
    )


def _tracer_tag(value: Any) -> UniqueTag | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidEventError("tracerTag: must be an object with key and value")
    return UniqueTag(
        key=_required_string(value, "key", "tracerTag."),
        value=_required_string(value, "value", "tracerTag."),
    )


def _outputs(value: Any) -> tuple[EngineOutput, ...]:
    """Outputs as the reference engine's list or as the map ``terraform output -json`` prints."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(_listed_output(item, f"outputs[{index}]") for index, item in enumerate(value))
    if isinstance(value, Mapping):
        return tuple(_terraform_output(name, item) for name, item in value.items())
    raise InvalidEventError("outputs: must be a list of {key, value} or a terraform output -json object")


def _listed_output(item: Any, where: str) -> EngineOutput:
    if not isinstance(item, Mapping):
        raise InvalidEventError(f"{where}: must be an object with key and value")
    if "value" not in item:
        raise InvalidEventError(f"{where}.value: is missing")
    return EngineOutput(
        key=_output_key(item.get("key"), f"{where}.key"),
        value=item["value"],
        description=_optional_string(item, "description", f"{where}."),
        sensitive=_sensitive_flag(item, where),
    )


def _terraform_output(name: Any, item: Any) -> EngineOutput:
    key = _output_key(name, "outputs key")
    where = f"outputs.{key}"
    if not isinstance(item, Mapping) or "value" not in item:
        raise InvalidEventError(f"{where}: must be an object with value, type and sensitive")
    return EngineOutput(
        key=key,
        value=item["value"],
        description=_optional_string(item, "description", f"{where}."),
        sensitive=_sensitive_flag(item, where),
    )


def _output_key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"{where}: must be a non-empty string")
    return value


def _sensitive_flag(item: Mapping[str, Any], where: str) -> bool:
    value = item.get("sensitive", False)
    if not isinstance(value, bool):
        raise InvalidEventError(f"{where}.sensitive: must be true or false")
    return value

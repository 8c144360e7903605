"""Pure functions from the engine's events to the notify request: no I/O, the heart of the package."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from engine_result_notifier.constraints import FAILURE_REASON_MAX_LENGTH
from engine_result_notifier.json_text import compact_json
from engine_result_notifier.models import (
    CompletionEvent,
    EngineError,
    EngineOutput,
    ExecutionStatusChange,
    NotifyRequest,
    Operation,
    RecordOutput,
    Status,
    WorkflowPayload,
)
from engine_result_notifier.settings import SensitiveOutputs

SENSITIVE_PLACEHOLDER = "<sensitive>"
"""What a sensitive output's value becomes when sensitive outputs are redacted."""

TRUNCATION_MARKER = "[truncated] "
"""Put where a failure reason was cut: the head goes, the end (where Terraform's real error is) stays."""

FAILED_EXECUTION_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
"""Execution statuses the safety net notifies as a failed workflow; any other status is ignored."""

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
_OUTSIDE_FAILURE_REASON_PATTERN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd]")

_DEFAULT_REASONS = {
    "States.Timeout": "The provisioning workflow timed out (States.Timeout).",
    "States.HeartbeatTimeout": (
        "A step of the provisioning workflow stopped sending heartbeats (States.HeartbeatTimeout)."
    ),
    "States.TaskFailed": "A step of the provisioning workflow failed (States.TaskFailed) without saying why.",
    "States.Runtime": "The provisioning workflow stopped on a runtime error (States.Runtime).",
}
_NO_ERROR_REASON = "The provisioning workflow failed without reporting an error."

_EXECUTION_ENDINGS = {
    "FAILED": "failed",
    "TIMED_OUT": "timed out",
    "ABORTED": "was stopped (aborted)",
}

_EXECUTION_NAME_MAX_LENGTH = 80
_ERROR_NAME_MAX_LENGTH = 256

_TOKEN_PREFIXES = {
    Operation.PROVISION_PRODUCT: "provision",
    Operation.UPDATE_PROVISIONED_PRODUCT: "update",
    Operation.TERMINATE_PROVISIONED_PRODUCT: "terminate",
}


def request_for_completion(event: CompletionEvent, sensitive_outputs: SensitiveOutputs) -> NotifyRequest:
    """The notify request for the engine's completion event (not yet checked against the API's constraints)."""
    status = event.status or (Status.SUCCEEDED if event.engine_error is None else Status.FAILED)
    failure_reason = None
    if status is Status.FAILED:
        derived = failure_reason_for_error(event.engine_error)
        failure_reason = fit_failure_reason("", event.failure_reason or "", default=derived)
    return NotifyRequest(
        operation=event.operation,
        workflow_token=event.workflow_token,
        record_id=event.record_id,
        status=status,
        idempotency_token=event.idempotency_token or idempotency_token(event.operation, event.record_id),
        failure_reason=failure_reason,
        outputs=record_outputs(event.outputs, sensitive_outputs),
        unique_tag=event.tracer_tag if event.operation is Operation.PROVISION_PRODUCT else None,
    )


def request_for_failed_execution(change: ExecutionStatusChange, workflow: WorkflowPayload) -> NotifyRequest:
    """The FAILED notification for an engine execution that ended before it notified."""
    return NotifyRequest(
        operation=workflow.operation,
        workflow_token=workflow.workflow_token,
        record_id=workflow.record_id,
        status=Status.FAILED,
        idempotency_token=idempotency_token(workflow.operation, workflow.record_id),
        failure_reason=failure_reason_for_execution(change),
    )


def idempotency_token(operation: Operation, record_id: str) -> str:
    """The same token on every attempt of the same notification: derived, never random."""
    return f"{_TOKEN_PREFIXES[operation]}-{record_id}"


def record_outputs(outputs: Iterable[EngineOutput], sensitive_outputs: SensitiveOutputs) -> tuple[RecordOutput, ...]:
    """The engine's outputs as Service Catalog record outputs, sensitive values never in clear."""
    return tuple(
        RecordOutput(
            key=output.key,
            value=SENSITIVE_PLACEHOLDER if output.sensitive else output_value(output.value, output.key),
            description=output.description,
        )
        for output in outputs
        if not (output.sensitive and sensitive_outputs is SensitiveOutputs.OMIT)
    )


def output_value(value: Any, key: str = "value") -> str:
    """A string as it is; any other JSON value as compact JSON (``[5432,5433]``, ``true``), never a repr."""
    if isinstance(value, str):
        return value
    return compact_json(value, f"outputs.{key}")


def failure_reason_for_error(engine_error: EngineError | None) -> str:
    """The reason for a failed workflow: the cause when there is one, else a default that says what happened."""
    error = engine_error.error if engine_error else None
    cause = engine_error.cause if engine_error else None
    return fit_failure_reason("", describe_cause(cause), default=_default_reason(error))


def failure_reason_for_execution(change: ExecutionStatusChange) -> str:
    """The reason for an execution that ended before it notified: what happened to it, then its cause."""
    ending = _EXECUTION_ENDINGS.get(change.status, change.status.lower())
    # Step Functions names are at most 80 characters and errors at most 256: anything longer is not theirs.
    name = clean_failure_text(change.execution_name)[:_EXECUTION_NAME_MAX_LENGTH]
    error = clean_failure_text(change.engine_error.error or "")[:_ERROR_NAME_MAX_LENGTH]
    prefix = f"The engine's execution {name} {ending} before it notified Service Catalog"
    if error:
        prefix += f" ({error})"
    detail = describe_cause(change.engine_error.cause)
    return fit_failure_reason(f"{prefix}: ", detail, default=f"{prefix}.")


def describe_cause(cause: str | None) -> str:
    """A Step Functions ``Cause`` as text; a Lambda error's JSON becomes ``errorType: errorMessage``."""
    if not cause:
        return ""
    lambda_error = _lambda_error(cause)
    if lambda_error is None:
        return cause
    error_type, error_message = lambda_error
    if error_type and error_message:
        return f"{error_type}: {error_message}"
    return error_type or error_message


def clean_failure_text(text: str) -> str:
    """Remove ANSI colour codes and every character the API's FailureReason pattern does not allow."""
    return _OUTSIDE_FAILURE_REASON_PATTERN.sub("", _ANSI_ESCAPE.sub("", text)).strip()


def fit_failure_reason(prefix: str, detail: str, default: str = _NO_ERROR_REASON) -> str:
    """``prefix + detail``, cleaned and cut to the API's limit by dropping the head of ``detail``.

    ``prefix`` (short, written by this package) is kept whole; an empty detail gives ``default``.
    """
    detail = clean_failure_text(detail)
    if not detail:
        return clean_failure_text(default)[-FAILURE_REASON_MAX_LENGTH:]
    room = FAILURE_REASON_MAX_LENGTH - len(prefix)
    if len(detail) > room:
        detail = TRUNCATION_MARKER + detail[len(detail) - room + len(TRUNCATION_MARKER) :]
    return prefix + detail


def _default_reason(error: str | None) -> str:
    if not error:
        return _NO_ERROR_REASON
    return _DEFAULT_REASONS.get(error, f"The provisioning workflow failed with {error}.")


def _lambda_error(cause: str) -> tuple[str, str] | None:
    """``(errorType, errorMessage)`` when the cause is the JSON Step Functions makes of a Lambda error."""
    if not cause.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not ({"errorType", "errorMessage"} & parsed.keys()):
        return None
    error_type, error_message = parsed.get("errorType"), parsed.get("errorMessage")
    return (
        error_type if isinstance(error_type, str) else "",
        error_message if isinstance(error_message, str) else "",
    )

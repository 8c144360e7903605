"""Pure functions from the engine's events to the notify request: no I/O, the heart of the package."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine_result_notifier.constraints import FAILURE_REASON_MAX_LENGTH, NOT_IN_FAILURE_REASON
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

JSON_LEFT_OUT = "<JSON left out: it may quote the workflow token or parameters>"
"""What a JSON object (or array of objects) in a failure reason becomes. Step Functions' own runtime errors quote
the state's whole input this way (``... could not be found in the input '{"token":...,"parameters":[...]}'``)."""

TOKEN_LEFT_OUT = "<workflow token>"  # noqa: S105 (a placeholder, not a secret)
"""What the workflow token becomes wherever a failure reason would quote it."""

SECRET_MIN_LENGTH = 4
"""Known secrets shorter than this are not searched for: they cannot be told apart from ordinary text."""

TOKEN_PIECE_LENGTH = 12
"""A piece of the workflow token this long, anywhere in a failure reason, is the token quoted: engines also quote it
cut off, or escaped as JSON or a URL writes it, and such a piece goes as the whole token does."""

Secrets = Mapping[str, str]
"""Texts that must never appear in a failure reason, each with what stands in its place."""

FAILED_EXECUTION_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
"""Execution statuses the safety net notifies as a failed workflow; any other status is ignored."""

_JSON_START = re.compile(r'(?:\[\s*)?\{\s*"(?:[^"\\]|\\.)*"\s*:')
"""Where a JSON object (``{"key":``), or an array of them, may start; arrays of plain values are not looked at."""
_MAX_NOT_JSON = 256
"""Candidates that turn out not to be JSON before the rest of a text is left out (each costs a parse attempt)."""
_JSON_DECODER = json.JSONDecoder()
_TOKEN_TEXT = re.compile(r"(?:[0-9A-Za-z+/=]|\\/|\\u00(?:2[bBfF]|3[dD])|%(?:2[bBfF]|3[dD]))+")
"""A run of the workflow token's alphabet (``[0-9A-Za-z+/=]``) as text, JSON (``\\/``, ``\\u003d``) or a URL
(``%2F``) writes it."""
_TOKEN_ESCAPE = re.compile(r"\\/|\\u00(?:2[bBfF]|3[dD])|%(?:2[bBfF]|3[dD])")
_UNESCAPED = {"\\/": "/", "\\u002b": "+", "\\u002f": "/", "\\u003d": "=", "%2b": "+", "%2f": "/", "%3d": "="}
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")

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
        secrets = known_secrets(event.workflow_token, event.outputs)
        derived = failure_reason_for_error(event.engine_error, secrets)
        failure_reason = fit_failure_reason("", event.failure_reason or "", default=derived, secrets=secrets)
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


def request_for_failed_execution(
    change: ExecutionStatusChange, workflow: WorkflowPayload, *, history_kept: bool = True
) -> NotifyRequest:
    """The FAILED notification for an engine execution that ended before it notified (or, its history no longer
    kept, that may have: the reason says so)."""
    secrets = known_secrets(workflow.workflow_token)
    if history_kept:
        reason = failure_reason_for_execution(change, secrets)
    else:
        reason = _execution_reason(
            change, "; its history is no longer kept, so what it reported is unknown", change.engine_error, secrets
        )
    return _failed(workflow, reason)


def request_for_refused_notification(
    change: ExecutionStatusChange, workflow: WorkflowPayload, refusal: EngineError
) -> NotifyRequest:
    """The FAILED notification for an engine execution whose own notification was refused (``refusal``: the notify
    task's terminal error, or why its payload could not make a request)."""
    reason = _execution_reason(
        change, ": its own notification was refused", refusal, known_secrets(workflow.workflow_token)
    )
    return _failed(workflow, reason)


def _failed(workflow: WorkflowPayload, failure_reason: str) -> NotifyRequest:
    return NotifyRequest(
        operation=workflow.operation,
        workflow_token=workflow.workflow_token,
        record_id=workflow.record_id,
        status=Status.FAILED,
        idempotency_token=idempotency_token(workflow.operation, workflow.record_id),
        failure_reason=failure_reason,
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


def failure_reason_for_error(engine_error: EngineError | None, secrets: Secrets) -> str:
    """The reason for a failed workflow: the cause when there is one, else a default that says what happened."""
    error = engine_error.error if engine_error else None
    cause = engine_error.cause if engine_error else None
    return fit_failure_reason("", describe_cause(cause), default=_default_reason(error), secrets=secrets)


def failure_reason_for_execution(change: ExecutionStatusChange, secrets: Secrets) -> str:
    """The reason for an execution that ended before it notified: what happened to it, then its cause."""
    return _execution_reason(change, " before it notified Service Catalog", change.engine_error, secrets)


def _execution_reason(change: ExecutionStatusChange, what: str, engine_error: EngineError, secrets: Secrets) -> str:
    """``The engine's execution <name> <ended><what> (<error>): <cause>``, cleaned, without secrets, cut."""
    ending = _EXECUTION_ENDINGS.get(change.status, change.status.lower())
    # Step Functions names are at most 80 characters and errors at most 256: anything longer is not theirs.
    name = clean_failure_text(change.execution_name)[:_EXECUTION_NAME_MAX_LENGTH]
    error = clean_failure_text(engine_error.error or "")[:_ERROR_NAME_MAX_LENGTH]
    prefix = f"The engine's execution {name} {ending}{what}"
    if error:
        prefix += f" ({error})"
    detail = describe_cause(engine_error.cause)
    return fit_failure_reason(f"{prefix}: ", detail, default=f"{prefix}.", secrets=secrets)


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
    return NOT_IN_FAILURE_REASON.sub("", _ANSI_ESCAPE.sub("", text)).strip()


def fit_failure_reason(
    prefix: str, detail: str, default: str = _NO_ERROR_REASON, secrets: Secrets | None = None
) -> str:
    """``prefix + detail``, cleaned, with what may be secret left out, and cut to the API's limit by dropping the
    head of ``detail``.

    ``prefix`` (short, written by this package) is kept whole; an empty detail gives ``default``. Secrets are left
    out before the cut, so that no cut can leave half of one.
    """
    secrets = secrets or {}
    prefix = leave_out_secrets(prefix, secrets)
    detail = leave_out_secrets(clean_failure_text(detail), secrets)
    if not detail:
        return leave_out_secrets(clean_failure_text(default), secrets)[-FAILURE_REASON_MAX_LENGTH:]
    room = FAILURE_REASON_MAX_LENGTH - len(prefix)
    if len(detail) > room:
        detail = TRUNCATION_MARKER + detail[len(detail) - room + len(TRUNCATION_MARKER) :]
    return prefix + detail


def known_secrets(workflow_token: str, outputs: Iterable[EngineOutput] = ()) -> dict[str, str]:
    """The workflow token and every value an output marks sensitive (each text within a structured value), with
    what stands in for each in a failure reason."""
    secrets = {text: SENSITIVE_PLACEHOLDER for output in outputs if output.sensitive for text in _texts(output.value)}
    # JSON may escape "/" as "\/": the token is searched for in both forms.
    secrets.update(dict.fromkeys({workflow_token, workflow_token.replace("/", "\\/")}, TOKEN_LEFT_OUT))
    return {text: replacement for text, replacement in secrets.items() if len(text) >= SECRET_MIN_LENGTH}


def leave_out_secrets(text: str, secrets: Secrets) -> str:
    """The text with every JSON object (and array of objects) in it left out, and every known secret replaced.

    JSON objects go whatever the wording around them: Step Functions quotes the state input (workflow token and
    parameters, passwords among them) in more runtime messages than can be listed, and a state's data has no
    place in a failure reason anyway. What failed and where (state, path, field) is plain text and stays, and so
    do arrays of plain values, which Terraform addresses are made of (``aws_instance.web[0]``, ``["key"]``).
    """
    text = _leave_out_json(text)
    if not secrets:
        return text
    pattern = re.compile("|".join(re.escape(secret) for secret in sorted(secrets, key=len, reverse=True)))
    text = pattern.sub(lambda found: secrets[found.group(0)], text)
    for secret, replacement in secrets.items():
        if replacement == TOKEN_LEFT_OUT and "\\" not in secret:
            text = _leave_out_token_pieces(text, secret)
    return text


def _leave_out_token_pieces(text: str, workflow_token: str) -> str:
    """The text with every run of the token's alphabet that holds a piece of the token (``TOKEN_PIECE_LENGTH`` long,
    once unescaped) left out whole: the token cut off, or escaped, is as secret as the token."""
    pieces = _token_pieces(workflow_token)
    if not pieces:
        return text

    def left_out(found: re.Match[str]) -> str:
        run = _TOKEN_ESCAPE.sub(lambda escape: _UNESCAPED[escape.group(0).lower()], found.group(0))
        quoted = any(run[at : at + TOKEN_PIECE_LENGTH] in pieces for at in range(len(run) - TOKEN_PIECE_LENGTH + 1))
        return TOKEN_LEFT_OUT if quoted else found.group(0)

    return _TOKEN_TEXT.sub(left_out, text)


@functools.lru_cache(maxsize=4)
def _token_pieces(workflow_token: str) -> frozenset[str]:
    """Every piece of the token ``TOKEN_PIECE_LENGTH`` long (none for a shorter token: it is searched for whole)."""
    return frozenset(
        workflow_token[at : at + TOKEN_PIECE_LENGTH] for at in range(len(workflow_token) - TOKEN_PIECE_LENGTH + 1)
    )


def _leave_out_json(text: str) -> str:
    pieces: list[str] = []
    kept_from = 0
    not_json = 0
    for found in _JSON_START.finditer(text):
        start = found.start()
        if start < kept_from:
            continue
        end = _json_end(text, start)
        if end is None:
            not_json += 1
            if not_json <= _MAX_NOT_JSON:
                continue
            end = len(text)  # text that keeps looking like JSON without being JSON is no message: the rest goes
        pieces += [text[kept_from:start], JSON_LEFT_OUT]
        kept_from = end
    return "".join([*pieces, text[kept_from:]])


def _json_end(text: str, start: int) -> int | None:
    """Where the JSON object (or array of objects) starting at ``start`` ends; None if there is none."""
    try:
        _, end = _JSON_DECODER.raw_decode(text, start)
    except RecursionError:
        return len(text)  # nested deeper than Python reads: nothing after it is a message
    except ValueError:
        # Quoted as Step Functions quotes the input, begun like JSON, but cut: up to the closing quote.
        if start and text[start - 1] == "'":
            closing = text.rfind("'", start)
            return closing if closing > start else len(text)
        return None
    return end


def _texts(value: Any) -> Iterator[str]:
    """Every string and number within a JSON value, without recursion (a value may be nested very deeply)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, int | float) and not isinstance(item, bool):
            yield json.dumps(item)
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


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
    except (ValueError, RecursionError):  # nested deeper than Python reads: text, not a Lambda error
        return None
    if not isinstance(parsed, dict) or not ({"errorType", "errorMessage"} & parsed.keys()):
        return None
    error_type, error_message = parsed.get("errorType"), parsed.get("errorMessage")
    return (
        error_type if isinstance(error_type, str) else "",
        error_message if isinstance(error_message, str) else "",
    )

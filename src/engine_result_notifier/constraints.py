"""Every constraint the API puts on a notify request, checked before the call; the ARN and id patterns.

botocore checks only required members, types and minimum lengths; the service rejects the rest
(maximum lengths, patterns, the status enum). ``tests/unit/test_constraints.py`` holds these numbers
against botocore's own service model so they cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata

from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.models import NotifyRequest, Status

WORKFLOW_TOKEN_MAX_LENGTH = 20000
RECORD_ID_MAX_LENGTH = 100
FAILURE_REASON_MAX_LENGTH = 2048
UNIQUE_TAG_KEY_MAX_LENGTH = 128
UNIQUE_TAG_VALUE_MAX_LENGTH = 256
IDEMPOTENCY_TOKEN_MAX_LENGTH = 128

RECORD_ID = re.compile(rf"[a-zA-Z0-9_\-]{{1,{RECORD_ID_MAX_LENGTH}}}")
"""A record id as the API takes it (``rec-...``)."""
_STEP_FUNCTIONS_NAME = "[A-Za-z0-9_-]{1,80}"
STATE_MACHINE_ARN = re.compile(rf"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{{12}}:stateMachine:{_STEP_FUNCTIONS_NAME}")
"""A state machine's ARN, as the settings take the engine's."""
EXECUTION_ARN = re.compile(
    rf"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{{12}}:execution:{_STEP_FUNCTIONS_NAME}:{_STEP_FUNCTIONS_NAME}"
)
"""A standard execution's ARN, as the operators' rescue takes it."""


def state_machine_arn(execution_arn: str) -> str:
    """The ARN of an execution's state machine: ``...:execution:<state machine>:<name>`` to
    ``...:stateMachine:<state machine>``."""
    prefix, _, rest = execution_arn.partition(":execution:")
    return f"{prefix}:stateMachine:{rest.split(':', 1)[0]}"


def execution_arn(state_machine: str, name: str) -> str:
    """The ARN of a state machine's execution of this name."""
    return f"{state_machine.replace(':stateMachine:', ':execution:', 1)}:{name}"


_WORKFLOW_TOKEN = re.compile(r"[0-9A-Za-z+/=]+")
_IDEMPOTENCY_TOKEN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]*")
NOT_IN_FAILURE_REASON = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff\U00010000-\U0010ffff]")
"""A character the API's ``FailureReason`` pattern leaves out (botocore's model has the pattern): written as its
complement, which compiles in a twentieth of the time (every cold start compiles it)."""
_UNIQUE_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def check_request(request: NotifyRequest) -> NotifyRequest:
    """Return the request unchanged if the service would accept it, else raise ``InvalidEventError``."""
    _check("WorkflowToken", request.workflow_token, WORKFLOW_TOKEN_MAX_LENGTH, _WORKFLOW_TOKEN, "[0-9A-Za-z+/=]")
    _check("RecordId", request.record_id, RECORD_ID_MAX_LENGTH, RECORD_ID, "[a-zA-Z0-9_-]")
    _check(
        "IdempotencyToken",
        request.idempotency_token,
        IDEMPOTENCY_TOKEN_MAX_LENGTH,
        _IDEMPOTENCY_TOKEN,
        "[a-zA-Z0-9_-], starting with a letter or digit",
    )
    if request.status not in (Status.SUCCEEDED, Status.FAILED):
        raise InvalidEventError("Status: must be SUCCEEDED or FAILED")
    if request.failure_reason is not None:
        _check_length("FailureReason", request.failure_reason, FAILURE_REASON_MAX_LENGTH)
        if NOT_IN_FAILURE_REASON.search(request.failure_reason) is not None:
            raise InvalidEventError(
                "FailureReason: may only hold tab, newline and printable characters of the Basic Multilingual Plane"
            )
    if request.unique_tag is not None:
        _check_unique_tag("ResourceIdentifier.UniqueTag.Key", request.unique_tag.key, UNIQUE_TAG_KEY_MAX_LENGTH)
        _check_unique_tag("ResourceIdentifier.UniqueTag.Value", request.unique_tag.value, UNIQUE_TAG_VALUE_MAX_LENGTH)
    for index, output in enumerate(request.outputs):
        _check_encodable(f"Outputs[{index}].OutputKey", output.key)
        _check_encodable(f"Outputs[{index}].OutputValue", output.value)
        if output.description is not None:
            _check_encodable(f"Outputs[{index}].Description", output.description)
    return request


def _check(member: str, value: str, max_length: int, pattern: re.Pattern[str], allowed: str) -> None:
    _check_length(member, value, max_length)
    if pattern.fullmatch(value) is None:
        raise InvalidEventError(f"{member}: may only hold {allowed}")


def _check_length(member: str, value: str, max_length: int) -> None:
    if not 1 <= len(value) <= max_length:
        raise InvalidEventError(f"{member}: must be 1 to {max_length} characters long, got {len(value)}")


def _check_unique_tag(member: str, value: str, max_length: int) -> None:
    """``^([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)$``: letters, separators, numbers and a little punctuation."""
    _check_length(member, value, max_length)
    if not all(_is_unique_tag_character(character) for character in value):
        raise InvalidEventError(f"{member}: may only hold letters, numbers, spaces and _.:/=+-@")


def _is_unique_tag_character(character: str) -> bool:
    return character in _UNIQUE_TAG_PUNCTUATION or unicodedata.category(character)[0] in "LZN"


def _check_encodable(member: str, value: str) -> None:
    """Members without a modelled pattern still have to be valid Unicode text (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEventError(f"{member}: holds a lone surrogate, which is not valid Unicode text") from None

"""The API's constraints, checked before the call, and held against botocore's own service model."""

from __future__ import annotations

import re
import sys

import botocore.session
import pytest

from engine_result_notifier import constraints
from engine_result_notifier.constraints import check_request
from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.models import NotifyRequest, Operation, RecordOutput, Status, UniqueTag
from tests.conftest import SAMPLE_TOKEN

VALID = NotifyRequest(
    operation=Operation.PROVISION_PRODUCT,
    workflow_token=SAMPLE_TOKEN,
    record_id="rec-ka2yffz3cwguk",
    status=Status.FAILED,
    idempotency_token="provision-rec-ka2yffz3cwguk",
    failure_reason="Error: BucketAlreadyExists",
    outputs=(RecordOutput(key="arn", value="arn:aws:s3:::orders", description="ARN"),),
    unique_tag=UniqueTag(key="SERVICE_CATALOG_TERRAFORM_INTEGRATION-DO_NOT_DELETE", value="pp-7v4ekvrx2ydva"),
)


def change(**fields: object) -> NotifyRequest:
    from dataclasses import replace  # noqa: PLC0415

    return replace(VALID, **fields)  # type: ignore[arg-type]


def test_valid_request_passes_unchanged() -> None:
    assert check_request(VALID) is VALID


@pytest.mark.parametrize(
    ("request_", "member"),
    [
        (change(workflow_token=""), "WorkflowToken"),
        (change(workflow_token="a" * 20001), "WorkflowToken"),
        (change(workflow_token="abc def"), "WorkflowToken"),
        (change(record_id=""), "RecordId"),
        (change(record_id="r" * 101), "RecordId"),
        (change(record_id="rec/!!"), "RecordId"),
        (change(idempotency_token="-starts-with-dash"), "IdempotencyToken"),
        (change(idempotency_token="t" * 129), "IdempotencyToken"),
        (change(failure_reason=""), "FailureReason"),
        (change(failure_reason="x" * 2049), "FailureReason"),
        (change(failure_reason="bell \u0007"), "FailureReason"),
        (change(unique_tag=UniqueTag(key="", value="v")), "ResourceIdentifier.UniqueTag.Key"),
        (change(unique_tag=UniqueTag(key="k" * 129, value="v")), "ResourceIdentifier.UniqueTag.Key"),
        (change(unique_tag=UniqueTag(key="k", value="v" * 257)), "ResourceIdentifier.UniqueTag.Value"),
        (change(unique_tag=UniqueTag(key="k", value="semi;colon")), "ResourceIdentifier.UniqueTag.Value"),
        (change(outputs=(RecordOutput(key="k", value="\ud800"),)), r"Outputs\[0\].OutputValue"),
    ],
)
def test_request_the_service_would_reject_raises_a_named_error(request_: NotifyRequest, member: str) -> None:
    with pytest.raises(InvalidEventError, match=member):
        check_request(request_)


def test_status_outside_the_enum_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="Status"):
        check_request(change(status="DONE"))


def test_values_at_the_limits_pass() -> None:
    check_request(
        change(
            workflow_token="a" * 20000,
            record_id="r" * 100,
            idempotency_token="t" * 128,
            failure_reason="x" * 2048,
            unique_tag=UniqueTag(key="k" * 128, value="Ünïcödé letters 123 _.:/=+-@" + "v" * 228),
        )
    )


def test_error_message_never_quotes_the_token() -> None:
    with pytest.raises(InvalidEventError) as raised:
        check_request(change(workflow_token=SAMPLE_TOKEN + " !"))
    assert SAMPLE_TOKEN not in str(raised.value)


@pytest.mark.parametrize(
    ("shape", "maximum"),
    [
        ("EngineWorkflowToken", constraints.WORKFLOW_TOKEN_MAX_LENGTH),
        ("Id", constraints.RECORD_ID_MAX_LENGTH),
        ("EngineWorkflowFailureReason", constraints.FAILURE_REASON_MAX_LENGTH),
        ("UniqueTagKey", constraints.UNIQUE_TAG_KEY_MAX_LENGTH),
        ("UniqueTagValue", constraints.UNIQUE_TAG_VALUE_MAX_LENGTH),
        ("IdempotencyToken", constraints.IDEMPOTENCY_TOKEN_MAX_LENGTH),
    ],
)
def test_maximum_lengths_match_botocores_service_model(shape: str, maximum: int) -> None:
    model = botocore.session.get_session().get_service_model("servicecatalog")
    metadata = model.shape_for(shape).metadata
    assert metadata["max"] == maximum
    assert metadata["min"] == 1


def test_status_enum_matches_botocores_service_model() -> None:
    model = botocore.session.get_session().get_service_model("servicecatalog")
    assert model.shape_for("EngineWorkflowStatus").enum == [status.value for status in Status]


def test_the_failure_reason_check_leaves_out_exactly_what_botocores_pattern_leaves_out() -> None:
    # Given the API's pattern for FailureReason, from botocore's service model, as Python reads it
    model = botocore.session.get_session().get_service_model("servicecatalog")
    pattern = model.shape_for("EngineWorkflowFailureReason").metadata["pattern"]
    allowed = re.compile(pattern.encode("ascii").decode("unicode_escape"))
    # Then every code point the pattern does not allow is the one the check finds, and no other
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    refused_by_the_api = {character for character in every_character if allowed.fullmatch(character) is None}
    assert set(constraints.NOT_IN_FAILURE_REASON.findall(every_character)) == refused_by_the_api

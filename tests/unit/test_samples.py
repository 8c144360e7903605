"""The samples in events/ are the shapes their senders send, and each names the function it is for."""

from __future__ import annotations

import pytest

from local_aws.template import functions
from tests.conftest import EVENTS, SAMPLE_FUNCTIONS, TEMPLATE, load_event

# The reference Terraform engine's six notify tasks, field for field (../shared/reference/engine-events.md,
# section 2): what each sends, and so what each leaves out (most send no operation).
REFERENCE_ENGINE_TASKS = {
    "provision-succeeded.json": {
        "token", "awsAccountId", "provisionedProductId", "provisionedProductName", "recordId", "outputs", "tracerTag",
    },
    "provision-failed.json": {
        "token", "awsAccountId", "provisionedProductId", "provisionedProductName", "operation", "recordId", "error",
        "errorMessage", "tracerTag",
    },
    "update-succeeded.json": {
        "token", "awsAccountId", "provisionedProductId", "provisionedProductName", "recordId", "outputs",
    },
    "update-failed.json": {
        "token", "awsAccountId", "provisionedProductId", "provisionedProductName", "recordId", "error", "errorMessage",
    },
    "terminate-succeeded.json": {
        "token", "awsAccountId", "provisionedProductId", "provisionedProductName", "recordId",
    },
    "terminate-failed.json": {
        "token", "awsAccountId", "provisionedProductId", "provisionedProductName", "recordId", "error", "errorMessage",
    },
}  # fmt: skip
REFERENCE_ENGINE_FUNCTIONS = {
    "provision": "NotifyProvisionResultFunction",
    "update": "NotifyUpdateResultFunction",
    "terminate": "NotifyTerminateResultFunction",
}
SAMPLES = sorted(path.name for path in EVENTS.glob("*.json") if path.name != "env.json")


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_names_a_function_of_the_template(sample: str) -> None:
    assert SAMPLE_FUNCTIONS[sample] in functions(TEMPLATE)


@pytest.mark.parametrize("sample", sorted(set(REFERENCE_ENGINE_TASKS) & set(SAMPLES)))
def test_reference_engine_sample_has_exactly_the_fields_its_task_sends(sample: str) -> None:
    assert set(load_event(sample)) == REFERENCE_ENGINE_TASKS[sample]


@pytest.mark.parametrize("sample", sorted(set(REFERENCE_ENGINE_TASKS) & set(SAMPLES)))
def test_reference_engine_sample_is_delivered_to_the_entry_point_its_task_invokes(sample: str) -> None:
    assert SAMPLE_FUNCTIONS[sample] == REFERENCE_ENGINE_FUNCTIONS[sample.split("-", 1)[0]]


def test_every_reference_engine_task_has_its_sample() -> None:
    assert set(REFERENCE_ENGINE_TASKS) <= set(SAMPLES)

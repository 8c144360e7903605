"""The samples in events/ are the shapes their senders send, and each names the function it is for."""

from __future__ import annotations

import pytest

from local_aws.template import functions
from tests.conftest import EVENTS, SAMPLE_FUNCTIONS, TEMPLATE, load_event
from tests.reference_engine import NOTIFY_TASKS

REFERENCE_ENGINE_FUNCTIONS = {
    "NotifyProvisionResultFunctionArn": "NotifyProvisionResultFunction",
    "NotifyUpdateResultFunctionArn": "NotifyUpdateResultFunction",
    "NotifyTerminateResultFunctionArn": "NotifyTerminateResultFunction",
}
REFERENCE_ENGINE_SAMPLES = {f"{task}.json": spec for task, spec in NOTIFY_TASKS.items()}
SAMPLES = sorted(path.name for path in EVENTS.glob("*.json") if path.name != "env.json")


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_names_a_function_of_the_template(sample: str) -> None:
    assert SAMPLE_FUNCTIONS[sample] in functions(TEMPLATE)


@pytest.mark.parametrize("sample", sorted(REFERENCE_ENGINE_SAMPLES))
def test_reference_engine_sample_has_exactly_the_fields_its_task_sends(sample: str) -> None:
    assert set(load_event(sample)) == REFERENCE_ENGINE_SAMPLES[sample].fields


@pytest.mark.parametrize("sample", sorted(REFERENCE_ENGINE_SAMPLES))
def test_reference_engine_sample_is_delivered_to_the_entry_point_its_task_invokes(sample: str) -> None:
    assert SAMPLE_FUNCTIONS[sample] == REFERENCE_ENGINE_FUNCTIONS[REFERENCE_ENGINE_SAMPLES[sample].substitution]


def test_every_reference_engine_task_has_its_sample() -> None:
    assert set(REFERENCE_ENGINE_SAMPLES) <= set(SAMPLES)

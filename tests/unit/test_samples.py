"""The samples in events/ are the shapes their senders send, and each names the function it is for."""

from __future__ import annotations

import pytest

from local_aws.template import functions
from tests.conftest import EVENTS, SAMPLE_FUNCTIONS, TEMPLATE, load_event
from tests.conftest import SAMPLES as SAMPLES_TABLE
from tests.reference_engine import NOTIFY_TASKS

REFERENCE_ENGINE_FUNCTIONS = {
    "NotifyProvisionResultFunctionArn": "NotifyProvisionResultFunction",
    "NotifyUpdateResultFunctionArn": "NotifyUpdateResultFunction",
    "NotifyTerminateResultFunctionArn": "NotifyTerminateResultFunction",
}
REFERENCE_ENGINE_SAMPLES = {f"{task}.json": spec for task, spec in NOTIFY_TASKS.items()}
NOT_SAMPLES = {"env.json", "samples.json"}
"""The env-vars file, and the table of samples itself."""
SAMPLES = sorted(
    path.name for path in EVENTS.glob("*.json") if path.name not in NOT_SAMPLES and ".history." not in path.name
)


def test_samples_json_lists_every_sample_of_events_and_no_other() -> None:
    assert sorted(SAMPLE_FUNCTIONS) == SAMPLES


def test_every_history_a_sample_names_is_in_events_and_every_history_is_named() -> None:
    named = {described["history"] for described in SAMPLES_TABLE.values() if "history" in described}
    assert named == {path.name for path in EVENTS.glob("*.history.json")}


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

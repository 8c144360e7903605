"""The example state machine is valid ASL, and its Retry/Catch names are the package's real error names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import exceptions as powertools_errors
from statelint.config import Config
from statelint.linter import Linter

from engine_result_notifier import errors
from engine_result_notifier.errors import RETRYABLE_ERROR_NAMES, TERMINAL_ERROR_NAMES
from tests.documentation import DOCUMENTATION

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "examples" / "engine" / "engine.asl.json"
NOTIFY_STATES = ("Notify success", "Notify failure")


def asl() -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    return definition


def error_names(rules: list[dict[str, Any]]) -> set[str]:
    return {name for rule in rules for name in rule["ErrorEquals"]}


def test_example_state_machine_is_valid_amazon_states_language() -> None:
    assert Linter.validate(str(ASL_PATH), Config()) == []


@pytest.mark.parametrize("name", RETRYABLE_ERROR_NAMES + TERMINAL_ERROR_NAMES)
def test_every_documented_error_name_is_a_real_exception_class(name: str) -> None:
    exception_class = getattr(errors, name, None) or getattr(powertools_errors, name)
    assert issubclass(exception_class, Exception)
    assert exception_class.__name__ == name


@pytest.mark.parametrize("state", NOTIFY_STATES)
def test_notify_steps_retry_every_retryable_error(state: str) -> None:
    assert set(RETRYABLE_ERROR_NAMES) <= error_names(asl()["States"][state]["Retry"])


def test_notify_success_catches_the_terminal_errors_into_a_failure_notification() -> None:
    (catch,) = asl()["States"]["Notify success"]["Catch"]
    assert set(catch["ErrorEquals"]) == set(TERMINAL_ERROR_NAMES)
    assert catch["Next"] == "Notify failure"


@pytest.mark.parametrize("state", NOTIFY_STATES)
def test_notify_steps_name_no_error_the_package_does_not_raise(state: str) -> None:
    rules = asl()["States"][state]["Retry"] + asl()["States"][state]["Catch"]
    unknown = {
        name
        for name in error_names(rules)
        if not name.startswith(("States.", "Lambda.")) and name not in RETRYABLE_ERROR_NAMES + TERMINAL_ERROR_NAMES
    }
    assert unknown == set()


def test_readme_retry_and_catch_block_is_the_example_state_machines() -> None:
    match = re.search(r"<!-- retry-catch -->\s*```json\n(.*?)```", DOCUMENTATION, re.DOTALL)
    assert match, "the documentation has no ```json block after <!-- retry-catch -->"
    snippet = json.loads(match.group(1))
    state = asl()["States"]["Notify success"]
    assert snippet == {"Retry": state["Retry"], "Catch": state["Catch"]}

"""The README's tables say what the code and the template do: each is read here and checked against them."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from engine_result_notifier.errors import RETRYABLE_ERROR_NAMES, TERMINAL_ERROR_NAMES
from local_aws.template import functions
from tests.conftest import SAMPLE_FUNCTIONS, TEMPLATE
from tests.dashboard import rendered_dashboard
from tests.documentation import DOCUMENTATION
from tests.reference_engine import NOTIFY_TASKS

README = DOCUMENTATION
"""The README and docs/: a table is checked in whichever file holds it."""


def table_after(heading_text: str) -> list[list[str]]:
    """The rows (cells without backticks) of the first Markdown table after a line holding ``heading_text``."""
    lines = README[README.index(heading_text) :].splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().replace("`", "") for cell in line.strip("|").split("|")])
    return rows


def test_the_sample_table_names_each_samples_function() -> None:
    listed = {}
    for samples, function, _ in table_after("| sample | function | sent by |"):
        for pattern in re.split(r",\s*", samples):
            for sample in fnmatch.filter(SAMPLE_FUNCTIONS, pattern):
                listed[sample] = function
    assert listed == SAMPLE_FUNCTIONS


def test_the_entry_point_table_is_the_templates_functions_and_outputs() -> None:
    rows = table_after("| function (logical id) | stack output | reports | takes |")
    entry_points = [function for function in functions(TEMPLATE) if f"{function}Arn" in TEMPLATE["Outputs"]]
    assert sorted(function for function, *_ in rows) == sorted(entry_points)
    assert len(entry_points) == 4
    for function, output, *_ in rows:
        assert TEMPLATE["Outputs"][output]["Value"] == {"Fn::GetAtt": [function, "Arn"]}


@pytest.mark.parametrize("row", table_after("| the reference engine's substitution | this stack's output |"))
def test_each_drop_in_substitution_is_the_output_of_the_same_name(row: list[str]) -> None:
    substitution, output = row[0].split(" ")[0], row[1]
    assert substitution == output
    assert output in TEMPLATE["Outputs"]
    assert substitution in {task.substitution for task in NOTIFY_TASKS.values()}


def test_the_drop_in_table_covers_every_substitution_of_the_reference_engine() -> None:
    rows = table_after("| the reference engine's substitution | this stack's output |")
    assert {row[1] for row in rows} == {task.substitution for task in NOTIFY_TASKS.values()}


def test_the_dashboard_table_names_every_widget_of_the_dashboard() -> None:
    rows = table_after("| widget | what it answers | when it is not zero |")
    listed = {re.sub(r" \(when something is watched\)$", "", widget) for widget, *_ in rows}
    watching = {"EngineStateMachineArns": "arn:aws:states:us-east-1:111122223333:stateMachine:Engine"}
    titles = {
        w["properties"]["title"] for w in rendered_dashboard(TEMPLATE, watching)["widgets"] if w["type"] != "text"
    }
    assert listed == titles


def test_the_layout_names_every_module_of_the_package() -> None:
    section = README[README.index("## Layout and development") :]
    layout = section[section.index("```text") : section.index("```", section.index("```text") + 3)]
    package = Path(__file__).resolve().parents[2] / "src" / "engine_result_notifier"
    modules = {path.name for path in package.rglob("*.py") if path.name != "__init__.py"}
    assert modules - set(re.findall(r"\w+\.py", layout)) == set()


def test_the_errors_table_says_which_errors_are_final_and_which_retryable_as_the_errors_module_does() -> None:
    rows = table_after("| error (the name `Retry` / `Catch` match) | when | what to do |")
    said = {error.split(" ")[0]: what_to_do for error, _, what_to_do in rows}
    assert {name for name, what_to_do in said.items() if what_to_do.startswith("terminal")} == set(TERMINAL_ERROR_NAMES)
    assert {name for name, what_to_do in said.items() if what_to_do == "retry"} == set(RETRYABLE_ERROR_NAMES)

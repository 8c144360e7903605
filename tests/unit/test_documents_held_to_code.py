"""The facts the documents state, read from the template and the code they describe: a disagreement fails here.

Alarms (names and count), each parameter's default and range, the outputs, the functions' settings (defaults and
ranges, tried against ``Settings``), the make targets, the operators' commands' flags, and every comment that
points at a heading of the documentation (``(docs/<file>.md, "Heading")``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine_result_notifier import commands
from engine_result_notifier.errors import InvalidSettingError
from engine_result_notifier.settings import Settings
from tests.documentation import FILES, ROOT
from tests.unit.test_settings import REQUIRED

TEMPLATE_TEXT = (ROOT / "template.yaml").read_text(encoding="utf-8")
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
ALARMS = re.findall(r"^  (\w+Alarm):\n    Type: AWS::CloudWatch::Alarm", TEMPLATE_TEXT, re.MULTILINE)
NUMBERS = {"four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def test_the_template_has_the_alarms_this_test_reads() -> None:
    assert len(ALARMS) >= 5


def test_the_operators_alarm_table_has_a_row_for_every_alarm_and_no_other() -> None:
    rows = re.findall(r"^\| `(\w+Alarm)` \|", README, re.MULTILINE)
    assert sorted(rows) == sorted(ALARMS)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_count_of_alarms_the_documents_say_is_the_templates(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    said = [NUMBERS.get(word, int(word) if word.isdigit() else -1) for word in re.findall(r"(\w+) alarms\b", text)]
    counted = [number for number in said if number != -1]
    assert all(number == len(ALARMS) for number in counted), counted


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_is_named_in_the_operations_documentation(alarm: str) -> None:
    assert f"`{alarm}`" in OPERATIONS + README


def parameters() -> dict[str, dict[str, str]]:
    """Each parameter's Default, MinValue and MaxValue, as the template writes them."""
    found: dict[str, dict[str, str]] = {}
    block = TEMPLATE_TEXT.split("\nParameters:\n", 1)[1].split("\n\n", 1)[0]
    for name, body in re.findall(r"^  (\w+):\n((?:    .*\n?)+)", block, re.MULTILINE):
        found[name] = dict(re.findall(r"^    (Default|MinValue|MaxValue): *(.*)$", body, re.MULTILINE))
    return found


PARAMETERS = parameters()


@pytest.mark.parametrize("name", sorted(name for name, facts in PARAMETERS.items() if "MinValue" in facts))
def test_every_range_the_deploy_documentation_gives_is_the_templates(name: str) -> None:
    facts = PARAMETERS[name]
    rows = [line for line in DEPLOY.splitlines() if line.startswith("| ") and f"`{name}`" in line.split(" | ")[0]]
    assert rows, name
    low, high = (f"{int(facts[key]):,}" for key in ("MinValue", "MaxValue"))
    assert any(f"{low} to {high}" in row for row in rows), rows


def guided_rows() -> list[tuple[str, str]]:
    table = README[README.index("<!-- guided-answers -->") :].split("\n\n", 1)[0]
    return re.findall(r"^\| ([^|]+?) \| (.*) \|$", table, re.MULTILINE)[1:]


def test_the_guided_deploy_table_asks_in_the_order_sam_deploy_guided_asks() -> None:
    asked = [question for question, _ in guided_rows()]
    assert asked[:2] == ["Stack Name", "AWS Region"]
    assert [question.removeprefix("Parameter ") for question in asked[2 : 2 + len(PARAMETERS)]] == list(PARAMETERS)
    assert asked[2 + len(PARAMETERS) :] == [
        "Confirm changes before deploy",
        "Allow SAM CLI IAM role creation",
        "Disable rollback",
        "Save arguments to configuration file",
        "SAM configuration file",
        "SAM configuration environment",
    ]


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_the_guided_deploy_answer_starts_from_the_templates_default(name: str) -> None:
    # An answer that starts with a value gives the template's default first; "empty" is the empty default
    (answer,) = [answer for question, answer in guided_rows() if question == f"Parameter {name}"]
    default = PARAMETERS[name].get("Default", "").strip('"')
    if answer.startswith("`"):
        assert answer.startswith(f"`{default}`"), answer
    if answer.startswith("empty"):
        assert default == "", answer


def test_the_guided_deploy_saves_its_answers_where_git_ignores_them() -> None:
    (answer,) = [answer for question, answer in guided_rows() if question == "SAM configuration file"]
    saved = re.match(r"`([\w.]+)`", answer)
    assert saved is not None
    assert saved.group(1) != "samconfig.toml"
    assert saved.group(1) in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    "output", re.findall(r"^  (\w+):\n    Description", TEMPLATE_TEXT.split("\nOutputs:\n")[1], re.M)
)
def test_every_output_is_in_the_configuration_documentation(output: str) -> None:
    assert f"| `{output}` |" in CONFIGURATION


def variable_rows() -> dict[str, tuple[str, str]]:
    rows = re.findall(r"^\| `(\w+)` \| `?([^|`]*)`?[^|]* \| (.*) \|$", CONFIGURATION, re.MULTILINE)
    return {name: (default, meaning) for name, default, meaning in rows}


RANGED = (
    "IDEMPOTENCY_EXPIRES_AFTER_SECONDS",
    "SERVICE_CATALOG_MAX_ATTEMPTS",
    "SWEEP_LOOK_BACK_HOURS",
    "REDRIVE_GRACE_MINUTES",
    "SWEEP_MIN_AGE_MINUTES",
    "SWEEP_MAX_EXECUTIONS",
)
"""The integer settings: each one's default and range, as the settings table states them."""


@pytest.mark.parametrize("variable", sorted(RANGED))
def test_every_default_the_settings_table_gives_is_the_codes(variable: str) -> None:
    default, _ = variable_rows()[variable]
    assert getattr(Settings.from_environ(REQUIRED), variable.lower()) == int(default)


@pytest.mark.parametrize("variable", sorted(RANGED))
def test_every_range_the_settings_table_gives_is_the_one_the_code_takes(variable: str) -> None:
    _, meaning = variable_rows()[variable]
    match = re.search(r"\(([\d,]+) (?:\w+ )?to ([\d,]+)", meaning)
    assert match is not None, meaning
    low, high = (int(number.replace(",", "")) for number in match.groups())
    if variable == "IDEMPOTENCY_EXPIRES_AFTER_SECONDS":
        low, high = low * 86400, high * 86400  # said in days
        context = {**REQUIRED, "SWEEP_LOOK_BACK_HOURS": "7"}
    else:  # the other settings at values that let this one's whole range through
        context = {**REQUIRED, "SWEEP_LOOK_BACK_HOURS": str(24 * 89), "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "31622400"}
    for value in (low, high):
        Settings.from_environ({**context, variable: str(value)})
    for value in (low - 1, high + 1):
        with pytest.raises(InvalidSettingError, match=variable):
            Settings.from_environ({**context, variable: str(value)})


def test_the_templates_service_catalog_attempts_are_the_codes_default() -> None:
    assert 'SERVICE_CATALOG_MAX_ATTEMPTS: "4"' in TEMPLATE_TEXT
    assert Settings.from_environ(REQUIRED).service_catalog_max_attempts == 4


def test_every_make_target_is_documented() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = makefile.split(".PHONY:", 1)[1].split("\n", 1)[0].split()
    documents = "".join(path.read_text(encoding="utf-8") for path in FILES)
    assert [target for target in phony if f"make {target}" not in documents] == []


@pytest.mark.parametrize("flag", ["--stack", "--verbose", "--version", "--help", "--yes", "--send", "STACK=", "YES=1"])
def test_every_flag_of_the_operators_commands_is_documented_and_exists(flag: str) -> None:
    assert flag in OPERATIONS
    help_text = commands._HELP.format(prog=commands.PROG, version="", names=commands._MAKE_NAMES)  # noqa: SLF001
    help_text += commands._HELP.format(prog=commands.PROG, version="", names=commands._COMMAND_NAMES)  # noqa: SLF001
    assert flag in help_text


POINTER = re.compile(r"\((README(?:\.md)?|docs/[\w-]+\.md),\s+\\?\"([^\"\\]+)\\?\"")
SOURCES = [
    ROOT / "Makefile",
    ROOT / "pyproject.toml",
    ROOT / "template.yaml",
    *sorted((ROOT / "src").rglob("*.py")),
    *sorted((ROOT / "local_aws").rglob("*.py")),
    *sorted((ROOT / "tests").rglob("*.py")),
    *sorted((ROOT / "examples").rglob("*.*")),
]


def pointers() -> list[tuple[str, str, str]]:
    found = []
    for source in SOURCES:
        if source.suffix in (".pyc",) or not source.is_file() or source.name == Path(__file__).name:
            continue
        for file, heading in POINTER.findall(source.read_text(encoding="utf-8", errors="replace")):
            found.append((source.relative_to(ROOT).as_posix(), "README.md" if file == "README" else file, heading))
    return found


@pytest.mark.parametrize(("source", "document", "heading"), pointers())
def test_every_comment_that_points_at_a_heading_finds_it(source: str, document: str, heading: str) -> None:
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    titles = {line.lstrip("#").strip().lower() for line in lines if line.startswith("#")}
    assert heading.lower() in titles, source


def test_no_comment_points_at_the_readme_by_a_section_it_does_not_name() -> None:
    loose = re.compile(r"README(?:'s)? [\w ]*section|\(README, [^\"]")
    hits = [
        source.relative_to(ROOT).as_posix()
        for source in SOURCES
        if source.is_file()
        and source.name != Path(__file__).name
        and loose.search(source.read_text(encoding="utf-8", errors="replace"))
    ]
    assert hits == []

"""The operators' commands in an environment that is not ready: each problem is one line that says what is missing,
and exit status 1, with no usage block; the settings read from the stack (``--stack``); Lambda's own AWS_REGION is
honoured; run by make, help, errors and hints name make's variables; ``--help`` and ``--version``."""

from __future__ import annotations

import io
import os
import uuid

import boto3
import pytest

from engine_result_notifier import __version__, commands
from engine_result_notifier.settings import ENTRY_POINT_VARIABLES
from local_aws.stack import create_stand_in_stack
from tests.conftest import LocalFunctions


@pytest.fixture
def environment(local_services: LocalFunctions, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The functions' settings and the local services, as the other command tests have them."""
    return monkeypatch


def run(command: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        status = commands.main(command, stdin=io.StringIO(""))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, (captured.out + captured.err).splitlines()


def test_no_region_is_one_line_that_says_so(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.delenv("AWS_DEFAULT_REGION", raising=False)
    environment.delenv("AWS_REGION", raising=False)
    status, lines = run(["show-record", "rec-abc123"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert "no AWS region: set AWS_REGION" in lines[0]


def test_lambdas_aws_region_is_honoured(environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    environment.delenv("AWS_DEFAULT_REGION", raising=False)
    environment.setenv("AWS_REGION", "us-east-1")
    status, lines = run(["show-record", "rec-abc123"], capsys)
    assert (status, lines[0]) == (
        1,
        "No notification is recorded for rec-abc123: never made, or older than the table remembers.",
    )
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"


def test_no_credentials_is_one_line_that_says_so(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        environment.delenv(name, raising=False)
    environment.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    status, lines = run(["show-record", "rec-abc123"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert "no AWS credentials" in lines[0]


def test_a_table_that_does_not_exist_is_one_line_naming_it_and_the_variable(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("IDEMPOTENCY_TABLE_NAME", "no-such-table")
    status, lines = run(["show-record", "rec-abc123"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert "no-such-table could not be read (ResourceNotFoundException): IDEMPOTENCY_TABLE_NAME" in lines[0]


def test_a_queue_that_does_not_exist_is_one_line_naming_the_variable(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dynamodb_url: str
) -> None:
    environment.setenv("AWS_ENDPOINT_URL_SQS", dynamodb_url)
    environment.setenv("DEAD_LETTER_QUEUE_URL", f"{dynamodb_url}/123456789012/no-such-queue")
    status, lines = run(["replay-dead-letters"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert "DEAD_LETTER_QUEUE_URL must be the stack's DeadLetterQueueUrl output" in lines[0]


def test_run_by_make_a_missing_record_names_makes_variable(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(commands.VIA_MAKE, "1")
    status, lines = run(["show-record"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert "RECORD=<record id>" in lines[0]
    assert "record_id" not in "\n".join(lines)


def test_run_by_make_a_bad_execution_names_makes_variable(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(commands.VIA_MAKE, "1")
    status, lines = run(["rescue", "not-an-arn"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert "EXECUTION=<execution ARN>" in lines[0]
    assert not lines[0].startswith(("make", "usage"))


@pytest.fixture
def stack(environment: pytest.MonkeyPatch, dynamodb_url: str, idempotency_table: str) -> str:
    """The deployed stack as DescribeStacks describes it (a stand-in in moto's CloudFormation), and an environment
    without any of the functions' settings."""
    environment.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", dynamodb_url)
    for name in ("IDEMPOTENCY_TABLE_NAME", "DEAD_LETTER_QUEUE_URL", *ENTRY_POINT_VARIABLES.values()):
        environment.delenv(name, raising=False)
    name = f"operators-{uuid.uuid4().hex[:8]}"
    client = boto3.client("cloudformation", endpoint_url=dynamodb_url, region_name="us-east-1")
    queue_url = f"{dynamodb_url}/123456789012/dead-letters"
    return create_stand_in_stack(client, queue_url, table_name=idempotency_table, name=name)


def test_the_stack_gives_every_setting_a_command_uses(
    stack: str, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("IDEMPOTENCY_TABLE_NAME", "not-this-one")  # the stack's outputs win over a stray variable
    status, lines = run(["--stack", stack, "show-record", "rec-abc123"], capsys)
    assert (status, lines) == (
        1,
        ["No notification is recorded for rec-abc123: never made, or older than the table remembers."],
    )


def test_the_stack_gives_the_entry_points_as_the_arns_its_outputs_hold(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:NoSuchMachine:x"
    status, lines = run(["--stack", stack, "rescue", arn], capsys)
    assert (status, lines) == (1, [f"Execution {arn} does not exist (Step Functions keeps an execution 90 days)."])


def test_a_stack_that_does_not_exist_is_one_line_naming_it_and_its_region(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run(["--stack", "no-such-stack", "show-record", "rec-abc123"], capsys)
    assert (status, lines) == (
        1,
        [
            "engine-result-notifier: stack no-such-stack does not exist in us-east-1 (Stack with id no-such-stack does "
            "not exist): give the stack's name, and its region (AWS_REGION)"
        ],
    )


def test_every_setting_a_command_misses_is_named_in_one_line(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = run(["replay-dead-letters"], capsys)
    assert (status, len(lines)) == (1, 1)
    assert lines[0] == (
        "engine-result-notifier: replay-dead-letters needs IDEMPOTENCY_TABLE_NAME, PROVISION_ENTRY_POINT, "
        "UPDATE_ENTRY_POINT, TERMINATE_ENTRY_POINT, GENERIC_ENTRY_POINT, DEAD_LETTER_QUEUE_URL: --stack NAME gives "
        "them, or set them (docs/operations.md)"
    )


def test_show_record_asks_only_for_the_table(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = run(["show-record", "rec-abc123"], capsys)
    assert lines == [
        "engine-result-notifier: show-record needs IDEMPOTENCY_TABLE_NAME: --stack NAME gives it, or set it "
        "(docs/operations.md)"
    ]
    assert status == 1


@pytest.mark.parametrize("via_make", [False, True])
def test_help_is_plain_text_saying_what_each_command_uses_with_an_example(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], via_make: bool
) -> None:
    if via_make:
        environment.setenv(commands.VIA_MAKE, "1")
    status, lines = run(["--help"], capsys)
    text = "\n".join(lines)
    assert status == 0
    assert "``" not in text
    assert text.count("Uses IDEMPOTENCY_TABLE_NAME") == 3
    assert "the four entry points and\n      DEAD_LETTER_QUEUE_URL" in text
    example = "make show-record STACK=" if via_make else "engine-result-notifier --stack "
    assert f"Example:\n  {example}" in text
    assert ("YES=1" in text) is via_make


def test_version_is_the_packages(environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], capsys) == (0, [f"engine-result-notifier {__version__}"])

"""The operators' commands in an environment that is not ready: each problem is one line that says what is missing,
and exit status 1 (2 for a bad argument); Lambda's own AWS_REGION is honoured; run by make, errors and hints name
make's variables."""

from __future__ import annotations

import io
import os

import pytest

from engine_result_notifier import commands
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
    assert status == 2
    assert "RECORD=<record id>" in lines[-1]
    assert "record_id" not in "\n".join(lines)


def test_run_by_make_a_bad_execution_names_makes_variable(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv(commands.VIA_MAKE, "1")
    status, lines = run(["rescue", "not-an-arn"], capsys)
    assert status == 2
    assert "EXECUTION=<execution ARN>" in lines[-1]

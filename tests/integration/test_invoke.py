"""``make invoke``: the Docker-free ``sam local invoke``, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine_result_notifier
from local_aws.invoke import function_environment
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.template import function_properties, load_template
from tests.conftest import SAMPLE_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def run_invoke(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "local_aws.invoke", *arguments],
        cwd=ROOT,
        env={**clean, **environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_invoke_notifies_then_shows_the_duplicate_suppressed() -> None:
    completed = run_invoke(
        "--function",
        "NotifyProvisionResultFunction",
        "--event",
        "events/provision-succeeded.json",
        "--env-vars",
        "events/env.json",
    )
    assert completed.returncode == 0, completed.stderr
    first, second = completed.stdout.split("(second delivery of the same event)")
    assert '"outcome": "NOTIFIED"' in first
    assert "Service Catalog received NotifyProvisionProductEngineWorkflowResult" in first
    assert '"RecordId": "rec-ka2yffz3cwguk"' in first
    assert '"outcome": "DUPLICATE"' in second
    assert "Service Catalog received no request" in second
    assert SAMPLE_TOKEN not in completed.stdout + completed.stderr


def test_invoke_names_the_package_version_first_and_on_every_log_line() -> None:
    completed = run_invoke(
        "--function", "NotifyFunction", "--event", "events/provision-succeeded-terraform-outputs.json"
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == (
        f"== engine-result-notifier {engine_result_notifier.__version__}: "
        "NotifyFunction (engine_result_notifier.handlers.safety_net.lambda_handler)"
    )
    log_lines = [json.loads(line) for line in lines if line.startswith('{"level"')]
    assert log_lines
    assert {line["version"] for line in log_lines} == {engine_result_notifier.__version__}


def test_invoke_of_an_invalid_event_shows_the_named_error_and_fails(tmp_path: Path) -> None:
    event = tmp_path / "bad.json"
    event.write_text(json.dumps({"recordId": "rec-1"}), encoding="utf-8")
    completed = run_invoke("--function", "NotifyFunction", "--event", str(event))
    assert completed.returncode == 1
    assert completed.stdout.count('"errorType": "InvalidEventError"') == 1  # shown once
    assert "(the same error)" in completed.stdout
    assert "stackTrace" not in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "Service Catalog received no request" in completed.stdout


def test_invoke_uses_a_service_catalog_endpoint_named_in_the_environment(
    service_catalog: ServiceCatalogEndpoint,
) -> None:
    completed = run_invoke(
        "--function",
        "NotifyTerminateResultFunction",
        "--event",
        "events/terminate-succeeded.json",
        AWS_ENDPOINT_URL_SERVICE_CATALOG=service_catalog.endpoint_url,
    )
    assert completed.returncode == 0, completed.stderr
    assert [request.parameters["RecordId"] for request in service_catalog.accepted] == ["rec-h3c6mzw2b7k4u"]


def test_env_vars_file_overrides_only_variables_the_template_declares(tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps({"Parameters": {"SENSITIVE_OUTPUTS": "omit"}, "NotifyFunction": {"UNDECLARED": "x"}}),
        encoding="utf-8",
    )
    template = load_template()
    environment = function_environment(template, function_properties(template), "NotifyFunction", env_vars)
    assert environment["SENSITIVE_OUTPUTS"] == "omit"
    assert environment["IDEMPOTENCY_TABLE_NAME"] == "IdempotencyTable"
    assert "UNDECLARED" not in environment


@pytest.mark.parametrize("variable", ["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "_HANDLER"])
def test_invoke_sets_the_variables_the_lambda_runtime_sets(variable: str) -> None:
    template = load_template()
    assert variable in function_environment(template, function_properties(template), "NotifyFunction", None)


@pytest.mark.parametrize(
    ("function", "sample", "call"),
    [
        (
            "NotifyUpdateResultFunction",
            "events/update-succeeded.json",
            "NotifyUpdateProvisionedProductEngineWorkflowResult",
        ),
        ("NotifyFunction", "events/execution-timed-out.json", "NotifyUpdateProvisionedProductEngineWorkflowResult"),
        (
            "NotifyFunction",
            "events/terminate-failed-catch.json",
            "NotifyTerminateProvisionedProductEngineWorkflowResult",
        ),
    ],
)
def test_invoke_runs_the_entry_point_of_the_function_it_is_given(function: str, sample: str, call: str) -> None:
    completed = run_invoke("--function", function, "--event", sample)
    assert completed.returncode == 0, completed.stderr
    assert f"Service Catalog received {call}" in completed.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--function", "NotifyFunction", "--event", "README.md"], "EVENT=README.md: is not JSON"),
        (
            ["--function", "NotifyFunction", "--event", "events/no-such-event.json"],
            "EVENT=events/no-such-event.json: no such file; the samples are listed in events/samples.json",
        ),
        (
            ["--event", "events/provison-succeeded.json"],
            "EVENT=events/provison-succeeded.json: no such file; the closest sample is events/provision-succeeded.json",
        ),
        (
            ["--event", "README.md"],
            "EVENT=README.md is not a sample of events/samples.json: say which function takes it (FUNCTION=",
        ),
        (
            ["--event", "events/provision-succeeded.json", "--env-vars", "events/flat-undeclared.json"],
            "ENV_VARS=events/flat-undeclared.json: cannot be read",
        ),
        (
            ["--function", "NotifyFunction", "--event", "events/provision-succeeded.json", "--env-vars", "Makefile"],
            "ENV_VARS=Makefile: is not JSON",
        ),
        (
            ["--function", "NoSuchFunction", "--event", "events/provision-succeeded.json"],
            "FUNCTION=NoSuchFunction: the template has no such function; it has NotifyFunction, ",
        ),
    ],
)
def test_invoke_with_a_bad_argument_says_so_in_one_line_and_fails(arguments: list[str], message: str) -> None:
    completed = run_invoke(*arguments)
    assert (completed.returncode, completed.stdout) == (1, "")
    (error,) = completed.stderr.splitlines()
    assert error.startswith("invoke: ")
    assert message in error


def readme_make_invoke_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- make-invoke -->", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("make invoke")]


def makefile_default(variable: str) -> str:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return next(line.split("?=", 1)[1].strip() for line in makefile.splitlines() if line.startswith(f"{variable} ?="))


@pytest.mark.parametrize("line", readme_make_invoke_lines())
def test_every_make_invoke_line_of_the_readme_runs(line: str) -> None:
    # The Makefile's invoke target, with the line's variables over its defaults
    variables = {name: makefile_default(name) for name in ("FUNCTION", "EVENT", "ENV_VARS")}
    variables.update(assignment.split("=", 1) for assignment in line.split()[2:])
    function = ["--function", variables["FUNCTION"]] if variables["FUNCTION"] else []
    completed = run_invoke(*function, "--event", variables["EVENT"], "--env-vars", variables["ENV_VARS"])
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert '"outcome": "NOTIFIED"' in completed.stdout or '"rescued": 1' in completed.stdout


def test_the_readme_shows_make_invoke_with_and_without_a_function() -> None:
    lines = readme_make_invoke_lines()
    assert "make invoke" in lines
    assert any("FUNCTION=NotifyFunction" in line for line in lines)


def test_the_makefiles_invoke_recipe_is_the_command_these_tests_run() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lines = makefile.split("\ninvoke:", 1)[1].splitlines()[1:3]
    recipe = " ".join(line.strip().rstrip("\\").strip() for line in lines)
    assert recipe == (
        "@$(BIN)/python -m local_aws.invoke $(if $(FUNCTION),--function '$(FUNCTION)') --event '$(EVENT)' "
        "--env-vars '$(ENV_VARS)' $(if $(QUIET),--quiet)"
    )


def test_without_a_function_a_sample_goes_to_the_function_samples_json_lists() -> None:
    completed = run_invoke("--event", "events/update-failed.json", "--env-vars", "events/env.json")
    assert completed.returncode == 0, completed.stderr
    assert "NotifyUpdateResultFunction (engine_result_notifier.handlers.notify.update_handler)" in completed.stdout
    assert "received NotifyUpdateProvisionedProductEngineWorkflowResult" in completed.stdout


def test_a_status_change_with_its_recorded_history_is_rescued_with_what_its_notify_task_meant_to_send() -> None:
    completed = run_invoke("--event", "events/execution-failed-notify-throttled.json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    first = completed.stdout.split("(second delivery")[0]
    assert '"outcome": "NOTIFIED"' in first
    assert '"Status": "SUCCEEDED"' in first
    assert '"OutputKey": "bucket_arn"' in first
    assert '"outcome": "DUPLICATE"' in completed.stdout


def test_the_sample_whose_input_was_left_out_says_why_it_fails_and_failing_so_is_success() -> None:
    completed = run_invoke("--event", "events/execution-input-left-out.json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "== expected to fail with InvalidEventError: EventBridge left the execution's input out" in completed.stdout
    assert completed.stdout.rstrip().endswith("== failed as expected (InvalidEventError)")


def test_a_bad_setting_in_the_env_vars_file_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"Parameters": {"SENSITIVE_OUTPUTS": "bogus"}}), encoding="utf-8")
    completed = run_invoke("--event", "events/provision-succeeded.json", "--env-vars", str(env_vars))
    assert completed.returncode == 1
    (error,) = completed.stderr.splitlines()
    assert error.endswith("SENSITIVE_OUTPUTS must be one of: redact, omit")


def test_an_event_that_is_no_sample_needs_a_function_and_says_so_in_one_line(tmp_path: Path) -> None:
    event = tmp_path / "mine.json"
    event.write_text("{}", encoding="utf-8")
    completed = run_invoke("--event", str(event))
    assert completed.returncode == 1
    (error,) = completed.stderr.splitlines()
    assert error.startswith(
        f"invoke: EVENT={event} is not a sample of events/samples.json: say which function takes it"
    )


def test_a_sample_named_without_its_folder_is_the_sample() -> None:
    completed = run_invoke("--event", "update-failed.json")
    assert completed.returncode == 0, completed.stderr
    assert "== events/update-failed.json (first delivery)" in completed.stdout


def test_a_flat_env_vars_file_holds_the_functions_own_variables(tmp_path: Path) -> None:
    flat = tmp_path / "env.json"
    flat.write_text(json.dumps({"SENSITIVE_OUTPUTS": "omit"}), encoding="utf-8")
    template = load_template()
    environment = function_environment(template, function_properties(template), "NotifyFunction", flat)
    assert environment["SENSITIVE_OUTPUTS"] == "omit"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SENSITIVE_OUTPUTS": "hide"}, "SENSITIVE_OUTPUTS must be one of: redact, omit"),
        ({"SENSITIVE_OUTPUT": "omit"}, "SENSITIVE_OUTPUT: not a variable NotifyProvisionResultFunction declares"),
    ],
)
def test_a_flat_env_vars_file_the_function_refuses_is_one_line(
    tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    flat = tmp_path / "env.json"
    flat.write_text(json.dumps(variables), encoding="utf-8")
    completed = run_invoke("--event", "events/provision-succeeded.json", "--env-vars", str(flat))
    assert (completed.returncode, completed.stdout) == (1, "")
    (error,) = completed.stderr.splitlines()
    assert message in error


def test_quiet_leaves_out_the_json_logs_and_metrics_and_the_default_logs_the_functions_name() -> None:
    quiet = run_invoke("--event", "events/provision-succeeded.json", "--quiet")
    loud = run_invoke("--event", "events/provision-succeeded.json")
    assert (quiet.returncode, loud.returncode) == (0, 0)
    assert not [line for line in quiet.stdout.splitlines() if line.startswith('{"')]
    logged = [json.loads(line) for line in loud.stdout.splitlines() if line.startswith('{"level"')]
    assert {line["function_name"] for line in logged} == {"local-NotifyProvisionResultFunction"}


def test_the_sweep_sample_finds_an_execution_whose_status_change_was_lost_and_rescues_it_once() -> None:
    completed = run_invoke("--event", "events/sweep-scheduled.json", "--quiet")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    runs = completed.stdout.split("== events/sweep-scheduled.json (")[1:]
    assert '"rescued": 1' in runs[0]
    assert "Service Catalog received NotifyProvisionProductEngineWorkflowResult" in runs[0]
    assert '"examined": 0' in runs[1]
    assert "Service Catalog received no request" in runs[1]

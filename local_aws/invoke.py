"""``sam local invoke`` without Docker: run the function from ``template.yaml`` on an event, twice.

The handler, code location, environment, memory and timeout come from the template, as ``sam local
invoke`` takes them; ``--env-vars`` takes the same JSON file (``{"NotifyFunction": {...}, "Parameters":
{...}}``, overriding only variables the template declares). Unless ``AWS_ENDPOINT_URL_DYNAMODB`` /
``AWS_ENDPOINT_URL_SERVICE_CATALOG`` point elsewhere, the local DynamoDB (moto's server) and the local
Service Catalog endpoint are started on loopback (moto's server also stands in for Step Functions, which the
safety net reads, unless ``AWS_ENDPOINT_URL_SFN`` names another). The event is delivered twice, as a retried delivery
would be: the first run makes the call, the second shows the duplicate suppressed.

    python -m local_aws.invoke --function NotifyProvisionResultFunction --event events/provision-succeeded.json \
        --env-vars events/env.json

``--function`` is the function's logical id in the template, as ``sam local invoke`` takes it; without it, the
function a sample of ``events/`` is for, as ``events/samples.json`` lists it (a sample may be named without its
folder). A sample that comes with its execution's history has it served to the function
(``local_aws.recorded_execution``; the sweep's sample lists it too); one that must fail says why first, and failing
as it must is success. ``--env-vars`` also takes a flat object of the function's own variables. ``--quiet`` leaves
out the functions' JSON logs and metrics. A missing or misspelt event file (with the closest sample), a file that
cannot be read as JSON, a function the template does not have, an event that is no sample without ``--function``,
a variable the function does not declare, or a setting it refuses ends the command with one line that says so
(exit status 1); a function error is shown once, as Lambda reports it, without a stack trace.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import boto3

from engine_result_notifier.errors import NotifierError
from local_aws import dynamodb
from local_aws.lambda_context import LocalLambdaContext
from local_aws.recorded_execution import RecordedExecution
from local_aws.service_catalog import RecordedRequest, ServiceCatalogEndpoint
from local_aws.template import (
    LOCAL_REGION,
    PROJECT_ROOT,
    declared_environment,
    function_properties,
    functions,
    load_template,
)

DELIVERIES = ("first delivery", "second delivery of the same event")
EVENTS = PROJECT_ROOT / "events"
SAMPLES: dict[str, dict[str, str]] = json.loads((EVENTS / "samples.json").read_text(encoding="utf-8"))
"""Each sample in events/: the function it is for, and what it needs (its execution's history) or must do (fail)."""


def main(argv: list[str] | None = None) -> int:
    try:
        return _invoke(_arguments(argv))
    except InvocationError as error:
        print(f"invoke: {error}", file=sys.stderr)
        return 1


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="make invoke", add_help=True, description=__doc__.split("\n\n")[0])
    parser.add_argument("--event", "-e", required=True, help="the event JSON file (EVENT=)")
    parser.add_argument(
        "--env-vars", "-n", type=Path, help="environment overrides, sam local invoke's format (ENV_VARS=)"
    )
    parser.add_argument(
        "--function", help="the function's logical id in the template (FUNCTION=; default: the sample's)"
    )
    parser.add_argument("--quiet", action="store_true", help="without the functions' JSON logs and metrics (QUIET=1)")
    return parser.parse_args(argv)


def _invoke(arguments: argparse.Namespace) -> int:
    template = load_template()
    event_path = event_file(arguments.event)
    sample = SAMPLES.get(event_path.name, {}) if event_path.parent.resolve() == EVENTS else {}
    function = arguments.function or sample.get("function")
    if function is None:
        raise InvocationError(
            f"EVENT={arguments.event} is not a sample of events/samples.json: say which function takes it "
            f"(FUNCTION=, one of {', '.join(functions(template))})"
        )
    if function not in functions(template):
        raise InvocationError(
            f"FUNCTION={function}: the template has no such function; it has {', '.join(functions(template))}"
        )
    event = read_json(event_path, "EVENT")
    history = read_json(EVENTS / sample["history"])["events"] if "history" in sample else None
    properties = function_properties(template, function)
    environment = function_environment(template, properties, function, arguments.env_vars)
    environment.update({name: value for name, value in sample.get("environment", {}).items() if name in environment})
    if arguments.quiet:
        environment.update(POWERTOOLS_LOG_LEVEL="CRITICAL", POWERTOOLS_METRICS_DISABLED="true")

    with local_services(environment) as service_catalog:
        os.environ.update(environment)
        try:
            handler = load_handler(properties)
        except NotifierError as error:  # a setting the function refuses at cold start
            raise InvocationError(f"ENV_VARS={arguments.env_vars or '(none)'}: {error}") from None
        print(f"== {package_banner(properties)}: {function} ({properties['Handler']})")
        if history is not None:
            _serve_the_recorded_execution(sample, event, history, properties)
        if "fails" in sample:
            print(f"== expected to fail with {sample['fails']}: {sample['why']}")
        elif "why" in sample:
            print(f"== {sample['why']}")
        context_settings = {
            "function_name": f"local-{function}",
            "memory_limit_in_mb": int(properties.get("MemorySize", 128)),
            "timeout_seconds": float(properties.get("Timeout", 3)),
        }
        errors = _deliver_twice(handler, event, event_path, context_settings, service_catalog)
    if "fails" in sample and [error["errorType"] for error in errors] == [sample["fails"]] * len(DELIVERIES):
        print(f"== failed as expected ({sample['fails']})")
        return 0
    return 1 if errors else 0


def _serve_the_recorded_execution(
    sample: dict[str, Any], event: dict[str, Any], history: list[dict[str, Any]], properties: dict[str, Any]
) -> None:
    """The sample's execution, as Step Functions recorded it, answering the function's Step Functions client; for
    the sweep, as if it had ended 20 minutes ago (within its window, and old enough)."""
    status_change = read_json(EVENTS / sample["execution"]) if "execution" in sample else event
    ended_ago = timedelta(minutes=20) if "execution" in sample else None
    RecordedExecution(status_change, history, ended_ago).serve(handler_module(properties).step_functions_client)
    print(f"== its execution, as Step Functions recorded it: events/{sample['history']} ({len(history)} events)")


def _deliver_twice(
    handler: Any,
    event: dict[str, Any],
    label: Path,
    context_settings: dict[str, Any],
    service_catalog: ServiceCatalogEndpoint | None,
) -> list[dict[str, Any]]:
    """The event delivered twice, as a retried delivery would be; the errors, each shown once as Lambda reports
    it."""
    errors: list[dict[str, Any]] = []
    for delivery in DELIVERIES:
        received_before = len(service_catalog.requests) if service_catalog else 0
        print(f"== {label} ({delivery})")
        try:
            result = handler(event, LocalLambdaContext(**context_settings))
            print(json.dumps(result, indent=2))
        except Exception as error:  # noqa: BLE001 (shown as Lambda shows a function error)
            said = lambda_error(error)
            print(json.dumps(said, indent=2) if not errors or said != errors[-1] else "(the same error)")
            errors.append(said)
        if service_catalog is not None:
            print_received(service_catalog.requests[received_before:])
    return errors


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvocationError(message)


def event_file(given: str) -> Path:
    """The event file: as given, or a sample of events/ named without its folder; a missing one is named, with the
    closest sample when there is one."""
    path = Path(given)
    if path.is_file():
        return path
    if path.parent == Path() and (EVENTS / path.name).is_file():
        return Path(os.path.relpath(EVENTS / path.name))
    closest = difflib.get_close_matches(path.name, sorted(SAMPLES), n=1, cutoff=0.6)
    hint = (
        f"; the closest sample is events/{closest[0]}" if closest else "; the samples are listed in events/samples.json"
    )
    raise InvocationError(f"EVENT={given}: no such file{hint}")


class InvocationError(ValueError):
    """What ``make invoke`` was given cannot run: an argument, a file, a function or a setting; said in one line."""


def read_json(path: Path, variable: str = "") -> Any:
    """The file's JSON value; a file that is missing or not JSON is named in one line (with the variable that names
    it), not a traceback."""
    named = f"{variable}={path}" if variable else str(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvocationError(f"{named}: cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise InvocationError(f"{named}: is not JSON ({error})") from None


def function_environment(
    template: dict[str, Any], properties: dict[str, Any], logical_id: str, env_vars_path: Path | None
) -> dict[str, str]:
    """The function's variables as Lambda would set them, with the env-vars file's overrides."""
    variables = declared_environment(template, logical_id)
    declared = set(variables)
    if env_vars_path is not None:
        overrides = read_json(env_vars_path, "ENV_VARS")
        if not isinstance(overrides, dict):
            raise InvocationError(
                f"ENV_VARS={env_vars_path}: must be an object of variables, or of variables by function (or Parameters)"
            )
        if _flat(overrides, template):  # {"VARIABLE": "value"}: this function's variables
            undeclared = sorted(set(overrides) - declared)
            if undeclared:
                raise InvocationError(
                    f"ENV_VARS={env_vars_path}: {', '.join(undeclared)}: not a variable {logical_id} declares "
                    f"(it declares {', '.join(sorted(declared))})"
                )
            variables.update({k: str(v) for k, v in overrides.items()})
        for scope in ("Parameters", logical_id):
            variables.update({k: str(v) for k, v in overrides.get(scope, {}).items() if k in declared})
    lambda_variables = {
        "AWS_LAMBDA_FUNCTION_NAME": f"local-{logical_id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_EC2_METADATA_DISABLED": "true",
        "_HANDLER": properties["Handler"],
        # No X-Ray daemon runs locally, as under `sam local invoke`.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    return {**lambda_variables, **variables}


def _flat(overrides: dict[str, Any], template: dict[str, Any]) -> bool:
    """Whether an env-vars file is a flat object of variables, rather than sam's (variables by function, or
    ``Parameters``)."""
    scopes = {"Parameters", *functions(template)}
    return not scopes & set(overrides) and not any(isinstance(value, dict) for value in overrides.values())


@contextlib.contextmanager
def local_services(environment: dict[str, str]) -> Iterator[ServiceCatalogEndpoint | None]:
    """Start the local endpoints the user's environment does not already name; create the table."""
    with contextlib.ExitStack() as stack:
        # moto's server is the DynamoDB and the Step Functions (the safety net reads executions there).
        named = {service: os.environ.get(f"AWS_ENDPOINT_URL_{service}") for service in ("DYNAMODB", "SFN")}
        moto_url = "" if all(named.values()) else stack.enter_context(dynamodb.DynamoDBServer()).endpoint_url
        dynamodb_url = named["DYNAMODB"] or moto_url
        environment["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_url
        environment["AWS_ENDPOINT_URL_SFN"] = named["SFN"] or dynamodb_url
        table_name = environment["IDEMPOTENCY_TABLE_NAME"]
        client = boto3.client(
            "dynamodb",
            endpoint_url=dynamodb_url,
            region_name=LOCAL_REGION,
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        )
        if table_name not in client.list_tables()["TableNames"]:
            dynamodb.create_idempotency_table(client, table_name)

        service_catalog: ServiceCatalogEndpoint | None = None
        if "AWS_ENDPOINT_URL_SERVICE_CATALOG" in os.environ:
            environment["AWS_ENDPOINT_URL_SERVICE_CATALOG"] = os.environ["AWS_ENDPOINT_URL_SERVICE_CATALOG"]
        else:
            service_catalog = stack.enter_context(ServiceCatalogEndpoint())
            environment["AWS_ENDPOINT_URL_SERVICE_CATALOG"] = service_catalog.endpoint_url
        yield service_catalog


def load_handler(properties: dict[str, Any]) -> Any:
    """Import the handler the way the Lambda runtime does: from the code location, by ``module.function``."""
    code_path = (PROJECT_ROOT / properties["CodeUri"]).resolve()
    sys.path.insert(0, str(code_path))
    return getattr(handler_module(properties), properties["Handler"].rsplit(".", 1)[1])


def handler_module(properties: dict[str, Any]) -> Any:
    return importlib.import_module(properties["Handler"].rsplit(".", 1)[0])


def package_banner(properties: dict[str, Any]) -> str:
    """The name and version of the package the handler comes from, as its log lines carry it."""
    package = importlib.import_module(properties["Handler"].split(".", 1)[0])
    return f"{package.__name__.replace('_', '-')} {package.__version__}"


def lambda_error(error: Exception) -> dict[str, Any]:
    """An error as the Lambda runtime reports it, its stack trace left out: the type is the name a state machine
    matches, and the message says what is wrong."""
    return {"errorType": type(error).__name__, "errorMessage": str(error)}


def print_received(requests: list[RecordedRequest]) -> None:
    if not requests:
        print("-- Service Catalog received no request")
    for request in requests:
        print(f"-- Service Catalog received {request.operation} ({request.protocol}), answered {request.answer_status}")
        print(json.dumps(masked(request.parameters), indent=2, ensure_ascii=False))


def masked(parameters: dict[str, Any]) -> dict[str, Any]:
    """The request with the workflow token hidden: it is a secret, even locally."""
    token = parameters.get("WorkflowToken")
    if not isinstance(token, str):
        return parameters
    return {**parameters, "WorkflowToken": f"<{len(token)} characters, not shown>"}


if __name__ == "__main__":
    sys.exit(main())

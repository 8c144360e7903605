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
function a sample of ``events/`` is for, as ``events/samples.json`` lists it. A sample that comes with its
execution's history has it served to the safety net (``local_aws.recorded_execution``); one that must fail says
why first, and failing as it must is success. A file that cannot be read as JSON, a function the template does
not have, an event that is no sample without ``--function``, or a bad setting in the environment ends the command
with one line that says so (exit status 2), as any other bad argument does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    parser = argparse.ArgumentParser(prog="python -m local_aws.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--event", "-e", required=True, type=Path, help="the event JSON file")
    parser.add_argument("--env-vars", "-n", type=Path, help="environment overrides, sam local invoke's format")
    parser.add_argument("--function", help="the function's logical id in the template (default: the sample's)")
    arguments = parser.parse_args(argv)

    template = load_template()
    sample = SAMPLES.get(arguments.event.name, {}) if arguments.event.parent.resolve() == EVENTS else {}
    function = arguments.function or sample.get("function")
    if function is None:
        parser.error(f"--function (FUNCTION=): {arguments.event} is not a sample listed in events/samples.json")
    if function not in functions(template):
        parser.error(f"--function {function}: the template has {', '.join(functions(template))}")
    try:
        event = read_json(arguments.event)
        history = read_json(EVENTS / sample["history"])["events"] if "history" in sample else None
        properties = function_properties(template, function)
        environment = function_environment(template, properties, function, arguments.env_vars)
    except InvalidFileError as error:
        parser.error(str(error))

    with local_services(environment) as service_catalog:
        os.environ.update(environment)
        try:
            handler = load_handler(properties)
        except NotifierError as error:  # a setting the function refuses at cold start
            parser.error(f"{arguments.env_vars or 'the template'}: {error}")
        print(f"== {package_banner(properties)}: {function} ({properties['Handler']})")
        if history is not None:
            RecordedExecution(event, history).serve(handler_module(properties).step_functions_client)
            recorded = f"events/{sample['history']} ({len(history)} events)"
            print(f"== its execution, as Step Functions recorded it: {recorded}")
        if "fails" in sample:
            print(f"== expected to fail with {sample['fails']}: {sample['why']}")
        context_settings = {
            "function_name": f"local-{arguments.function}",
            "memory_limit_in_mb": int(properties.get("MemorySize", 128)),
            "timeout_seconds": float(properties.get("Timeout", 3)),
        }
        failed = False
        errors: list[str] = []
        for delivery in DELIVERIES:
            received_before = len(service_catalog.requests) if service_catalog else 0
            print(f"== {arguments.event} ({delivery})")
            try:
                result = handler(event, LocalLambdaContext(**context_settings))
                print(json.dumps(result, indent=2))
            except Exception as error:  # noqa: BLE001 (shown as Lambda shows a function error)
                failed = True
                errors.append(type(error).__name__)
                print(json.dumps(lambda_error(error), indent=2))
            if service_catalog is not None:
                print_received(service_catalog.requests[received_before:])
    if "fails" in sample and errors == [sample["fails"]] * len(DELIVERIES):
        print(f"== failed as expected ({sample['fails']})")
        return 0
    return 1 if failed else 0


class InvalidFileError(ValueError):
    """A file given on the command line cannot be read as JSON."""


def read_json(path: Path) -> Any:
    """The file's JSON value; a file that is missing or not JSON is named in one line, not a traceback."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidFileError(f"{path}: cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidFileError(f"{path}: is not JSON ({error})") from None


def function_environment(
    template: dict[str, Any], properties: dict[str, Any], logical_id: str, env_vars_path: Path | None
) -> dict[str, str]:
    """The function's variables as Lambda would set them, with the env-vars file's overrides."""
    variables = declared_environment(template, logical_id)
    declared = set(variables)
    if env_vars_path is not None:
        overrides = read_json(env_vars_path)
        if not isinstance(overrides, dict):
            raise InvalidFileError(f"{env_vars_path}: must be an object of variables by function (or Parameters)")
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
    """An error as the Lambda runtime reports it; the type is the name a state machine matches."""
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__)[-3:],
    }


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

"""Shared fixtures: no AWS account, no Docker, nothing beyond loopback.

Servers start once per session and only when a test asks for them: moto's server is the DynamoDB,
``local_aws.service_catalog`` is Service Catalog. The handler modules are imported after the endpoint
variables are set, as Lambda would import them with their environment.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config

from engine_result_notifier import step_functions
from engine_result_notifier.delivery import Delivery, new_dynamodb_client
from engine_result_notifier.notify import Notify
from engine_result_notifier.rescue import Rescuer
from engine_result_notifier.service_catalog import new_client as new_service_catalog_client
from engine_result_notifier.settings import Settings
from local_aws import dynamodb
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.template import (
    NOTIFY_FUNCTION,
    declared_environment,
    function_properties,
    functions,
    load_template,
)

EVENTS = Path(__file__).resolve().parent.parent / "events"
TABLE_NAME = "engine-result-notifier-test"
SAMPLE_TOKEN = "QVFJQ0FIaGZsY3pZcnB2bjFXd2Z0T1lKeEFkZmY4bXZ0Vk5lZ3RzQ3RzU2JUMDJ3PT0="
TEMPLATE = load_template()

SAMPLES: dict[str, dict[str, str]] = json.loads((EVENTS / "samples.json").read_text(encoding="utf-8"))
SAMPLE_FUNCTIONS = {sample: described["function"] for sample, described in SAMPLES.items()}
"""Each sample in events/ and the function (logical id) it is delivered to, as ``make invoke FUNCTION=`` takes it."""

ENTRY_POINT_SETTINGS = {
    name: value
    for name, value in declared_environment(TEMPLATE, NOTIFY_FUNCTION).items()
    if name.endswith("_ENTRY_POINT")
}
"""The entry points' names as the template gives them to every function (the local stack's)."""

# Set at import, before any boto3 client exists: fake credentials, and never the shared config files.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


@dataclass(frozen=True)
class LocalFunctions:
    """The stack's functions in this process: each handler imported from the module ``template.yaml`` names, as
    Lambda imports it. In one process they share the wiring of ``handlers.cold_start`` (settings, clients and the
    exactly-once delivery), as Lambda's processes share one table and one Service Catalog."""

    cold_start: ModuleType

    def module(self, function: str) -> ModuleType:
        """The handler module of a function (its logical id)."""
        module_name = function_properties(TEMPLATE, function)["Handler"].rsplit(".", 1)[0]
        return importlib.import_module(module_name)

    def handler(self, function: str) -> Callable[..., Any]:
        """The handler ``template.yaml`` gives a function (its logical id)."""
        handler: Callable[..., Any] = getattr(
            self.module(function), function_properties(TEMPLATE, function)["Handler"].rsplit(".", 1)[1]
        )
        return handler

    @property
    def settings(self) -> Any:
        return self.cold_start.settings

    @property
    def service_catalog_client(self) -> Any:
        return self.cold_start.service_catalog_client

    @property
    def dynamodb_client(self) -> Any:
        return self.cold_start.dynamodb_client


@dataclass(frozen=True)
class LambdaContainer:
    """The use cases one Lambda container wires, built anew: another container's, over clients of its own."""

    delivery: Delivery
    notify: Notify
    rescuer: Rescuer


def lambda_container(
    service_catalog_client: Any = None, dynamodb_client: Any = None, step_functions_client: Any = None
) -> LambdaContainer:
    """A container with the functions' settings from the environment, over the clients given or new ones."""
    settings = Settings.from_environ(os.environ)
    delivery = Delivery(
        settings,
        service_catalog_client or new_service_catalog_client(settings.service_catalog_max_attempts),
        dynamodb_client or new_dynamodb_client(),
    )
    return LambdaContainer(
        delivery,
        Notify(settings, delivery),
        Rescuer(settings, delivery, step_functions_client or step_functions.new_client()),
    )


def handler_path(function: str) -> str:
    """The handler ``template.yaml`` gives a function (its logical id), as ``module.function``."""
    path: str = function_properties(TEMPLATE, function)["Handler"]
    return path


def entry_point(lambdas: LocalFunctions, function: str) -> Callable[..., dict[str, str]]:
    """The handler ``template.yaml`` gives a function (its logical id)."""
    return lambdas.handler(function)


def invoke(lambdas: LocalFunctions, event: Any, function: str = NOTIFY_FUNCTION) -> dict[str, str]:
    """One delivery to a function's entry point (the generic one by default), with a fresh Lambda context."""
    return entry_point(lambdas, function)(event, LocalLambdaContext())


def invoke_sample(lambdas: LocalFunctions, sample: str) -> dict[str, str]:
    """One delivery of a sample in events/ to the function it is for."""
    return invoke(lambdas, load_event(sample), SAMPLE_FUNCTIONS[sample])


def nested(depth: int) -> Any:
    """A value ``depth`` lists deep, built without recursion (json.loads could not build the deepest)."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture(scope="session")
def dynamodb_url() -> Iterator[str]:
    with dynamodb.DynamoDBServer() as server:
        yield server.endpoint_url


@pytest.fixture(scope="session")
def service_catalog_endpoint() -> Iterator[ServiceCatalogEndpoint]:
    with ServiceCatalogEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def lambdas(dynamodb_url: str, service_catalog_endpoint: ServiceCatalogEndpoint) -> LocalFunctions:
    """Every function's handler module, imported once with the local endpoints in its environment."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_SFN": dynamodb_url,
            "AWS_ENDPOINT_URL_SERVICE_CATALOG": service_catalog_endpoint.endpoint_url,
            "IDEMPOTENCY_TABLE_NAME": TABLE_NAME,
            "SERVICE_CATALOG_MAX_ATTEMPTS": "2",
            **ENTRY_POINT_SETTINGS,
        }
    )
    lambdas = LocalFunctions(importlib.import_module("engine_result_notifier.handlers.cold_start"))
    for function in functions(TEMPLATE):
        lambdas.module(function)
    return lambdas


def empty_idempotency_table(dynamodb_url: str) -> str:
    """The handler's idempotency table, created afresh from its definition in template.yaml; its name."""
    client = boto3.client("dynamodb", endpoint_url=dynamodb_url)
    if TABLE_NAME in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE_NAME)
    dynamodb.create_idempotency_table(client, TABLE_NAME)
    return TABLE_NAME


@pytest.fixture
def idempotency_table(dynamodb_url: str) -> str:
    """An empty idempotency table, created from its definition in template.yaml."""
    return empty_idempotency_table(dynamodb_url)


@pytest.fixture
def service_catalog(service_catalog_endpoint: ServiceCatalogEndpoint) -> ServiceCatalogEndpoint:
    """The local Service Catalog, with no requests recorded and no faults set."""
    service_catalog_endpoint.reset()
    return service_catalog_endpoint


@pytest.fixture
def local_services(
    lambdas: LocalFunctions, idempotency_table: str, service_catalog: ServiceCatalogEndpoint
) -> LocalFunctions:
    """The functions over real HTTP: an empty table and a Service Catalog endpoint with no faults."""
    return lambdas


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext()


def closed_port() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    return closed_port()


@contextlib.contextmanager
def while_calling_service_catalog(lambdas: LocalFunctions, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` once the handler has claimed its record and is about to call Service Catalog."""
    events = lambdas.service_catalog_client.meta.events

    def run(**_: Any) -> None:
        action()

    events.register("before-parameter-build.service-catalog", run)
    try:
        yield
    finally:
        events.unregister("before-parameter-build.service-catalog", run)


def client_without_retries(service: str, endpoint_url: str) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
    return boto3.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]

"""Shared fixtures: no AWS account, no Docker, nothing beyond loopback.

Servers start once per session and only when a test asks for them: moto's server is the DynamoDB,
``local_aws.service_catalog`` is Service Catalog. The handler module is imported after the endpoint
variables are set, as Lambda would import it with its environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from local_aws import dynamodb
from local_aws.lambda_context import LocalLambdaContext
from local_aws.service_catalog import ServiceCatalogEndpoint

EVENTS = Path(__file__).resolve().parent.parent / "events"
TABLE_NAME = "engine-result-notifier-test"
SAMPLE_TOKEN = "QVFJQ0FIaGZsY3pZcnB2bjFXd2Z0T1lKeEFkZmY4bXZ0Vk5lZ3RzQ3RzU2JUMDJ3PT0="

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


def invoke(handler_module: ModuleType, event: Any) -> dict[str, str]:
    """One delivery to the handler, with a fresh Lambda context."""
    result: dict[str, str] = handler_module.lambda_handler(event, LocalLambdaContext())
    return result


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
def handler_module(dynamodb_url: str, service_catalog_endpoint: ServiceCatalogEndpoint) -> ModuleType:
    """``engine_result_notifier.handler``, imported once with the local endpoints in its environment."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_SERVICE_CATALOG": service_catalog_endpoint.endpoint_url,
            "IDEMPOTENCY_TABLE_NAME": TABLE_NAME,
            "SERVICE_CATALOG_MAX_ATTEMPTS": "2",
        }
    )
    from engine_result_notifier import handler  # noqa: PLC0415 (needs the environment above)

    return handler


@pytest.fixture
def idempotency_table(dynamodb_url: str) -> str:
    """An empty idempotency table, created from its definition in template.yaml."""
    client = boto3.client("dynamodb", endpoint_url=dynamodb_url)
    if TABLE_NAME in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE_NAME)
    dynamodb.create_idempotency_table(client, TABLE_NAME)
    return TABLE_NAME


@pytest.fixture
def service_catalog(service_catalog_endpoint: ServiceCatalogEndpoint) -> ServiceCatalogEndpoint:
    """The local Service Catalog, with no requests recorded and no faults set."""
    service_catalog_endpoint.reset()
    return service_catalog_endpoint


@pytest.fixture
def local_services(
    handler_module: ModuleType, idempotency_table: str, service_catalog: ServiceCatalogEndpoint
) -> ModuleType:
    """The handler module over real HTTP: an empty table and a Service Catalog endpoint with no faults."""
    return handler_module


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext()

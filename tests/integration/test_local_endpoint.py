"""``sam local invoke`` without an AWS account: the template's ``EndpointUrl`` parameter (empty by default, and then
no variable at all) points every function at ``make local-services``, which serves every service the functions
call on one fixed port. Docker cannot run here, so what is tested is what ``sam local invoke`` would be given:
the environment the template resolves to, and the services answering on one endpoint."""

from __future__ import annotations

import re
import socket

import boto3
import pytest

from local_aws import serve
from local_aws.template import IDEMPOTENCY_TABLE, LOCAL_REGION, declared_environment, functions, load_template
from tests.conftest import SAMPLE_TOKEN
from tests.documentation import DOCUMENTATION

TEMPLATE = load_template()
CREDENTIALS = {"region_name": LOCAL_REGION, "aws_access_key_id": "local", "aws_secret_access_key": "local"}


@pytest.mark.parametrize("function", functions(TEMPLATE))
def test_without_the_parameter_no_function_has_an_endpoint_variable(function: str) -> None:
    assert "AWS_ENDPOINT_URL" not in declared_environment(TEMPLATE, function)


@pytest.mark.parametrize("function", functions(TEMPLATE))
def test_with_the_parameter_every_function_calls_the_local_endpoint(function: str) -> None:
    environment = declared_environment(TEMPLATE, function, {"EndpointUrl": "http://127.0.0.1:4566"})
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"


def test_the_readme_line_names_the_port_local_services_serve_on() -> None:
    line = next(line for line in DOCUMENTATION.splitlines() if "EndpointUrl=http" in line)
    assert re.search(rf"EndpointUrl=http://127\.0\.0\.1:{serve.PORT}\b", line)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_one_endpoint_serves_the_table_step_functions_and_service_catalog() -> None:
    with serve.local_services(port=free_port()) as (url, service_catalog):
        dynamodb = boto3.client("dynamodb", endpoint_url=url, **CREDENTIALS)
        assert dynamodb.describe_table(TableName=IDEMPOTENCY_TABLE)["Table"]["TableStatus"] == "ACTIVE"
        step_functions = boto3.client("stepfunctions", endpoint_url=url, **CREDENTIALS)
        assert isinstance(step_functions.list_state_machines()["stateMachines"], list)  # moto's backends are shared
        catalog = boto3.client("servicecatalog", endpoint_url=url, **CREDENTIALS)
        catalog.notify_terminate_provisioned_product_engine_workflow_result(
            WorkflowToken=SAMPLE_TOKEN, RecordId="rec-abc123", Status="SUCCEEDED", IdempotencyToken="terminate-rec-abc"
        )
        assert [request.operation for request in service_catalog.accepted] == [
            "NotifyTerminateProvisionedProductEngineWorkflowResult"
        ]

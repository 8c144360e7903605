"""The local Service Catalog endpoint is as strict as the service: it is the fuzzer's oracle."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import boto3
import cbor2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws.service_catalog import TARGET_PREFIX, ServiceCatalogEndpoint
from tests.conftest import SAMPLE_TOKEN

VALID: dict[str, Any] = {
    "WorkflowToken": SAMPLE_TOKEN,
    "RecordId": "rec-1",
    "Status": "FAILED",
    "IdempotencyToken": "provision-rec-1",
    "FailureReason": "Error: BucketAlreadyExists",
    "Outputs": [{"OutputKey": "arn", "OutputValue": "arn:aws:s3:::orders"}],
    "ResourceIdentifier": {"UniqueTag": {"Key": "TAG", "Value": "pp-1 ü"}},
}


@pytest.fixture
def client(service_catalog: ServiceCatalogEndpoint) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("servicecatalog", endpoint_url=service_catalog.endpoint_url, config=config)


def test_a_valid_request_is_accepted_and_recorded(client: Any, service_catalog: ServiceCatalogEndpoint) -> None:
    client.notify_provision_product_engine_workflow_result(**VALID)
    (request,) = service_catalog.accepted
    assert request.parameters == VALID


@pytest.mark.parametrize(
    "change",
    [
        {"RecordId": "rec/!!"},
        {"RecordId": "r" * 101},
        {"Status": "DONE"},
        {"FailureReason": "x" * 2049},
        {"FailureReason": "bell \u0007"},
        {"FailureReason": "emoji \U0001f600"},
        {"WorkflowToken": "not base64!"},
        {"WorkflowToken": "a" * 20001},
        {"IdempotencyToken": "-leading-dash"},
        {"ResourceIdentifier": {"UniqueTag": {"Key": "semi;colon", "Value": "v"}}},
        {"ResourceIdentifier": {"UniqueTag": {"Key": "k", "Value": "v" * 257}}},
    ],
)
def test_what_botocore_sends_but_the_service_rejects_is_rejected(client: Any, change: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        client.notify_provision_product_engine_workflow_result(**{**VALID, **change})
    assert raised.value.response["Error"]["Code"] == "InvalidParametersException"


def post_cbor(endpoint: ServiceCatalogEndpoint, operation: str, parameters: dict[str, Any]) -> tuple[int, Any]:
    """A request as botocore's smithy-rpc-v2-cbor protocol sends it."""
    address = urlsplit(endpoint.endpoint_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port)
    connection.request(
        "POST",
        f"/service/{TARGET_PREFIX}/operation/{operation}",
        body=cbor2.dumps(parameters),
        headers={"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
    )
    response = connection.getresponse()
    answer = (response.status, cbor2.loads(response.read()))
    connection.close()
    return answer


def test_cbor_requests_are_served_too(service_catalog: ServiceCatalogEndpoint) -> None:
    assert post_cbor(service_catalog, "NotifyProvisionProductEngineWorkflowResult", VALID) == (200, {})
    status, error = post_cbor(service_catalog, "NotifyProvisionProductEngineWorkflowResult", {**VALID, "Status": "X"})
    assert status == 400
    assert error["__type"] == "InvalidParametersException"
    assert [request.protocol for request in service_catalog.requests] == ["smithy-rpc-v2-cbor"] * 2


def test_a_member_the_operation_does_not_have_is_rejected(service_catalog: ServiceCatalogEndpoint) -> None:
    # botocore would refuse to send it; the endpoint refuses it as the service would.
    status, error = post_cbor(service_catalog, "NotifyUpdateProvisionedProductEngineWorkflowResult", VALID)
    assert status == 400
    assert "ResourceIdentifier" in error["message"]


def test_faults_are_injected_in_order(client: Any, service_catalog: ServiceCatalogEndpoint) -> None:
    service_catalog.throttle(1)
    service_catalog.fail(1)
    codes = []
    for _ in range(3):
        try:
            client.notify_terminate_provisioned_product_engine_workflow_result(
                WorkflowToken=SAMPLE_TOKEN, RecordId="rec-1", Status="SUCCEEDED", IdempotencyToken="t-1"
            )
            codes.append("OK")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert codes == ["ThrottlingException", "InternalFailure", "OK"]


def test_the_request_log_keeps_no_json_it_could_not_decode(service_catalog: ServiceCatalogEndpoint) -> None:
    address = urlsplit(service_catalog.endpoint_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port)
    connection.request("POST", "/", body=b"{not json", headers={"X-Amz-Target": f"{TARGET_PREFIX}.Notify"})
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["__type"] == "SerializationException"
    connection.close()


def test_a_notify_of_another_operation_for_a_registered_record_is_refused(
    client: Any, service_catalog: ServiceCatalogEndpoint
) -> None:
    service_catalog.register("rec-1", "UPDATE_PROVISIONED_PRODUCT")
    with pytest.raises(ClientError, match="is a UPDATE_PROVISIONED_PRODUCT record") as raised:
        client.notify_provision_product_engine_workflow_result(**VALID)
    assert raised.value.response["Error"]["Code"] == "InvalidParametersException"
    assert service_catalog.accepted == []


def test_a_notify_of_its_own_operation_for_a_registered_record_is_accepted(
    client: Any, service_catalog: ServiceCatalogEndpoint
) -> None:
    service_catalog.register("rec-1", "UPDATE_PROVISIONED_PRODUCT")
    update = {key: value for key, value in VALID.items() if key != "ResourceIdentifier"}
    client.notify_update_provisioned_product_engine_workflow_result(**update)
    assert [request.operation for request in service_catalog.accepted] == [
        "NotifyUpdateProvisionedProductEngineWorkflowResult"
    ]

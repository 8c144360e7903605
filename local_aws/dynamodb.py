"""A real DynamoDB-compatible server on loopback (moto's) and the idempotency table from ``template.yaml``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from moto.server import ThreadedMotoServer

from local_aws.template import IDEMPOTENCY_TABLE, load_template, resource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def start_server() -> tuple[ThreadedMotoServer, str]:
    """Start moto's server on a free loopback port; return it and its endpoint URL. Stop it with ``stop()``."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request is noise here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def table_definition(table_name: str) -> dict[str, Any]:
    """The ``create_table`` arguments for the idempotency table, read from its definition in ``template.yaml``."""
    properties = _table_properties()
    return {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties["BillingMode"],
    }


def create_idempotency_table(client: DynamoDBClient, table_name: str) -> None:
    """Create the table as the template defines it, TTL included, and wait until it exists."""
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    ttl = _table_properties()["TimeToLiveSpecification"]
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )


def _table_properties() -> dict[str, Any]:
    properties: dict[str, Any] = resource(load_template(), IDEMPOTENCY_TABLE)["Properties"]
    return properties

"""The local DynamoDB and Service Catalog servers in a process of their own, so they do not share the
measured process's interpreter. Prints their URLs as one JSON line; stops when standard input closes."""

from __future__ import annotations

import json
import os
import sys

import boto3

from local_aws import dynamodb
from local_aws.service_catalog import ServiceCatalogEndpoint


def main() -> None:
    table_name = sys.argv[1]
    with dynamodb.DynamoDBServer() as dynamodb_server, ServiceCatalogEndpoint() as service_catalog:
        client = boto3.client(
            "dynamodb",
            endpoint_url=dynamodb_server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 (a placeholder for the local server)
        )
        dynamodb.create_idempotency_table(client, table_name)
        print(json.dumps({"dynamodb": dynamodb_server.endpoint_url, "service_catalog": service_catalog.endpoint_url}))
        sys.stdout.flush()
        sys.stdin.read()
    os._exit(0)  # the servers' request threads are daemons; nothing is left to flush


if __name__ == "__main__":
    main()

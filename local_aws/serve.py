"""``make local-services``: the functions' AWS services on one fixed local endpoint, for ``sam local invoke``.

DynamoDB (with the idempotency table, named as ``sam local`` resolves ``!Ref IdempotencyTable``), Step Functions
and SQS are moto's server; Service Catalog's three Notify operations are ``local_aws.service_catalog``'s, answered
on the same port. The template's ``EndpointUrl`` parameter points every function at it (``AWS_ENDPOINT_URL``):

    make local-services
    sam local invoke NotifyProvisionResultFunction -e events/provision-succeeded.json --docker-network host \\
        --parameter-overrides EndpointUrl=http://127.0.0.1:4566

It serves until interrupted (Ctrl-C), and prints each request Service Catalog received, the token hidden.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator

import boto3

from local_aws import dynamodb
from local_aws.service_catalog import ServiceCatalogEndpoint
from local_aws.template import IDEMPOTENCY_TABLE, LOCAL_REGION

PORT = 4566
"""The fixed port ``make local-services`` serves on, as the README's ``sam local invoke`` line names it."""


@contextlib.contextmanager
def local_services(host: str = "127.0.0.1", port: int = PORT) -> Iterator[tuple[str, ServiceCatalogEndpoint]]:
    """Every service on one endpoint, the idempotency table created; its URL and the Service Catalog."""
    service_catalog = ServiceCatalogEndpoint()
    with dynamodb.DynamoDBServer(host, port, service_catalog=service_catalog) as server:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint_url,
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (moto takes any credentials)
        )
        dynamodb.create_idempotency_table(client, IDEMPOTENCY_TABLE)
        yield server.endpoint_url, service_catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make local-services", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=PORT, help=f"the port (default {PORT})")
    arguments = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with local_services(arguments.host, arguments.port) as (url, service_catalog):
            print(f"DynamoDB (table {IDEMPOTENCY_TABLE}), Step Functions, SQS and Service Catalog on {url}")
            print("sam local invoke <function> -e <event> --docker-network host \\")
            print(f"  --parameter-overrides EndpointUrl={url}")
            print("Ctrl-C stops them.", flush=True)
            seen = 0
            while not stop.wait(0.5):
                for request in service_catalog.requests[seen:]:
                    token = request.parameters.get("WorkflowToken")
                    shown = {**request.parameters, "WorkflowToken": f"<{len(str(token))} characters, not shown>"}
                    print(f"Service Catalog received {request.operation}, answered {request.answer_status}:")
                    print(json.dumps(shown, indent=2), flush=True)
                seen = len(service_catalog.requests)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        where = f"{arguments.host}:{arguments.port}"
        print(f"make local-services: cannot serve on {where}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

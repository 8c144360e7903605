"""A real DynamoDB-compatible server on loopback (moto's) and the idempotency table from ``template.yaml``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local_aws.loopback import LoopbackServer
from local_aws.service_catalog import ServiceCatalogEndpoint, encode_answer, is_service_catalog_request
from local_aws.template import IDEMPOTENCY_TABLE, load_template, resource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDBServer(LoopbackServer):
    """moto's server app, one request at a time, on a free loopback port (or the one given).

    DynamoDB applies each conditional write atomically; moto's backend does not lock, so two concurrent
    ``PutItem`` calls could both pass the same condition. Serving requests one at a time restores the
    guarantee the idempotency claim relies on (the requests still arrive concurrently over HTTP).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, service_catalog: ServiceCatalogEndpoint | None = None
    ) -> None:
        """``service_catalog``: also serve its requests, so that one endpoint (``AWS_ENDPOINT_URL``) is every
        service the functions call."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request is noise here
        app: Callable[..., Iterable[bytes]] = _Serialized(DomainDispatcherApplication(create_backend_app))
        if service_catalog is not None:
            app = _WithServiceCatalog(app, service_catalog)
        server = make_server(host, port, app, threaded=True, request_handler=_RequestHandler)
        super().__init__(server, "dynamodb-server")


class _RequestHandler(MotoRequestHandler):
    """moto's request handler without Nagle's algorithm, which would hold small answers for the client's
    delayed ACK (40 ms a request)."""

    disable_nagle_algorithm = True


class _Serialized:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class _WithServiceCatalog:
    """Service Catalog's requests to the local endpoint, every other to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], service_catalog: ServiceCatalogEndpoint) -> None:
        self._app = app
        self._service_catalog = service_catalog

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, target = environ.get("PATH_INFO", ""), environ.get("HTTP_X_AMZ_TARGET", "")
        if not is_service_catalog_request(path, target):
            return self._app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        protocol, status, error, message = self._service_catalog.serve(path, target, body)
        payload, headers = encode_answer(protocol, error, message)
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]


def table_definition(table_name: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``create_table`` arguments for the idempotency table, read from its definition in ``template.yaml``."""
    properties = properties or _table_properties()
    return {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties["BillingMode"],
    }


def create_idempotency_table(client: DynamoDBClient, table_name: str) -> None:
    """Create the table as the template defines it, TTL included, and wait until it exists."""
    properties = _table_properties()
    client.create_table(**table_definition(table_name, properties))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ttl = properties["TimeToLiveSpecification"]
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )


def _table_properties() -> dict[str, Any]:
    properties: dict[str, Any] = resource(load_template(), IDEMPOTENCY_TABLE)["Properties"]
    return properties

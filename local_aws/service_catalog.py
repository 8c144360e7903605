"""A local Service Catalog endpoint for the three engine-workflow Notify operations (moto has none of them).

It speaks both protocols botocore may use for Service Catalog (``smithy-rpc-v2-cbor``, which botocore
1.44 picks, and JSON 1.1), checks every member against the constraints in botocore's own service model,
including the maximum lengths, patterns and enum that botocore does not check before sending, answers
with the modelled errors, and records every request. Faults can be injected: throttling, HTTP 500,
a delay, or a rejection for chosen record ids. A test can register a record's operation, as Service Catalog
knows it from the request that created the record; a notify of another operation for that record is refused.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import cbor2
import regex

from local_aws.loopback import LoopbackServer

TARGET_PREFIX = "AWS242ServiceCatalogService"
NOTIFY_OPERATIONS = (
    "NotifyProvisionProductEngineWorkflowResult",
    "NotifyUpdateProvisionedProductEngineWorkflowResult",
    "NotifyTerminateProvisionedProductEngineWorkflowResult",
)
_CBOR_PATH_PREFIX = f"/service/{TARGET_PREFIX}/operation/"
ENGINE_OPERATIONS = dict(
    zip(
        NOTIFY_OPERATIONS,
        ("PROVISION_PRODUCT", "UPDATE_PROVISIONED_PRODUCT", "TERMINATE_PROVISIONED_PRODUCT"),
        strict=True,
    )
)
"""The engine operation (the workflow payload's ``operation``) whose result each notify operation reports."""


class ConstraintViolationError(ValueError):
    """A request member breaks a constraint of the service model."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the endpoint received it, and the answer it gave."""

    operation: str
    parameters: dict[str, Any]
    protocol: str
    answer_status: int
    answer_error: str | None


@dataclass
class _Faults:
    throttles_left: int = 0
    server_errors_left: int = 0
    delay_seconds: float = 0.0
    delays_left: int | None = None
    rejected_record_ids: dict[str, str] = field(default_factory=dict)
    record_operations: dict[str, str] = field(default_factory=dict)


class ServiceCatalogEndpoint(LoopbackServer):
    """The endpoint: ``start()``, point ``AWS_ENDPOINT_URL_SERVICE_CATALOG`` at ``endpoint_url``, ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._service_model = botocore.session.get_session().get_service_model("servicecatalog")
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults = _Faults()
        self._in_flight = 0
        server = ThreadingHTTPServer((host, port), _handler_class(self))
        server.daemon_threads = True
        super().__init__(server, "service-catalog-endpoint")

    # What was received.

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, faulted and refused ones included, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def accepted(self) -> list[RecordedRequest]:
        """The requests answered with success: the notifications Service Catalog took."""
        return [request for request in self.requests if request.answer_status == 200]  # noqa: PLR2004

    # Faults.

    def reset(self) -> None:
        """Forget every request and clear every fault."""
        with self._lock:
            self._requests.clear()
            self._faults = _Faults()

    def throttle(self, times: int) -> None:
        """Answer the next ``times`` requests with ``ThrottlingException``."""
        with self._lock:
            self._faults.throttles_left = times

    def fail(self, times: int) -> None:
        """Answer the next ``times`` requests with HTTP 500 ``InternalFailure``."""
        with self._lock:
            self._faults.server_errors_left = times

    def delay(self, seconds: float, times: int | None = None) -> None:
        """Wait this long before answering each of the next ``times`` requests (every request if None)."""
        with self._lock:
            self._faults.delay_seconds = seconds
            self._faults.delays_left = times

    @property
    def in_flight(self) -> int:
        """How many requests have arrived and are not answered yet."""
        with self._lock:
            return self._in_flight

    def reject(self, record_id: str, error_code: str = "InvalidParametersException") -> None:
        """Answer every request for this record id with a modelled error."""
        with self._lock:
            self._faults.rejected_record_ids[record_id] = error_code

    def register(self, record_id: str, operation: str) -> None:
        """Know the record as Service Catalog does: created by a request of this engine operation
        (``PROVISION_PRODUCT`` ...). A notify for it of another operation is refused with
        ``InvalidParametersException``."""
        if operation not in ENGINE_OPERATIONS.values():
            raise ValueError(f"operation must be one of {sorted(ENGINE_OPERATIONS.values())}")
        with self._lock:
            self._faults.record_operations[record_id] = operation

    # Serving.

    def serve(self, path: str, target: str, body: bytes) -> tuple[str, int, str | None, str]:
        """One HTTP request: its protocol, and the answer's status, error code and message."""
        if path.startswith(_CBOR_PATH_PREFIX):
            operation = path.removeprefix(_CBOR_PATH_PREFIX)
            protocol, decode = "smithy-rpc-v2-cbor", _decode_cbor
        else:
            operation = target.removeprefix(f"{TARGET_PREFIX}.")
            protocol, decode = "json", _decode_json
        try:
            parameters = decode(body)
        except ValueError:
            return protocol, 400, "SerializationException", "The body could not be decoded"
        return (protocol, *self.answer(operation, parameters, protocol))

    def answer(self, operation: str, parameters: Any, protocol: str) -> tuple[int, str | None, str]:
        """``(HTTP status, error code or None, message)`` for one request, recording it."""
        with self._lock:
            self._in_flight += 1
        try:
            status, error, message = self._decide(operation, parameters)
        finally:
            with self._lock:
                self._in_flight -= 1
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    operation=operation,
                    parameters=parameters if isinstance(parameters, dict) else {},
                    protocol=protocol,
                    answer_status=status,
                    answer_error=error,
                )
            )
        return status, error, message

    def _decide(self, operation: str, parameters: Any) -> tuple[int, str | None, str]:
        with self._lock:
            delay = self._faults.delay_seconds if self._faults.delays_left != 0 else 0.0
            if delay and self._faults.delays_left is not None:
                self._faults.delays_left -= 1
        if delay:
            time.sleep(delay)
        if operation not in NOTIFY_OPERATIONS:
            return 400, "UnknownOperationException", f"{operation} is not served by this endpoint"
        with self._lock:
            if self._faults.throttles_left:
                self._faults.throttles_left -= 1
                return 400, "ThrottlingException", "Rate exceeded"
            if self._faults.server_errors_left:
                self._faults.server_errors_left -= 1
                return 500, "InternalFailure", "An internal error occurred"
        try:
            self.check(operation, parameters)
        except ConstraintViolationError as violation:
            return 400, "InvalidParametersException", str(violation)
        return self._refusal_for_record(operation, parameters["RecordId"]) or (200, None, "")

    def _refusal_for_record(self, operation: str, record_id: str) -> tuple[int, str | None, str] | None:
        """The answer to a valid request that this record nevertheless refuses, if any."""
        with self._lock:
            rejected = self._faults.rejected_record_ids.get(record_id)
            record_operation = self._faults.record_operations.get(record_id, ENGINE_OPERATIONS[operation])
        if rejected is not None:
            return 400, rejected, f"Record {record_id} was rejected by this endpoint"
        if record_operation != ENGINE_OPERATIONS[operation]:
            return (
                400,
                "InvalidParametersException",
                (f"Record {record_id} is a {record_operation} record: {operation} does not apply to it"),
            )
        return None

    def check(self, operation: str, parameters: Any) -> None:
        """Raise ``ConstraintViolationError`` unless the parameters meet every constraint of the operation's input."""
        _check_shape(self._service_model.operation_model(operation).input_shape, parameters, "")


def _check_shape(shape: Any, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ConstraintViolationError(f"{path or 'input'}: expected a structure")
        unknown = set(value) - set(shape.members)
        if unknown:
            raise ConstraintViolationError(f"{path or 'input'}: unknown members {sorted(unknown)}")
        for name in shape.required_members:
            if name not in value:
                raise ConstraintViolationError(f"{path}{name}: is required")
        for name, member_value in value.items():
            _check_shape(shape.members[name], member_value, f"{path}{name}.")
    elif kind == "list":
        if not isinstance(value, list):
            raise ConstraintViolationError(f"{path.rstrip('.')}: expected a list")
        _check_length(shape.metadata, len(value), path)
        for index, item in enumerate(value):
            _check_shape(shape.member, item, f"{path.rstrip('.')}[{index}].")
    elif kind == "string":
        _check_string(shape, value, path.rstrip("."))
    else:
        raise ConstraintViolationError(f"{path.rstrip('.')}: shape type {kind} is not served by this endpoint")


def _check_string(shape: Any, value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise ConstraintViolationError(f"{path}: expected a string")
    metadata = shape.metadata
    _check_length(metadata, len(value), path)
    if shape.enum and value not in shape.enum:
        raise ConstraintViolationError(f"{path}: must be one of {shape.enum}")
    if "pattern" in metadata and regex.fullmatch(_python_pattern(metadata["pattern"]), value) is None:
        raise ConstraintViolationError(f"{path}: does not match {metadata['pattern']}")


def _check_length(metadata: dict[str, Any], length: int, path: str) -> None:
    if "min" in metadata and length < metadata["min"]:
        raise ConstraintViolationError(f"{path.rstrip('.')}: shorter than {metadata['min']}")
    if "max" in metadata and length > metadata["max"]:
        raise ConstraintViolationError(f"{path.rstrip('.')}: longer than {metadata['max']}")


def _python_pattern(model_pattern: str) -> str:
    """The model's (Java) pattern for a whole-value match; ``regex`` understands ``\\p{L}`` and ``\\uXXXX``."""
    return model_pattern.removeprefix("^").removesuffix("$")


def _handler_class(endpoint: ServiceCatalogEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One send per answer, without Nagle: headers and body in separate small segments would wait
        # on the client's delayed ACK (40 ms a request) and drown every figure measured through here.
        disable_nagle_algorithm = True
        wbufsize = 64 * 1024

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            protocol, status, error, message = endpoint.serve(self.path, self.headers.get("X-Amz-Target", ""), body)
            self._send(protocol, status, error, message)

        def _send(self, protocol: str, status: int, error: str | None, message: str) -> None:
            payload, headers = encode_answer(protocol, error, message)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: requests hold workflow tokens, and the tests read ``requests`` instead."""

    return Handler


def is_service_catalog_request(path: str, target: str) -> bool:
    """Whether an HTTP request is for Service Catalog, in either protocol botocore may use."""
    return path.startswith(_CBOR_PATH_PREFIX) or target.startswith(f"{TARGET_PREFIX}.")


def encode_answer(protocol: str, error: str | None, message: str) -> tuple[bytes, dict[str, str]]:
    """An answer's body and headers, in the protocol of the request."""
    document: dict[str, str] = {} if error is None else {"__type": error, "message": message}
    if protocol == "json":
        payload, content_type = json.dumps(document).encode(), "application/x-amz-json-1.1"
    else:
        payload, content_type = cbor2.dumps(document), "application/cbor"
    headers = {"Content-Type": content_type, "Content-Length": str(len(payload)), "x-amzn-RequestId": str(uuid.uuid4())}
    if protocol != "json":
        headers["smithy-protocol"] = "rpc-v2-cbor"
    return payload, headers


def _decode_cbor(body: bytes) -> Any:
    try:
        return cbor2.loads(body) if body else {}
    except cbor2.CBORDecodeError as error:
        raise ValueError(str(error)) from error


def _decode_json(body: bytes) -> Any:
    return json.loads(body) if body else {}

"""Exactly once per record: claim the record, call Service Catalog, record the result.

Every use case (a completion event at an entry point, the rescue of an ended execution, the operators' commands)
makes its notification through one ``Delivery``, so that one idempotency key per record holds across all of them:
a second notification for a record, by whichever path or operation, is a duplicate or a conflict, never a call.
The outcomes of a delivery (``models.Outcome``), their log lines and their metrics live here, and so does reading
back what the table holds for a record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier import service_catalog
from engine_result_notifier.errors import (
    IdempotencyStoreUnavailableError,
    InvalidEventError,
    NotificationConflictError,
    NotificationRejectedError,
    ServiceCatalogUnavailableError,
)
from engine_result_notifier.models import DeliveryPath, NotifyRequest, NotifyResult, Outcome, Status, StoredRecord
from engine_result_notifier.observability import logger, metrics, tracer
from engine_result_notifier.timeouts import longest_call_seconds

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_servicecatalog import ServiceCatalogClient

    from engine_result_notifier.settings import Settings

IDEMPOTENCY_KEY_PREFIX = "engine-result-notification"
"""Fixed, so that keys do not change with the function's name and every path shares them."""

IDEMPOTENCY_KEY_FIELDS = "record_id"
"""One notification per record, whichever path or operation claims it: a record id names one request of one
operation in Service Catalog, so two notifications for it can never both be made."""

IDEMPOTENCY_PAYLOAD_FIELDS = "[operation, status, failure_reason, outputs, unique_tag]"
"""What makes a second notification for the same record a conflict rather than a duplicate (hashed)."""


DYNAMODB_CALLS_PER_DELIVERY = 3
"""Powertools' claim (a conditional ``PutItem``), a ``GetItem`` of the record it ran into, and the completion
(``UpdateItem``) or the release (``DeleteItem``)."""


def new_dynamodb_client() -> DynamoDBClient:
    """The idempotency table's client; the endpoint comes from ``AWS_ENDPOINT_URL_DYNAMODB`` if set."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5)
    return boto3.client("dynamodb", config=config)


class Delivery:
    """Makes each notification once, recorded in the idempotency table, and reads back what it recorded."""

    def __init__(
        self, settings: Settings, service_catalog_client: ServiceCatalogClient, dynamodb_client: DynamoDBClient
    ) -> None:
        self._service_catalog = service_catalog_client
        self._dynamodb = dynamodb_client
        self._table_name = settings.idempotency_table_name
        self._config = IdempotencyConfig(
            event_key_jmespath=IDEMPOTENCY_KEY_FIELDS,
            payload_validation_jmespath=IDEMPOTENCY_PAYLOAD_FIELDS,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.idempotency_expires_after_seconds,
            response_hook=_mark_duplicate,
        )
        self._notify_once = idempotent_function(
            self._call_service_catalog,
            data_keyword_argument="request",
            persistence_store=DynamoDBPersistenceLayer(
                table_name=settings.idempotency_table_name, boto3_client=dynamodb_client
            ),
            config=self._config,
            output_serializer=_StoredResultSerializer(),
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )
        # The same records, read by key alone (the operators' show-record): no content to validate against.
        self._records = DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table_name, boto3_client=dynamodb_client
        )
        self._records.configure(
            IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY_FIELDS), key_prefix=IDEMPOTENCY_KEY_PREFIX
        )

    def longest_seconds(self) -> float:
        """The longest one delivery can take: the claim, a read of the record it ran into and the completion (or
        the release) in the table, and the call to Service Catalog, each at its client's worst."""
        return DYNAMODB_CALLS_PER_DELIVERY * longest_call_seconds(self._dynamodb) + longest_call_seconds(
            self._service_catalog
        )

    def begin(self, context: LambdaContext) -> None:
        """Start a unit of work: its claims expire with this invocation, and its metrics start clean (Powertools
        keeps dimensions across invocations when a flush had no metric)."""
        self._config.register_lambda_context(context)
        metrics.clear_metrics()

    def deliver(self, request: NotifyRequest, path: DeliveryPath, *, redriven: bool = False) -> NotifyResult:
        """Make the notification unless it was made already; what this delivery came to.

        ``path``: which way it came. From the engine, a record already notified differently is a conflict
        (``NotificationConflictError``); from any other way, the request is what an ended execution meant to send,
        and such a record holds the engine's own notification (``ALREADY_NOTIFIED``), unless the execution was
        ``redriven``: its latest attempt then ended otherwise than the notification made before the redrive, which
        Service Catalog keeps, and the conflict is counted and logged for a person (``CONFLICT``; nothing raised,
        so that no retry repeats it).
        """
        annotate(request)
        result = self._deliver_once(request, path, redriven=redriven)
        tracer.put_annotation("outcome", result.outcome)
        return result

    def already_notified(self, request: NotifyRequest) -> NotifyResult:
        """The engine's own notify task completed for this record: nothing to send."""
        annotate(request)
        logger.info("Record already notified by the engine's own notify task; no call")
        metrics.add_metric(name="AlreadyNotified", unit=MetricUnit.Count, value=1)
        tracer.put_annotation("outcome", Outcome.ALREADY_NOTIFIED.value)
        return _result(request, Outcome.ALREADY_NOTIFIED)

    def record_state(self, record_id: str) -> StoredRecord | None:
        """What the idempotency table holds for a record: None if nothing (never notified, or expired away)."""
        try:
            record = self._records.get_record({"record_id": record_id})
        except IdempotencyItemNotFoundError:
            return None
        except IdempotencyPersistenceLayerError as error:
            raise IdempotencyStoreUnavailableError(
                f"the idempotency table could not be read ({type(error).__name__})"
            ) from error
        except ClientError as error:  # Powertools reads a record with the client's own errors
            code = error.response.get("Error", {}).get("Code", "Unknown")
            missing = ": IDEMPOTENCY_TABLE_NAME must name the stack's table, in its region"
            raise IdempotencyStoreUnavailableError(
                f"the idempotency table {self._table_name} could not be read ({code})"
                + (missing if code == "ResourceNotFoundException" else "")
            ) from error
        except BotoCoreError as error:
            raise IdempotencyStoreUnavailableError(
                f"the idempotency table {self._table_name} could not be read ({type(error).__name__})"
            ) from error
        if record is None:
            return None
        data = record.response_json_as_dict()
        return StoredRecord(  # DynamoDB gives numbers back as Decimal
            status=record.status,
            expires_at=int(record.expiry_timestamp) if record.expiry_timestamp else None,
            in_progress_until_ms=int(record.in_progress_expiry_timestamp)
            if record.in_progress_expiry_timestamp
            else None,
            result=_StoredResultSerializer().from_dict(data) if data else None,
        )

    def _deliver_once(self, request: NotifyRequest, path: DeliveryPath, *, redriven: bool) -> NotifyResult:
        try:
            result: NotifyResult = self._notify_once(request=request, path=path)
        except IdempotencyValidationError as error:
            if not _completed(error):
                # The other notification may still fail and be released: this one must be retried, not dropped.
                logger.info("A different notification for this record is in progress; retry later")
                metrics.add_metric(name="DeliveriesInProgress", unit=MetricUnit.Count, value=1)
                raise IdempotencyAlreadyInProgressError(
                    "a different notification for this record is in progress"
                ) from error
            held = _held(error)
            same_failure = (held.operation, held.status) == (request.operation.value, Status.FAILED.value)
            if path is not DeliveryPath.ENGINE and redriven and same_failure and request.status is Status.FAILED:
                # A redriven execution that failed again (the reference engine's Fail state re-entered) asks for
                # FAILED with another reason: the record holds FAILED, which is right; nobody needs to look.
                logger.info(
                    "Execution redriven and ended failed again: the record holds its failure already; no call",
                    **_held_keys(held),
                )
                metrics.add_metric(name="AlreadyNotified", unit=MetricUnit.Count, value=1)
                return _result(request, Outcome.ALREADY_NOTIFIED)
            if path is not DeliveryPath.ENGINE and redriven:
                logger.warning(
                    "Execution redriven after its record was notified, and its latest attempt ended otherwise: "
                    "Service Catalog keeps what it holds; no call",
                    **_held_keys(held),
                    asked_status=request.status.value,
                )
                metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
                return _result(request, Outcome.CONFLICT)
            if path is not DeliveryPath.ENGINE:
                # The engine notified and its execution then ended FAILED (the reference engine's Fail state after
                # a failure notification): normal operation, nothing left to do.
                logger.info("Record already notified: the safety net has nothing to add; no call")
                metrics.add_metric(name="AlreadyNotified", unit=MetricUnit.Count, value=1)
                return _result(request, Outcome.ALREADY_NOTIFIED)
            logger.warning(
                "Conflicting notification: a different one was already made for this record; no call",
                **_held_keys(held),
                asked_operation=request.operation.value,
                asked_status=request.status.value,
            )
            metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=1)
            raise NotificationConflictError(
                f"record {request.record_id} already holds {held.operation} {held.status}, notified at "
                f"{held.notified_at or '(time not recorded)'} by {held.path or '(way not recorded)'}: this "
                f"{request.operation.value} {request.status.value} was not sent"
            ) from error
        except IdempotencyAlreadyInProgressError:
            logger.info("Another delivery of this notification is in progress; retry later")
            metrics.add_metric(name="DeliveriesInProgress", unit=MetricUnit.Count, value=1)
            raise
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as error:
            logger.warning("Idempotency table unavailable", error_type=type(error).__name__)
            metrics.add_metric(name="IdempotencyStoreUnavailable", unit=MetricUnit.Count, value=1)
            raise IdempotencyStoreUnavailableError(
                f"the idempotency table could not be used ({type(error).__name__}); retry later"
            ) from error
        return result

    def _call_service_catalog(self, request: NotifyRequest, path: DeliveryPath) -> NotifyResult:
        """The call itself, run by Powertools between the claim and the record."""
        try:
            service_catalog.send_notification(self._service_catalog, request)
        except NotificationRejectedError as error:
            logger.error("Service Catalog rejected the notification", reason=str(error))
            metrics.add_metric(name="RejectedNotifications", unit=MetricUnit.Count, value=1)
            raise
        except ServiceCatalogUnavailableError as error:
            logger.warning("Service Catalog unavailable; the notification is released for a retry", reason=str(error))
            metrics.add_metric(name="ServiceCatalogUnavailable", unit=MetricUnit.Count, value=1)
            raise
        logger.info(
            "Service Catalog notified",
            idempotency_token=request.idempotency_token,
            output_count=len(request.outputs),
            failure_reason=request.failure_reason,  # free of the token and sensitive values, as sent
        )
        metrics.add_dimension(name="status", value=request.status.value)
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        notified_at = datetime.now(UTC).isoformat(timespec="seconds")
        return replace(_result(request, Outcome.NOTIFIED), notified_at=notified_at, path=path.value)


def reject(error: InvalidEventError) -> None:
    """An event no notification can be made from: logged and counted, then raised by the caller."""
    logger.warning("Event rejected: no notification can be made from it", reason=str(error))
    metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)


def annotate(request: NotifyRequest) -> None:
    """Every log line, the trace and the metrics of this notification carry its record, operation and status."""
    logger.set_correlation_id(request.record_id)
    logger.append_keys(record_id=request.record_id, operation=request.operation.value, status=request.status.value)
    tracer.put_annotation("record_id", request.record_id)
    tracer.put_annotation("operation", request.operation.value)
    tracer.put_annotation("status", request.status.value)
    metrics.add_dimension(name="operation", value=request.operation.value)


def _result(request: NotifyRequest, outcome: Outcome) -> NotifyResult:
    return NotifyResult(
        record_id=request.record_id,
        operation=request.operation.value,
        status=request.status.value,
        idempotency_token=request.idempotency_token,
        outcome=outcome.value,
        failure_reason=request.failure_reason or "",
        output_keys=", ".join(output.key for output in request.outputs),
    )


class _StoredResultSerializer(BaseIdempotencySerializer):
    """The result as the idempotency table stores it, read back whichever version of this package wrote it.

    Records live for days across deployments: a field added to or removed from ``NotifyResult`` must not
    turn every duplicate delivery into a ``TypeError``.
    """

    def to_dict(self, data: NotifyResult) -> dict[str, Any]:
        return asdict(data)

    def from_dict(self, data: dict[str, Any]) -> NotifyResult:
        return NotifyResult(**{field.name: str(data.get(field.name, "")) for field in fields(NotifyResult)})


def _held(conflict: IdempotencyValidationError) -> NotifyResult:
    """What the record a conflicting notification ran into holds: the result stored with it (``_completed``
    says where it comes from)."""
    stored = getattr(conflict.__cause__, "response", {}).get("Item", {}).get("data", {}).get("S", "{}")
    try:
        data = json.loads(stored)
    except (ValueError, RecursionError):
        data = {}
    return _StoredResultSerializer().from_dict(data if isinstance(data, dict) else {})


def _held_keys(held: NotifyResult) -> dict[str, Any]:
    """What a record holds, as a conflict's log line says it."""
    return {
        "held_operation": held.operation,
        "held_status": held.status,
        "held_since": held.notified_at or "(not recorded)",
        "held_by": held.path or "(not recorded)",
    }


def _completed(conflict: IdempotencyValidationError) -> bool:
    """Whether the record a conflicting notification ran into is completed, not merely claimed.

    Powertools raises the conflict from the failed conditional ``PutItem``, whose error carries the stored
    item (``ReturnValuesOnConditionCheckFailure``). Without it, the record counts as in progress: a retry
    is safe, a dropped notification is not.
    """
    stored = getattr(conflict.__cause__, "response", {}).get("Item", {})
    return bool(stored.get("status", {}).get("S") == "COMPLETED")


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools' response hook, given the stored result of a notification that was already made."""
    logger.info("Duplicate delivery: this notification was already made; no call")
    metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
    stored: NotifyResult = response
    return replace(stored, outcome=Outcome.DUPLICATE.value)

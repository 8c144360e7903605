"""The floor: what any exactly-once notifier must send, with bare boto3 and nothing else.

Two variants of the same three requests (claim with a conditional PutItem, notify, record completion
with UpdateItem):

- ``same``: the very requests Powertools' DynamoDB layer sends (attributes, condition and update
  expressions). The server's work is then the same on both sides, so the ratio measures what the
  package adds on the client; moto's expression parser, unlike DynamoDB, takes longer on longer
  expressions, which would otherwise count against the package.
- ``minimal``: the shortest requests that still claim and complete a record, for information.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any


def notify_once(dynamodb: Any, service_catalog: Any, record_id: str, variant: str = "same") -> None:
    """Claim the record, notify, record completion: three requests."""
    table = os.environ["IDEMPOTENCY_TABLE_NAME"]
    key = {"id": {"S": f"bare#{hashlib.md5(record_id.encode()).hexdigest()}"}}  # noqa: S324 (as Powertools)
    if variant == "same":
        _claim_as_powertools(dynamodb, table, key)
    else:
        _claim_minimal(dynamodb, table, key)
    service_catalog.notify_provision_product_engine_workflow_result(
        WorkflowToken="YmVuY2g=", RecordId=record_id, Status="SUCCEEDED", IdempotencyToken=f"provision-{record_id}"
    )
    if variant == "same":
        _complete_as_powertools(dynamodb, table, key, record_id)
    else:
        _complete_minimal(dynamodb, table, key)


def _claim_as_powertools(dynamodb: Any, table: str, key: dict[str, Any]) -> None:
    now = time.time()
    dynamodb.put_item(
        TableName=table,
        Item={
            **key,
            "expiration": {"N": str(int(now) + 3600)},
            "status": {"S": "INPROGRESS"},
            "in_progress_expiration": {"N": str(int(now * 1000) + 60_000)},
            "validation": {"S": hashlib.md5(b"[]").hexdigest()},  # noqa: S324 (as Powertools)
        },
        ConditionExpression=(
            "attribute_not_exists(#id) OR #expiry < :now OR "
            "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
        ),
        ExpressionAttributeNames={
            "#id": "id",
            "#expiry": "expiration",
            "#in_progress_expiry": "in_progress_expiration",
            "#status": "status",
        },
        ExpressionAttributeValues={
            ":now": {"N": str(int(now))},
            ":now_in_millis": {"N": str(int(now * 1000))},
            ":inprogress": {"S": "INPROGRESS"},
        },
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )


def _complete_as_powertools(dynamodb: Any, table: str, key: dict[str, Any], record_id: str) -> None:
    result = {"record_id": record_id, "operation": "PROVISION_PRODUCT", "status": "SUCCEEDED", "outcome": "NOTIFIED"}
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #response_data = :response_data, #expiry = :expiry, #status = :status, "
        "#validation_key = :validation_key",
        ExpressionAttributeNames={
            "#expiry": "expiration",
            "#response_data": "data",
            "#status": "status",
            "#validation_key": "validation",
        },
        ExpressionAttributeValues={
            ":expiry": {"N": str(int(time.time()) + 3600)},
            ":response_data": {"S": json.dumps(result, sort_keys=True)},
            ":status": {"S": "COMPLETED"},
            ":validation_key": {"S": hashlib.md5(b"[]").hexdigest()},  # noqa: S324 (as Powertools)
        },
    )


def _claim_minimal(dynamodb: Any, table: str, key: dict[str, Any]) -> None:
    now = int(time.time())
    dynamodb.put_item(
        TableName=table,
        Item={**key, "status": {"S": "INPROGRESS"}, "expiration": {"N": str(now + 3600)}},
        ConditionExpression="attribute_not_exists(#id) OR #expiration < :now",
        ExpressionAttributeNames={"#id": "id", "#expiration": "expiration"},
        ExpressionAttributeValues={":now": {"N": str(now)}},
    )


def _complete_minimal(dynamodb: Any, table: str, key: dict[str, Any]) -> None:
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #status = :completed",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":completed": {"S": "COMPLETED"}},
    )

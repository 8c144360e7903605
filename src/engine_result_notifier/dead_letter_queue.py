"""The safety net's dead-letter queue, as the operators' replay command reads it: named errors out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier.errors import DeadLetterQueueUnavailableError
from engine_result_notifier.events import is_status_change

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

VISIBILITY_TIMEOUT_SECONDS = 300
"""How long a received message stays hidden while the command works on it."""


def new_client() -> SQSClient:
    """An SQS client; the endpoint comes from ``AWS_ENDPOINT_URL_SQS`` or ``AWS_ENDPOINT_URL`` if set."""
    return boto3.client("sqs")


class DeadLetterQueue:
    """The queue's messages: received, released for later, or deleted once delivered."""

    def __init__(self, queue_url: str, sqs_client: SQSClient) -> None:
        self._url = queue_url
        self._sqs = sqs_client

    def receive_all(self) -> list[Mapping[str, Any]]:
        """Every message now visible, each received once and hidden while the command works on it."""
        received: dict[str, Mapping[str, Any]] = {}
        try:
            while True:
                batch = self._sqs.receive_message(
                    QueueUrl=self._url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
                    WaitTimeSeconds=0,
                ).get("Messages", [])
                fresh = [message for message in batch if message["MessageId"] not in received]
                if not fresh:
                    return list(received.values())
                received.update((message["MessageId"], message) for message in fresh)
        except (ClientError, BotoCoreError) as error:
            raise DeadLetterQueueUnavailableError(
                f"the dead-letter queue could not be read ({type(error).__name__})"
            ) from error

    def release(self, message: Mapping[str, Any]) -> None:
        """Make a message visible again at once: a dry run, or a delivery that failed again."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    def delete(self, message: Mapping[str, Any]) -> None:
        """Delete a message whose delivery succeeded."""
        self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])


def dead_letter_event(body: str) -> Mapping[str, Any] | None:
    """The event of a dead letter: a Lambda ``OnFailure`` destination record's ``requestPayload``, or the
    status-change event itself (what the EventBridge rule's own dead-letter queue receives)."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if isinstance(message, Mapping) and isinstance(message.get("requestPayload"), Mapping):
        message = message["requestPayload"]
    return message if is_status_change(message) else None

"""The safety net's dead-letter queue, as the operators' replay command reads it: named errors out."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from engine_result_notifier.errors import DeadLetterQueueUnavailableError, DeadLetterReceiptExpiredError
from engine_result_notifier.events import is_status_change

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

BATCH_SIZE = 5
"""Messages received at a time: each is delivered before the next batch is received."""
DELIVERY_SECONDS = 60
"""The longest one delivery takes: reading the execution and its history, and a notify call with botocore's
retries (each read times out after 10 s)."""
VISIBILITY_TIMEOUT_SECONDS = BATCH_SIZE * DELIVERY_SECONDS
"""How long a received batch stays hidden: long enough to deliver all of it."""
LONG_POLL_SECONDS = 1
"""Long polling: every SQS server is asked, so a small queue that holds messages never answers "none"
(short polling asks a sample of them, and may)."""
MESSAGES_PER_REPLAY = 10_000
"""A replay's budget: the most messages it reads; what is left waits for the next replay, and the replay says so."""
_EXPIRED_RECEIPT_CODES = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight", "InvalidParameterValue"})


def new_client() -> SQSClient:
    """An SQS client; the endpoint comes from ``AWS_ENDPOINT_URL_SQS`` or ``AWS_ENDPOINT_URL`` if set."""
    return boto3.client("sqs")


class DeadLetterQueue:
    """The queue's messages, a batch at a time: received, then deleted once delivered, or released at the end."""

    def __init__(self, queue_url: str, sqs_client: SQSClient) -> None:
        self._url = queue_url
        self._sqs = sqs_client
        self._receipts: dict[str, str] = {}
        """Each message received, by id: the receipt of its latest receive (the only one SQS still takes)."""
        self._done: set[str] = set()
        """Messages deleted or released (or tried): one that comes back is made visible again when the reading ends."""
        self.budget_spent = False
        """The last ``batches`` stopped at its budget: messages may be left in the queue."""

    def batches(self, budget: int = MESSAGES_PER_REPLAY) -> Iterator[Sequence[Mapping[str, Any]]]:
        """The messages in the queue, a batch at a time, each given once and hidden while it is worked on; until a
        receive brings none (the queue holds nothing visible), or ``budget`` messages were given. A message given
        already that comes back (its receipt expired) is hidden again under its new receipt, and the receiving goes
        on: the messages after it are read too. One that came back after it was deleted or released is made
        visible again once the reading ends."""
        self.budget_spent = False
        given = 0
        back_after_done: dict[str, Mapping[str, Any]] = {}
        try:
            for _ in range(2 * budget // BATCH_SIZE + 2):  # receives that bring back only messages given count too
                if given >= budget:
                    break
                batch = self._receive()
                if not batch:
                    return
                fresh = [message for message in batch if message["MessageId"] not in self._receipts]
                for message in batch:
                    self._receipts[message["MessageId"]] = message["ReceiptHandle"]
                    if message["MessageId"] in self._done:
                        back_after_done[message["MessageId"]] = message
                if fresh:
                    given += len(fresh)
                    yield fresh
            self.budget_spent = True
        finally:
            for message in back_after_done.values():
                with contextlib.suppress(DeadLetterReceiptExpiredError):
                    self.release(message)

    def _receive(self) -> Sequence[Mapping[str, Any]]:
        try:
            messages: Sequence[Mapping[str, Any]] = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=BATCH_SIZE,
                VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
                WaitTimeSeconds=LONG_POLL_SECONDS,
            ).get("Messages", [])
        except (ClientError, BotoCoreError) as error:
            raise DeadLetterQueueUnavailableError(f"the dead-letter queue could not be read ({_why(error)})") from error
        return messages

    def release(self, message: Mapping[str, Any]) -> None:
        """Make a message visible again at once: a dry run, or a delivery that failed again."""
        self._done.add(message["MessageId"])
        self._on_receipt(
            self._sqs.change_message_visibility,
            message,
            QueueUrl=self._url,
            ReceiptHandle=self._receipt(message),
            VisibilityTimeout=0,
        )

    def delete(self, message: Mapping[str, Any]) -> None:
        """Delete a message whose delivery succeeded."""
        self._done.add(message["MessageId"])
        self._on_receipt(self._sqs.delete_message, message, QueueUrl=self._url, ReceiptHandle=self._receipt(message))

    def _receipt(self, message: Mapping[str, Any]) -> str:
        return self._receipts.get(message["MessageId"], str(message["ReceiptHandle"]))

    @staticmethod
    def _on_receipt(operation: Callable[..., Any], message: Mapping[str, Any], **arguments: Any) -> None:
        try:
            operation(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _EXPIRED_RECEIPT_CODES:
                raise DeadLetterReceiptExpiredError(
                    f"the receipt of message {message['MessageId']} expired: the message is visible in the queue again"
                ) from error
            raise DeadLetterQueueUnavailableError(f"the dead-letter queue could not be changed ({code})") from error
        except BotoCoreError as error:
            raise DeadLetterQueueUnavailableError(
                f"the dead-letter queue could not be changed ({type(error).__name__})"
            ) from error


_NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def _why(error: ClientError | BotoCoreError) -> str:
    """The error's code (or class), and what to do when the queue does not exist."""
    if not isinstance(error, ClientError):
        return type(error).__name__
    code = str(error.response.get("Error", {}).get("Code", "Unknown"))
    if code in _NO_QUEUE:
        return f"{code}: DEAD_LETTER_QUEUE_URL must be the stack's DeadLetterQueueUrl output"
    return code


def dead_letter_event(body: str) -> Mapping[str, Any] | None:
    """The event of a dead letter: a Lambda ``OnFailure`` destination record's ``requestPayload``, or the
    status-change event itself (what the EventBridge rule's own dead-letter queue receives)."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, Mapping) and isinstance(message.get("requestPayload"), Mapping):
        message = message["requestPayload"]
    return message if is_status_change(message) else None

"""What a dead letter holds: the status change, whichever way it reached the queue; anything else is not ours. How
the replay reads the queue: to its end, or its budget."""

from __future__ import annotations

import json
from typing import Any

from engine_result_notifier.dead_letter_queue import DeadLetterQueue, dead_letter_event
from tests.conftest import load_event


def test_an_on_failure_record_holds_the_event_in_its_request_payload() -> None:
    event = load_event("execution-failed.json")
    assert dead_letter_event(json.dumps({"requestPayload": event, "responseContext": {}})) == event


def test_the_rules_own_dead_letter_is_the_event_itself() -> None:
    event = load_event("execution-failed.json")
    assert dead_letter_event(json.dumps(event)) == event


def test_a_body_of_json_nested_deeper_than_python_reads_is_not_a_dead_letter() -> None:
    assert dead_letter_event("[" * 100_000) is None


def test_a_body_that_is_not_a_status_change_is_not_a_dead_letter() -> None:
    assert dead_letter_event(json.dumps(load_event("provision-succeeded.json"))) is None
    assert dead_letter_event("not an event") is None


class ScriptedQueue:
    """An SQS client whose receives answer as scripted, recording the receipts it is given back."""

    def __init__(self, *receives: list[str]) -> None:
        self._receives = list(receives)
        self.released: list[str] = []
        self.count = 0

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.count += 1
        ids = self._receives.pop(0) if self._receives else []
        return {"Messages": [{"MessageId": i, "ReceiptHandle": f"{i}@{self.count}", "Body": "{}"} for i in ids]}

    def change_message_visibility(self, ReceiptHandle: str, **_: Any) -> None:  # noqa: N803 (botocore's name)
        self.released.append(ReceiptHandle)


def test_the_replay_reads_on_past_a_receive_that_brings_back_only_messages_in_hand() -> None:
    # Given a queue whose second receive brings back A (its receipt expired while it was worked on), and C after it
    sqs = ScriptedQueue(["A", "B"], ["A"], ["C"])
    queue = DeadLetterQueue("https://sqs.example/queue", sqs)  # type: ignore[arg-type]
    # When it is read
    given = [[message["MessageId"] for message in batch] for batch in queue.batches()]
    # Then C is read too, each message given once, and A is released under its newest receipt
    assert given == [["A", "B"], ["C"]]
    assert not queue.budget_spent
    queue.release({"MessageId": "A", "ReceiptHandle": "A@1"})
    assert sqs.released == ["A@2"]


def test_the_replay_stops_at_its_budget_and_says_so() -> None:
    sqs = ScriptedQueue(["A", "B"], ["C", "D"], ["E"])
    queue = DeadLetterQueue("https://sqs.example/queue", sqs)  # type: ignore[arg-type]
    given = [message["MessageId"] for batch in queue.batches(budget=3) for message in batch]
    assert (given, queue.budget_spent) == (["A", "B", "C", "D"], True)

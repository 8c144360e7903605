"""What a dead letter holds: the status change, whichever way it reached the queue; anything else is not ours."""

from __future__ import annotations

import json

from engine_result_notifier.dead_letter_queue import dead_letter_event
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

"""The simulation in ``make test``: two stories of a new seed each run (without and with a redrive grace), every
fault kind injected, and the invariant holds. A failure names the seed: ``make simulate SEED=<seed>`` replays it
and shrinks it to its shortest story. Two defects put back in the package are found, so the check can fail."""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import pytest

from engine_result_notifier import commands, delivery, mapping, rescue
from engine_result_notifier.models import TaskOutcome
from engine_result_notifier.rescue import Rescue, Rescuer
from tests.simulation import story as stories
from tests.simulation import world
from tests.simulation.world import ALL_FAULT_KINDS, Summary, play

EXECUTIONS = 250
"""Per story: about 6 s on this machine's two cores, and every fault kind in it."""
SEED = int(os.environ.get("SIMULATION_SEED") or random.SystemRandom().randrange(2**32))
"""A new seed on every run unless SIMULATION_SEED says which."""
DEFECT_SEED = 2
"""A story known to reach what each defect below breaks: the tests of the check itself must not depend on luck."""
DEFECT_EXECUTIONS = 80


@pytest.fixture(scope="module")
def summaries() -> dict[int, Summary]:
    """The two stories' summaries, by redrive grace."""
    return {grace: play(stories.write(SEED + grace, EXECUTIONS, grace)) for grace in (0, 30)}


def replay(summary: Summary) -> str:
    return f"{summary.render()}\nreplay and shrink it: make simulate SEED={summary.seed} EXECUTIONS={EXECUTIONS}"


@pytest.mark.parametrize("grace", [0, 30])
def test_every_record_is_notified_once_as_the_engine_ended_or_alarmed(
    summaries: dict[int, Summary], grace: int
) -> None:
    summary = summaries[grace]
    assert summary.violations == [], replay(summary)
    assert summary.notifications + sum(summary.alarms.values()) >= summary.executions


def test_the_stories_inject_every_kind_of_fault(summaries: dict[int, Summary]) -> None:
    injected: Counter[str] = Counter()
    for summary in summaries.values():
        injected.update(summary.faults)
    assert [kind for kind in ALL_FAULT_KINDS if not injected[kind]] == [], injected


def test_the_summary_says_what_was_injected_and_that_nothing_broke(summaries: dict[int, Summary]) -> None:
    rendered = summaries[0].render()
    assert "invariant violations: 0" in rendered
    assert all(f"{kind} {count}" in rendered for kind, count in summaries[0].faults.items() if count)
    assert "requests per notification: Service Catalog" in rendered


def test_an_idempotency_key_that_includes_the_operation_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # A record notified, then an event naming another operation for it: the key must still be the record's
    monkeypatch.setattr(delivery, "IDEMPOTENCY_KEY_FIELDS", "[record_id, operation]")
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("refused a notification" in violation for violation in summary.violations), summary.render()


def test_a_rescue_that_trusts_the_event_instead_of_the_execution_now_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # The execution never read before deciding: a late status change of a redriven execution is sent as it says
    monkeypatch.setattr(Rescuer, "describe", lambda self, execution_arn: None)
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert summary.violations, summary.render()


def test_a_notification_made_with_another_idempotency_token_on_a_retry_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A token that is not derived: the retry of a call whose answer was lost is refused as another request
    tokens = iter(range(10**9))
    monkeypatch.setattr(mapping, "idempotency_token", lambda operation, record_id: f"random-{next(tokens)}")
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("idempotency token" in violation for violation in summary.violations), summary.render()


def test_a_call_for_a_foreign_execution_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every execution taken as one of a watched state machine: the foreign one's record is notified too
    monkeypatch.setattr(rescue, "state_machine_arn", lambda execution_arn: world.STATE_MACHINES["manage"])
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("does not know" in violation for violation in summary.violations), summary.render()


def test_a_workflow_token_quoted_cut_off_or_escaped_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the whole token searched for: an engine's message quoting it cut off or escaped goes through
    monkeypatch.setattr(mapping, "_leave_out_token_pieces", lambda text, workflow_token: text)
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("a secret in" in violation for violation in summary.violations), summary.render()


def test_a_dead_letter_deleted_but_not_delivered_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # The replay deletes every status change it reads, delivered or not
    monkeypatch.setattr(commands, "_redelivered", lambda rescuer, event, label: "NOTIFIED")
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("deleted its dead letter" in violation for violation in summary.violations), summary.render()


def test_a_timed_out_or_aborted_execution_whose_notify_retry_waited_is_held_to_what_it_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A failed notify task taken as none reached when the execution did not end FAILED: FAILED sent for a success
    decide = rescue.decide

    def careless(change: Any, workflow: Any, attempt: Any, sensitive: Any) -> Rescue:
        if change.status != "FAILED" and attempt is not None and attempt.outcome is TaskOutcome.FAILED:
            attempt = None
        return decide(change, workflow, attempt, sensitive)

    monkeypatch.setattr(rescue, "decide", careless)
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("but the engine reached SUCCEEDED" in violation for violation in summary.violations), summary.render()


def test_a_stale_describe_taken_for_a_redrive_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # A describe behind the status change (still RUNNING in the attempt that ended) read as a redrive: no call
    monkeypatch.setattr(rescue, "_behind", lambda now, expected: False)
    summary = play(stories.write(DEFECT_SEED, DEFECT_EXECUTIONS, 0))
    assert any("taken for redriven" in violation for violation in summary.violations), summary.render()


def test_a_story_shrinks_to_the_episode_that_breaks_it() -> None:
    story = stories.write(SEED, 40, 0)
    culprit = story.workflows()[7]

    def breaks(candidate: stories.Story) -> bool:  # a stand-in invariant: broken while workflow 7 keeps its faults
        return any(e == culprit for e in candidate.episodes)

    shortest = stories.shrink(story, breaks)
    assert shortest.episodes == (culprit,)


def test_a_long_story_is_first_cut_to_the_workflows_named_and_what_happened_around_them() -> None:
    story = stories.write(SEED, 400, 0)
    culprit = story.workflows()[7]
    cut = stories.around(story, {culprit.index}, minutes=60)
    assert [e for e in cut.episodes if isinstance(e, stories.Workflow)] == [culprit]
    others = [e for e in cut.episodes if not isinstance(e, stories.Workflow)]
    assert all(culprit.start - 60 <= e.start <= culprit.start + culprit.minutes + 60 for e in others)
    assert len(cut.episodes) < len(story.episodes)

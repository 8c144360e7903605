"""A story: everything that happens in one simulation, chosen by a seed, told in lines, and shrunk when it fails.

The world plays a story deterministically, so a seed replays it exactly, and a shorter story (episodes left out,
faults taken away) is a story too: ``shrink`` keeps whichever shorter one still breaks the invariant.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Union

from tests.simulation.engine import PLANS

OPERATIONS = ("PROVISION_PRODUCT", "UPDATE_PROVISIONED_PRODUCT", "TERMINATE_PROVISIONED_PRODUCT")

WORKFLOW_FAULTS = (
    "status_change_lost",
    "status_change_duplicated",
    "status_change_delayed",
    "status_change_out_of_order",
    "killed_before_the_call",
    "killed_after_the_call",
    "answer_lost",
    "concurrent_delivery",
    "lambda_service_error",
    "safety_net_crashed",
    "stale_reads",
)
"""What can go wrong around one workflow: its status change (lost, delivered twice, late, after a later one); its
first notify call (the invocation killed between its claim and its record, before or after Service Catalog took
the call; the answer lost; another delivery of the same record while the call is in flight); Lambda failing the
notify task's first attempt; the safety net's first attempt crashing (Lambda's asynchronous retries follow); reads
of its execution (``DescribeExecution``, ``ListExecutions``) that show it, for ``read_lag_seconds`` after each stop
or redrive, as it was before."""

OUTAGES = ("service_catalog_throttling", "service_catalog_5xx", "dynamodb", "step_functions")
SWEEP_PAUSED = "sweep_paused"
"""The sweep's schedule off (its rule disabled, or its function failing) for longer than its look-back: what fails
then and reaches the dead-letter queue can be rescued only by the replay."""
SWEEP_KINDS = ("extra", "two_at_once", "cut_off", "killed")
POISON_KINDS = ("malformed", "foreign", "input_left_out", "wrong_operation")


@dataclass(frozen=True)
class Redrive:
    after_minutes: int
    """After the execution stopped; 0: before its status change is delivered."""
    plan: str
    minutes: int


@dataclass(frozen=True)
class Workflow:
    index: int
    operation: str
    plan: str
    start: int
    """Minutes from the start of the story."""
    minutes: int
    """How long the engine runs."""
    faults: tuple[str, ...] = ()
    redrive: Redrive | None = None
    delay_minutes: int = 0
    """How late a delayed status change is."""
    read_lag_seconds: int = 0
    """With ``stale_reads``: how long after each stop or redrive reads show the execution as it was before."""


@dataclass(frozen=True)
class Outage:
    service: str
    start: int
    minutes: int


@dataclass(frozen=True)
class Sweep:
    kind: str
    start: int


@dataclass(frozen=True)
class OperatorRescue:
    workflow: int
    start: int


@dataclass(frozen=True)
class OperatorReplay:
    start: int


@dataclass(frozen=True)
class Poison:
    kind: str
    start: int
    workflow: int = 0
    """For ``wrong_operation``: the workflow whose record the event names."""


Episode = Union[Workflow, Outage, Sweep, OperatorRescue, OperatorReplay, Poison]  # noqa: UP007 (a runtime alias)


@dataclass(frozen=True)
class Story:
    seed: int
    redrive_grace_minutes: int
    episodes: tuple[Episode, ...]

    def workflows(self) -> list[Workflow]:
        return [e for e in self.episodes if isinstance(e, Workflow)]


def write(seed: int, executions: int, redrive_grace_minutes: int | None = None) -> Story:
    """The story a seed tells, with this many workflows: about one a minute, faults on about one in three. The
    redrive grace is the seed's choice unless given."""
    chooser = random.Random(seed)  # noqa: S311 (a simulation's seed, not a secret)
    grace = chooser.choice((0, 0, 30))
    if redrive_grace_minutes is not None:
        grace = redrive_grace_minutes
    span = max(executions, 60)
    episodes: list[Episode] = []
    for index in range(executions):
        plan = chooser.choice(PLANS)
        minutes = chooser.choice((2, 5, 10, 30)) if chooser.random() > 0.02 else chooser.randint(49 * 60, 60 * 60)
        faults: tuple[str, ...] = ()
        if chooser.random() < 0.35:
            faults = tuple(sorted(set(chooser.sample(WORKFLOW_FAULTS, chooser.choice((1, 1, 2))))))
        redrive = None
        if chooser.random() < 0.1:
            redrive = Redrive(chooser.choice((0, 3, 20, 120)), chooser.choice(PLANS), chooser.choice((2, 10)))
        episodes.append(
            Workflow(
                index=index,
                operation=chooser.choice(OPERATIONS),
                plan=plan,
                start=chooser.randint(0, span),
                minutes=minutes,
                faults=faults,
                redrive=redrive,
                delay_minutes=chooser.choice((20, 45, 90)),
                read_lag_seconds=chooser.choice((20, 60, 150)),
            )
        )
    for _ in range(max(1, executions // 40)):
        episodes.append(Outage(chooser.choice(OUTAGES), chooser.randint(0, span), chooser.choice((1, 5, 20, 40))))
    episodes.append(Outage(SWEEP_PAUSED, chooser.randint(span * 7 // 8, span), chooser.randint(49 * 60, 60 * 60)))
    for _ in range(max(1, executions // 30)):
        episodes.append(Sweep(chooser.choice(SWEEP_KINDS), chooser.randint(0, span)))
    for _ in range(max(1, executions // 30)):
        episodes.append(Poison(chooser.choice(POISON_KINDS), chooser.randint(0, span), chooser.randrange(executions)))
    for _ in range(max(1, executions // 50)):
        episodes.append(OperatorRescue(chooser.randrange(executions), chooser.randint(0, span + 60)))
        episodes.append(OperatorReplay(chooser.randint(0, span + 60)))
    _cover_every_kind(chooser, episodes, span)
    return Story(seed, grace, tuple(episodes))


def _cover_every_kind(chooser: random.Random, episodes: list[Episode], span: int) -> None:
    """However short the story, every kind of fault is in it: each workflow fault on a few workflows (with a redrive
    where it needs one), each outage, sweep and poison kind at least once."""
    workflows = [(position, e) for position, e in enumerate(episodes) if isinstance(e, Workflow)]
    if not workflows:
        return
    for fault in WORKFLOW_FAULTS:
        for _ in range(3):
            position, workflow = chooser.choice(workflows)
            redrive = workflow.redrive
            if fault == "status_change_out_of_order" and redrive is None:
                redrive = Redrive(3, "succeeds", 10)
            updated = replace(workflow, faults=tuple(sorted({*workflow.faults, fault})), redrive=redrive)
            episodes[position] = updated
            workflows = [(p, updated if p == position else e) for p, e in workflows]
    present = {(type(e), getattr(e, "kind", getattr(e, "service", ""))) for e in episodes}
    for service in OUTAGES:
        if (Outage, service) not in present:
            episodes.append(Outage(service, chooser.randint(0, span), 5))
    for kind in SWEEP_KINDS:
        if (Sweep, kind) not in present:
            episodes.append(Sweep(kind, chooser.randint(0, span)))
    for kind in POISON_KINDS:
        for _ in range(3 if kind == "wrong_operation" else 1):
            episodes.append(Poison(kind, chooser.randint(span // 2, span + 60), chooser.choice(workflows)[1].index))


def tell(episode: Episode) -> str:
    """One line of the story."""
    if isinstance(episode, Workflow):
        line = (
            f"minute {episode.start}: workflow {episode.index}, {episode.operation}, runs {episode.minutes} min, "
            f"then {episode.plan.replace('_', ' ')}"
        )
        if episode.faults:
            line += "; " + ", ".join(fault.replace("_", " ") for fault in episode.faults)
            if "status_change_delayed" in episode.faults:
                line += f" ({episode.delay_minutes} min)"
            if "stale_reads" in episode.faults:
                line += f" ({episode.read_lag_seconds} s behind)"
        if episode.redrive:
            line += (
                f"; redriven {episode.redrive.after_minutes} min after it stops, then "
                f"{episode.redrive.plan.replace('_', ' ')}"
            )
        return line
    if isinstance(episode, Outage):
        return f"minute {episode.start}: {episode.service.replace('_', ' ')} down for {episode.minutes} min"
    if isinstance(episode, Sweep):
        return f"minute {episode.start}: a sweep, {episode.kind.replace('_', ' ')}"
    if isinstance(episode, OperatorRescue):
        return f"minute {episode.start}: an operator runs rescue on workflow {episode.workflow}'s execution"
    if isinstance(episode, OperatorReplay):
        return f"minute {episode.start}: an operator replays the dead letters"
    about = {
        "input_left_out": f" (the first execution ended failed from workflow {episode.workflow} on)",
        "wrong_operation": f" (for the first record notified from workflow {episode.workflow} on)",
    }
    return f"minute {episode.start}: a poison event, {episode.kind.replace('_', ' ')}{about.get(episode.kind, '')}"


def around(story: Story, workflows: set[int], minutes: int = 3 * 24 * 60) -> Story:
    """The part of a story around some workflows: those workflows, and every other episode but workflows that
    starts within ``minutes`` of them. A long story that fails is first cut to this before it is shrunk."""
    chosen = [e for e in story.episodes if isinstance(e, Workflow) and e.index in workflows]
    if not chosen:
        return story
    first, last = min(e.start for e in chosen), max(e.start + e.minutes for e in chosen)
    nearby = [e for e in story.episodes if not isinstance(e, Workflow) and first - minutes <= e.start <= last + minutes]
    return replace(story, episodes=tuple(chosen + nearby))


def shrink(story: Story, fails: Callable[[Story], bool], budget: int = 400) -> Story:
    """The shortest story found that still ``fails``: episodes left out a chunk at a time (halving the chunks, as
    delta debugging does), then each remaining workflow's faults and redrive taken away one by one."""
    tries = 0

    def still_fails(candidate: Story) -> bool:
        nonlocal tries
        tries += 1
        return fails(candidate)

    episodes = list(story.episodes)
    chunk = max(1, len(episodes) // 2)
    while chunk >= 1 and tries < budget:
        start, changed = 0, False
        while start < len(episodes) and tries < budget:
            candidate = episodes[:start] + episodes[start + chunk :]
            if candidate and still_fails(replace(story, episodes=tuple(candidate))):
                episodes, changed = candidate, True
            else:
                start += chunk
        if not changed:
            chunk //= 2
    for position in range(len(episodes)):
        simplified = True
        while simplified and tries < budget:
            simplified = False
            for simpler in _simpler(episodes[position]):
                candidate = [*episodes[:position], simpler, *episodes[position + 1 :]]
                if still_fails(replace(story, episodes=tuple(candidate))):
                    episodes, simplified = candidate, True
                    break
    return replace(story, episodes=tuple(episodes))


def _simpler(episode: Episode) -> Sequence[Episode]:
    if not isinstance(episode, Workflow):
        return ()
    simpler: list[Episode] = [
        replace(episode, faults=tuple(f for f in episode.faults if f != fault)) for fault in episode.faults
    ]
    if episode.redrive is not None:
        simpler.append(replace(episode, redrive=None))
    return simpler

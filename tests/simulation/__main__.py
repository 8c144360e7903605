"""``make simulate [SEED=...] [EXECUTIONS=...]``: play the story a seed tells, print its summary, and on a violation
the shortest story that still breaks the invariant (replay it with the same seed)."""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)

from tests.simulation import story as stories
from tests.simulation.world import play


def main() -> int:
    parser = argparse.ArgumentParser(prog="make simulate", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="the story's seed (SEED=); a new one if not given")
    parser.add_argument("--executions", type=int, default=1000, help="engine executions (EXECUTIONS=)")
    arguments = parser.parse_args()
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(2**32)
    story = stories.write(seed, arguments.executions)
    began = time.monotonic()
    summary = play(story)
    print(summary.render())
    print(
        f"({time.monotonic() - began:.0f} s; replay with: make simulate SEED={seed} EXECUTIONS={arguments.executions})"
    )
    if not summary.violations:
        return 0
    print("\nShrinking the story to the shortest one that still breaks the invariant ...", flush=True)
    named = {int(index) for index in re.findall(r"rec-sim(\d{7})", "\n".join(summary.violations))}
    focused = stories.around(story, named)
    if focused.episodes != story.episodes and play(focused).violations:
        story = focused  # a long story: first the workflows named, and what happened around them
    shortest = stories.shrink(story, lambda candidate: bool(play(candidate).violations))
    print(
        f"The shortest story found ({len(shortest.episodes)} episodes; redrive grace "
        f"{shortest.redrive_grace_minutes} min; scheduled sweeps every 15 min):"
    )
    for episode in sorted(shortest.episodes, key=lambda e: e.start):
        print(f"  {stories.tell(episode)}")
    print("What breaks:")
    for violation in play(shortest).violations:
        print(f"  {violation}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

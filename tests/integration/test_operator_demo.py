"""``make operator-demo``: the operators' commands, as make runs them, on seeded local services: each shows what it
should, reading its settings from the stack (``STACK=``), the rescue sends once, the replay adds no second call,
and no token is printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLE_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_each_command_with_the_outcome_a_newcomer_should_see() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "local_aws.operator_demo"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "HOME": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = completed.stdout
    assert completed.returncode == 0, output + completed.stderr
    assert re.findall(r"\(exit status (\d)\)", output) == ["0", "1", "1", "0", "0", "0", "0"]
    assert "Send it? [y/N] Not sent." in output
    assert "NOTIFIED: record rec-demo7stopped, PROVISION_PRODUCT FAILED." in output
    assert "notified by        an operator's command" in output
    assert "failure reason     The engine's execution pp-demo7stopped-rec-demo7stopped was stopped (aborted)" in output
    assert "output keys        bucket_arn, replica_regions, ports, versioning" in output
    commands = [line for line in output.splitlines() if line.startswith("$ make ")]
    assert len(commands) == 7
    assert all(" STACK=engine-result-notifier " in f"{line} " for line in commands)
    assert "Deliver them with SEND=1." in output
    assert "DUPLICATE; deleted." in output
    assert output.rstrip().endswith("Service Catalog received 2 request(s), one per record.")
    assert SAMPLE_TOKEN not in output + completed.stderr


def test_run_by_make_a_value_is_passed_whole_and_refused_in_one_line_naming_makes_variable() -> None:
    completed = subprocess.run(  # noqa: S603 (make, with fixed arguments)
        ["make", "--no-print-directory", "show-record", "RECORD=bad id!", f"VENV={sys.prefix}"],  # noqa: S607
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = completed.stderr.splitlines()
    assert lines[0] == (
        "engine-result-notifier: argument RECORD=<record id>: 'bad id!' is not a record id (rec-...) "
        "(.venv/bin/engine-result-notifier --help says how)"
    )
    assert all(line.startswith("make: ***") for line in lines[1:])  # make's own line, and only that
    assert completed.returncode != 0

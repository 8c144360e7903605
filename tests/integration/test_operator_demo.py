"""``make operator-demo``: the operators' commands, as make runs them, on seeded local services: each shows what it
should, the rescue sends once, the replay adds no second call, and no token is printed."""

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
    assert "Deliver them with SEND=1." in output
    assert "DUPLICATE; deleted." in output
    assert output.rstrip().endswith("Service Catalog received 2 request(s), one per record.")
    assert SAMPLE_TOKEN not in output + completed.stderr

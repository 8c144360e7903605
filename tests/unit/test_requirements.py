"""What sam build deploys (src/requirements.txt) is exactly what the tests run with."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "src" / "requirements.txt"


def pins() -> list[tuple[str, str]]:
    lines = REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("==")) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_every_requirement_is_pinned_to_one_version() -> None:
    lines = [line for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    assert all(line.count("==") == 1 for line in lines)
    assert {name.lower() for name, _ in pins()} >= {"aws-lambda-powertools", "aws-xray-sdk", "boto3", "botocore"}


@pytest.mark.parametrize(("name", "pinned"), pins())
def test_the_tested_version_is_the_deployed_one(name: str, pinned: str) -> None:
    assert version(name) == pinned

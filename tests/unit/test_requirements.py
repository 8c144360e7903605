"""What sam build deploys (src/requirements.txt) is exactly what the tests run with."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import requires, version
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "src" / "requirements.txt"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


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


DIRECT = {"aws-lambda-powertools", "aws-xray-sdk", "boto3"}
"""What the package imports itself; the rest of src/requirements.txt is what these bring."""


def test_the_package_declares_its_direct_dependencies_pinned_as_what_is_deployed() -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert sorted(declared) == sorted(f"{name}=={pinned}" for name, pinned in pins() if name.lower() in DIRECT)


def test_the_installed_package_requires_what_it_declares() -> None:
    # `make` installs the package (pip install --editable .): its metadata is what `pip install .` would install
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert sorted(requires("engine-result-notifier") or []) == sorted(declared)


def test_the_installed_command_runs() -> None:
    command = Path(sys.executable).parent / "engine-result-notifier"
    completed = subprocess.run(  # noqa: S603 (the package's own command)
        [str(command), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "show-record" in completed.stdout

"""Each function loads only what it runs: its handler, imported as ``template.yaml`` names it in a fresh process set up
as Lambda sets one up (the template's environment for that function), loads these of the package's modules and
creates these AWS clients, and no others. The operation entry points load no rescue, history, sweep, Step Functions
or SQS code: their cold start is billed, and it is latency for every engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local_aws.template import declared_environment, function_properties, functions
from tests.conftest import TEMPLATE

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "engine_result_notifier"
OPERATION_ENTRY_POINTS = [
    "NotifyProvisionResultFunction",
    "NotifyUpdateResultFunction",
    "NotifyTerminateResultFunction",
]
EVERY_FUNCTION_LOADS = {
    "",
    ".constraints",
    ".delivery",
    ".errors",
    ".events",
    ".handlers",
    ".handlers.cold_start",
    ".json_text",
    ".mapping",
    ".models",
    ".observability",
    ".service_catalog",
    ".settings",
    ".timeouts",
}
LOADS = {
    **{function: {*EVERY_FUNCTION_LOADS, ".handlers.notify", ".notify"} for function in OPERATION_ENTRY_POINTS},
    "NotifyFunction": {
        *EVERY_FUNCTION_LOADS,
        ".handlers.safety_net",
        ".notify",
        ".rescue",
        ".history",
        ".step_functions",
    },
    "SweepFunction": {*EVERY_FUNCTION_LOADS, ".handlers.sweep", ".rescue", ".history", ".step_functions", ".sweep"},
}
"""The package's modules each function loads (relative to the package)."""
CLIENTS = {
    **{function: ["DynamoDB", "ServiceCatalog"] for function in OPERATION_ENTRY_POINTS},
    "NotifyFunction": ["DynamoDB", "SFN", "ServiceCatalog"],
    "SweepFunction": ["DynamoDB", "SFN", "ServiceCatalog"],
}
"""The botocore clients each function creates at cold start, by class name."""

_IMPORT_AS_LAMBDA_DOES = """
import gc, importlib, json, sys
import botocore.client
module_name, handler_name = sys.argv[1].rsplit(".", 1)
getattr(importlib.import_module(module_name), handler_name)
print(json.dumps({
    "modules": sorted(name for name in sys.modules if name == "engine_result_notifier"
                      or name.startswith("engine_result_notifier.")),
    "clients": sorted(type(o).__name__ for o in gc.get_objects() if isinstance(o, botocore.client.BaseClient)),
}))
"""


@cache
def cold_start(function: str) -> dict[str, Any]:
    """What a fresh process loads and creates when it imports the function's handler."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "src"),
        "LAMBDA_TASK_ROOT": str(ROOT / "src"),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        **declared_environment(TEMPLATE, function),
    }
    completed = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _IMPORT_AS_LAMBDA_DOES, function_properties(TEMPLATE, function)["Handler"]],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(completed.stdout)
    return loaded


def test_every_function_of_the_template_is_held_to_what_it_loads() -> None:
    assert set(LOADS) == set(CLIENTS) == set(functions(TEMPLATE))


@pytest.mark.parametrize("function", sorted(LOADS))
def test_a_function_loads_only_the_modules_it_runs(function: str) -> None:
    assert cold_start(function)["modules"] == sorted(f"{PACKAGE}{module}" for module in LOADS[function])


@pytest.mark.parametrize("function", OPERATION_ENTRY_POINTS)
def test_an_operation_entry_point_loads_no_safety_net_code(function: str) -> None:
    safety_net = {f"{PACKAGE}.{name}" for name in ("rescue", "history", "sweep", "step_functions", "dead_letter_queue")}
    assert safety_net.isdisjoint(cold_start(function)["modules"])


@pytest.mark.parametrize("function", sorted(CLIENTS))
def test_a_function_creates_only_the_clients_it_uses(function: str) -> None:
    assert cold_start(function)["clients"] == CLIENTS[function]

"""Run events through the handler in a fresh process set up as the Lambda runtime sets one up.

Tracing is active (the Lambda variables, ``_X_AMZN_TRACE_ID`` per invocation, ``AWS_XRAY_DAEMON_ADDRESS``
on a loopback UDP port this side listens on), the Powertools logger is at DEBUG, and the root logger
writes every library's DEBUG records to stderr, as the runtime does under ``AWS_LAMBDA_LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ENTRY_POINT_SETTINGS

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LambdaRun:
    stdout: str
    stderr: str
    results: list[dict[str, Any]]
    """Per event: ``{"result": ...}`` or ``{"errorType": ..., "errorMessage": ...}``."""
    segments: list[dict[str, Any]]
    """Every X-Ray segment document the process sent."""
    datagrams: list[str]


class _XRayDaemon:
    """A UDP listener on loopback that keeps every datagram, as the X-Ray daemon would receive it."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.datagrams: list[str] = []
        self._last_received = time.monotonic()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def _receive(self) -> None:
        while not self._stopping.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            self.datagrams.append(data.decode("utf-8"))
            self._last_received = time.monotonic()

    def stop_when_quiet(self, quiet_seconds: float = 0.3) -> None:
        while time.monotonic() - self._last_received < quiet_seconds:
            time.sleep(0.05)
        self._stopping.set()
        self._thread.join()
        self._socket.close()


Delivery = tuple[str, Any]
"""An event and the handler it is delivered to, as ``template.yaml`` names it (``module.function``)."""


def run_in_lambda_process(deliveries: list[Delivery], environment: dict[str, str]) -> LambdaRun:
    daemon = _XRayDaemon()
    with tempfile.TemporaryDirectory() as work:
        events_path, results_path = Path(work) / "events.json", Path(work) / "results.json"
        events_path.write_text(json.dumps(deliveries), encoding="utf-8")
        lambda_environment = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            "LAMBDA_TASK_ROOT": str(ROOT / "src"),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": "engine-result-notifier-test",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "POWERTOOLS_LOG_LEVEL": "DEBUG",
            **ENTRY_POINT_SETTINGS,
            **environment,
        }
        completed = subprocess.run(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "tests.lambda_runner", str(events_path), str(results_path)],
            cwd=ROOT,
            env=lambda_environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        daemon.stop_when_quiet()
        assert completed.returncode == 0, completed.stderr[-3000:]
        results = json.loads(results_path.read_text(encoding="utf-8"))
    segments = [json.loads(datagram.split("\n", 1)[1]) for datagram in daemon.datagrams]
    return LambdaRun(completed.stdout, completed.stderr, results, segments, daemon.datagrams)

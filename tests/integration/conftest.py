"""Integration tests: real HTTP to the local Service Catalog endpoint and to moto's DynamoDB server."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config

from engine_result_notifier.notifier import Notifier
from engine_result_notifier.settings import Settings


@pytest.fixture
def new_notifier(local_services: ModuleType) -> Callable[..., Notifier]:
    """A notifier of its own, as another Lambda container would have, over the same local services."""

    def build(**clients: Any) -> Notifier:
        return Notifier(Settings.from_environ(os.environ), **clients)

    return build


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def client_without_retries(service: str, endpoint_url: str) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
    return boto3.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]

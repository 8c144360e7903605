"""Integration tests: real HTTP to the local Service Catalog endpoint and to moto's DynamoDB server."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from engine_result_notifier.notifier import Notifier
from engine_result_notifier.settings import Settings


@pytest.fixture
def new_notifier(local_services: ModuleType) -> Callable[..., Notifier]:
    """A notifier of its own, as another Lambda container would have, over the same local services."""

    def build(**clients: Any) -> Notifier:
        return Notifier(Settings.from_environ(os.environ), **clients)

    return build

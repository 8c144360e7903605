"""Integration tests: real HTTP to the local Service Catalog endpoint and to moto's DynamoDB server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine_result_notifier.notify import Notify
from tests.conftest import LocalFunctions, lambda_container


@pytest.fixture
def new_notify(local_services: LocalFunctions) -> Callable[..., Notify]:
    """An entry point's use case of its own, as another Lambda container would have, over the same local services
    (or over the clients given)."""

    def build(**clients: Any) -> Notify:
        return lambda_container(**clients).notify

    return build

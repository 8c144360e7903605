"""Handler tests: botocore's Stubber stands in for Service Catalog, moto's server is the idempotency table."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from engine_result_notifier.observability import logger
from tests.conftest import LocalFunctions


@pytest.fixture
def stubber(lambdas: LocalFunctions, idempotency_table: str) -> Iterator[Stubber]:
    """Service Catalog stubbed on the handler's own client; every queued response must be used."""
    with Stubber(lambdas.service_catalog_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes, at DEBUG."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, __import__("logging").StreamHandler)
    previous_stream = handler.setStream(buffer)
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    yield buffer
    logger.setLevel(previous_level)
    handler.setStream(previous_stream)

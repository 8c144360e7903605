"""What every function wires once, at cold start: its settings, its Service Catalog and DynamoDB clients and the
exactly-once delivery over them; and the Powertools decorators every handler wears.

Each function is a process of its own in Lambda; in one process (the tests, ``make invoke``) the handler modules
share this wiring, as they would share one table and one Service Catalog.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine_result_notifier import __version__, service_catalog
from engine_result_notifier.delivery import Delivery, new_dynamodb_client
from engine_result_notifier.observability import logger, metrics, tracer
from engine_result_notifier.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    Handler = Callable[[dict[str, Any], LambdaContext], Any]

settings = Settings.from_environ(os.environ)
service_catalog_client = service_catalog.new_client(settings.service_catalog_max_attempts)
dynamodb_client = new_dynamodb_client()
delivery = Delivery(settings, service_catalog_client, dynamodb_client)


def observed(handler: Handler) -> Handler:
    """A handler with Powertools' logger, tracer and metrics, as every function has them: each invocation's log
    lines start clean (no key of an earlier record) and carry the package's version."""

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    @functools.wraps(handler)
    def with_observability(event: dict[str, Any], context: LambdaContext) -> Any:
        logger.append_keys(version=__version__)
        return handler(event, context)

    decorated: Handler = with_observability  # Powertools' decorators are typed as returning Any
    return decorated

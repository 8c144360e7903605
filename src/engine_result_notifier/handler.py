"""The Lambda entry point: Powertools decorators and one call into the notifier."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from engine_result_notifier.notifier import Notifier
from engine_result_notifier.observability import logger, metrics, tracer
from engine_result_notifier.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

notifier = Notifier(Settings.from_environ(os.environ))


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    return notifier.handle(event, context)

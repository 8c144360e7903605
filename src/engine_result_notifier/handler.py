"""The Lambda entry points: Powertools decorators and one call into the notifier or the sweep.

One function per operation, so that an engine with one notify Lambda per operation (AWS's reference Terraform
engine) needs no ``operation`` in its events: the entry point fixes it. ``lambda_handler``, the generic one,
takes events that name their operation and the safety net's status-change events. ``sweep_handler`` is the
scheduled sweep for lost status changes. All share the module's one ``Notifier``, created at cold start.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine_result_notifier import __version__
from engine_result_notifier.models import Operation
from engine_result_notifier.notifier import Notifier
from engine_result_notifier.observability import logger, metrics, tracer
from engine_result_notifier.settings import Settings
from engine_result_notifier.sweep import Sweep

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    Handler = Callable[[dict[str, Any], LambdaContext], Any]

settings = Settings.from_environ(os.environ)
notifier = Notifier(settings)
sweep = Sweep(settings, notifier)


def _observed(handler: Handler) -> Handler:
    """A handler with Powertools' logger, tracer and metrics, as every function has them: each invocation's log
    lines start clean (no key of an earlier record) and carry the package's version."""

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    @functools.wraps(handler)
    def observed(event: dict[str, Any], context: LambdaContext) -> Any:
        logger.append_keys(version=__version__)
        return handler(event, context)

    decorated: Handler = observed  # Powertools' decorators are typed as returning Any
    return decorated


def _entry_point(operation: Operation | None) -> Handler:
    """A Lambda handler that reports ``operation`` results (any operation the event names, if None)."""

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
        return notifier.handle(event, context, operation)

    return _observed(lambda_handler)


lambda_handler = _entry_point(None)
provision_handler = _entry_point(Operation.PROVISION_PRODUCT)
update_handler = _entry_point(Operation.UPDATE_PROVISIONED_PRODUCT)
terminate_handler = _entry_point(Operation.TERMINATE_PROVISIONED_PRODUCT)


@_observed
def sweep_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """The scheduled sweep: its event (EventBridge's "Scheduled Event") carries nothing it needs."""
    return sweep.run(context).to_response()

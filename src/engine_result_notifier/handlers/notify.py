"""The operation entry points: one function per operation, so that an engine with one notify Lambda per operation
(AWS's reference Terraform engine) needs no ``operation`` in its events. Each reports its own operation's results
and loads nothing of the safety net."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine_result_notifier.handlers.cold_start import delivery, observed, settings
from engine_result_notifier.models import Operation
from engine_result_notifier.notify import Notify

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from engine_result_notifier.handlers.cold_start import Handler

notify = Notify(settings, delivery)


def _entry_point(operation: Operation) -> Handler:
    """A Lambda handler that reports ``operation`` results."""

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
        return notify.completion(event, context, operation).to_response()

    return observed(lambda_handler)


provision_handler = _entry_point(Operation.PROVISION_PRODUCT)
update_handler = _entry_point(Operation.UPDATE_PROVISIONED_PRODUCT)
terminate_handler = _entry_point(Operation.TERMINATE_PROVISIONED_PRODUCT)

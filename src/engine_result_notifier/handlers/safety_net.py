"""The generic entry point: completion events that name their operation, and, as the safety net, Step Functions
status changes delivered by EventBridge (and replayed from the dead-letter queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine_result_notifier import step_functions
from engine_result_notifier.events import is_status_change
from engine_result_notifier.handlers.cold_start import delivery, observed, settings
from engine_result_notifier.notify import Notify
from engine_result_notifier.rescue import Rescuer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

step_functions_client = step_functions.new_client()
notify = Notify(settings, delivery)
rescuer = Rescuer(settings, delivery, step_functions_client)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    if is_status_change(event):
        return rescuer.status_change(event, context).to_response()
    return notify.completion(event, context, None).to_response()

"""The scheduled sweep: engine executions whose end no status change reported are rescued."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine_result_notifier import step_functions
from engine_result_notifier.handlers.cold_start import delivery, dynamodb_client, observed, settings
from engine_result_notifier.rescue import Rescuer
from engine_result_notifier.sweep import Sweep

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

step_functions_client = step_functions.new_client()
rescuer = Rescuer(settings, delivery, step_functions_client)
sweep = Sweep(settings, rescuer, step_functions_client, dynamodb_client)


@observed
def sweep_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Its event (EventBridge's "Scheduled Event") carries nothing it needs."""
    return sweep.run(context).to_response()

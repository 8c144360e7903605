"""Notify: a completion event delivered to an entry point becomes one request, delivered exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine_result_notifier.constraints import check_request
from engine_result_notifier.delivery import reject
from engine_result_notifier.errors import InvalidEventError
from engine_result_notifier.events import is_status_change, parse_completion_event
from engine_result_notifier.mapping import request_for_completion
from engine_result_notifier.models import DeliveryPath

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from engine_result_notifier.delivery import Delivery
    from engine_result_notifier.models import NotifyRequest, NotifyResult, Operation
    from engine_result_notifier.settings import Settings


class Notify:
    """Maps an engine's completion event to its notify request and delivers it."""

    def __init__(self, settings: Settings, delivery: Delivery) -> None:
        self._sensitive_outputs = settings.sensitive_outputs
        self._delivery = delivery

    def completion(self, event: Any, context: LambdaContext, entry_operation: Operation | None) -> NotifyResult:
        """Deliver one completion event; ``entry_operation`` is the operation of the entry point it was delivered to
        (None: the generic one, and the event names its operation)."""
        self._delivery.begin(context)
        try:
            request = self._request_for(event, entry_operation)
        except InvalidEventError as error:
            reject(error)
            raise
        return self._delivery.deliver(request, DeliveryPath.ENGINE)

    def _request_for(self, event: Any, entry_operation: Operation | None) -> NotifyRequest:
        if not isinstance(event, Mapping):
            raise InvalidEventError("event: must be a JSON object")
        if entry_operation is not None and is_status_change(event):
            raise InvalidEventError(
                f"event: a Step Functions status change, which only the generic function (NotifyFunction) takes; "
                f"this entry point reports {entry_operation.value} results"
            )
        completion = parse_completion_event(event, entry_operation)
        return check_request(request_for_completion(completion, self._sensitive_outputs))

"""The one call to Service Catalog, and what its failures mean to a state machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from engine_result_notifier.errors import (
    InvalidEventError,
    NotificationRejectedError,
    ServiceCatalogUnavailableError,
)
from engine_result_notifier.models import NotifyRequest, Operation

if TYPE_CHECKING:
    from mypy_boto3_servicecatalog import ServiceCatalogClient

API_CALLS = {
    Operation.PROVISION_PRODUCT: "NotifyProvisionProductEngineWorkflowResult",
    Operation.UPDATE_PROVISIONED_PRODUCT: "NotifyUpdateProvisionedProductEngineWorkflowResult",
    Operation.TERMINATE_PROVISIONED_PRODUCT: "NotifyTerminateProvisionedProductEngineWorkflowResult",
}
"""The API call that reports each operation's result."""

_CONNECT_TIMEOUT_SECONDS = 3
_READ_TIMEOUT_SECONDS = 10


def new_client(max_attempts: int) -> ServiceCatalogClient:
    """A Service Catalog client with deliberate retries: botocore's ``standard`` mode.

    ``standard`` retries throttling, 5xx answers and connection errors with exponential backoff and
    jitter, up to ``max_attempts`` attempts in all (``SERVICE_CATALOG_MAX_ATTEMPTS``). The endpoint
    comes from the standard ``AWS_ENDPOINT_URL_SERVICE_CATALOG`` / ``AWS_ENDPOINT_URL`` variables.
    """
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
    )
    return boto3.client("servicecatalog", config=config)


def send_notification(client: ServiceCatalogClient, request: NotifyRequest) -> None:
    """Make the notify call for the request's operation; failures become the package's named errors."""
    notify = getattr(client, xform_name(API_CALLS[request.operation]))  # notify_provision_product_..._result
    try:
        notify(**request.api_parameters())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= _FIRST_SERVER_ERROR_STATUS or code in _RETRYABLE_ERROR_CODES:
            raise ServiceCatalogUnavailableError(
                f"Service Catalog answered {code} (HTTP {status}) after botocore's retries"
            ) from error
        message = str(error.response.get("Error", {}).get("Message", "")).replace(request.workflow_token, "<token>")
        raise NotificationRejectedError(f"Service Catalog rejected the notification: {code}: {message}") from error
    except ParamValidationError as error:
        # botocore's message can quote a parameter's value, and the token is one: name the class only.
        raise InvalidEventError("botocore refused the request before sending it (ParamValidationError)") from error
    except BotoCoreError as error:
        raise ServiceCatalogUnavailableError(f"Service Catalog could not be reached: {type(error).__name__}") from error


_FIRST_SERVER_ERROR_STATUS = 500
_RETRYABLE_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

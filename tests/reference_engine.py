"""AWS's reference Terraform engine's six notify tasks, field for field (../shared/reference/engine-events.md,
section 2): the substitution naming each task's Lambda, and the payload fields each sends. Most send no
``operation``: the engine had one Lambda per operation."""

from __future__ import annotations

from dataclasses import dataclass

COMMON_FIELDS = frozenset({"token", "awsAccountId", "provisionedProductId", "provisionedProductName", "recordId"})


@dataclass(frozen=True)
class NotifyTask:
    operation: str
    substitution: str
    fields: frozenset[str]


NOTIFY_TASKS = {
    "provision-succeeded": NotifyTask(
        "PROVISION_PRODUCT", "NotifyProvisionResultFunctionArn", COMMON_FIELDS | {"outputs", "tracerTag"}
    ),
    "provision-failed": NotifyTask(
        "PROVISION_PRODUCT",
        "NotifyProvisionResultFunctionArn",
        COMMON_FIELDS | {"operation", "error", "errorMessage", "tracerTag"},
    ),
    "update-succeeded": NotifyTask(
        "UPDATE_PROVISIONED_PRODUCT", "NotifyUpdateResultFunctionArn", COMMON_FIELDS | {"outputs"}
    ),
    "update-failed": NotifyTask(
        "UPDATE_PROVISIONED_PRODUCT", "NotifyUpdateResultFunctionArn", COMMON_FIELDS | {"error", "errorMessage"}
    ),
    "terminate-succeeded": NotifyTask(
        "TERMINATE_PROVISIONED_PRODUCT", "NotifyTerminateResultFunctionArn", COMMON_FIELDS
    ),
    "terminate-failed": NotifyTask(
        "TERMINATE_PROVISIONED_PRODUCT", "NotifyTerminateResultFunctionArn", COMMON_FIELDS | {"error", "errorMessage"}
    ),
}
"""By ``<operation>-<outcome>``, as the samples in events/ are named."""

LAMBDA_RETRY_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"]
"""The only errors each notify task retries; none has a Catch, and each times out after 300 s."""

"""Permissions named for what they are: Step Functions' AccessDeniedException and KmsAccessDeniedException are a
final error of their own that says which permission is missing; throttling stays a passing one. Step Functions'
answers come from botocore's Stubber, with the error codes its model names."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from engine_result_notifier.errors import (
    FINAL_ERRORS,
    PASSING_ERRORS,
    StepFunctionsAccessDeniedError,
    StepFunctionsUnavailableError,
)
from local_aws.lambda_context import LocalLambdaContext
from tests.conftest import LambdaContainer, LocalFunctions, lambda_container, load_event


@pytest.fixture
def step_functions(local_services: LocalFunctions) -> Iterator[tuple[Stubber, LambdaContainer]]:
    """A safety net whose Step Functions answers what the test queues."""
    client = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(client) as stubbed:
        yield stubbed, lambda_container(step_functions_client=client)


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("AccessDeniedException", "needs states:DescribeExecution"),
        ("KmsAccessDeniedException", "needs kms:Decrypt on the state machine's customer-managed key"),
    ],
)
def test_a_refused_read_is_a_final_error_that_says_which_permission_is_missing(
    step_functions: tuple[Stubber, LambdaContainer], code: str, says: str
) -> None:
    stubbed, container = step_functions
    stubbed.add_client_error("describe_execution", service_error_code=code, http_status_code=400)
    with pytest.raises(StepFunctionsAccessDeniedError, match=says) as raised:
        container.rescuer.status_change(load_event("execution-failed.json"), LocalLambdaContext())
    assert isinstance(raised.value, FINAL_ERRORS)
    assert not isinstance(raised.value, PASSING_ERRORS)


@pytest.mark.parametrize("code", ["ThrottlingException", "KmsThrottlingException"])
def test_throttling_stays_a_passing_error(step_functions: tuple[Stubber, LambdaContainer], code: str) -> None:
    stubbed, container = step_functions
    stubbed.add_client_error("describe_execution", service_error_code=code, http_status_code=400)
    with pytest.raises(StepFunctionsUnavailableError) as raised:
        container.rescuer.status_change(load_event("execution-failed.json"), LocalLambdaContext())
    assert isinstance(raised.value, PASSING_ERRORS)

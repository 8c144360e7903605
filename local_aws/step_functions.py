"""Step Functions on loopback: moto's Amazon States Language interpreter, with Lambda tasks run in-process.

moto (5.2) bundles a port of LocalStack's interpreter, off by default; ``StepFunctionsInterpreter`` switches it
on in a moto server (``local_aws.dynamodb.DynamoDBServer`` serves every moto service) and replaces the one
function through which its ``arn:aws:states:::lambda:invoke`` tasks call Lambda, which would need Docker. A task
then runs the Python callable registered for its ``FunctionName``, and the task sees what Step Functions' Lambda
integration gives it:

- a result ``{ExecutedVersion, Payload, SdkHttpMetadata: {AllHttpHeaders, HttpHeaders, HttpStatusCode},
  SdkResponseMetadata: {RequestId}, StatusCode}``, so a ``ResultSelector`` on ``$.SdkHttpMetadata`` works;
- for a function that raised, a task failure whose error is the exception's class name and whose cause is the
  runtime's error payload ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` as a JSON string.

``status_change_event`` turns ``DescribeExecution`` into the "Execution Status Change" event EventBridge
delivers for it. Known differences from the service (moto 5.2.5), and what is done about them here:

- ``GetExecutionHistory`` ignores ``reverseOrder``, ``maxResults`` and ``nextToken`` and returns every event,
  oldest first: while the interpreter runs, it pages as the service does (``maxResults`` 1 to 1,000, 100 by
  default; newest first with ``reverseOrder``; an opaque ``nextToken`` until the last page).
- ``ListExecutions`` lists newest first by start date, gives no ``stopDate`` for a ``TIMED_OUT`` execution and
  ignores ``redriveFilter``: while the interpreter runs, it lists as the service documents (``local_aws.listing``:
  ended executions newest stop first, running ones by start; every stop date; the filters; pages whose tokens
  hold to their arguments; moto redrives nothing, so ``REDRIVEN`` lists none).
- ``DescribeExecution`` gives no ``stopDate`` for a ``TIMED_OUT`` execution and none of the redrive fields:
  while the interpreter runs, it gives them as the service does for a standard execution started since
  2023-11-15 (``redriveCount`` 0; ``redriveStatus`` ``REDRIVABLE`` once it ended failed, else
  ``NOT_REDRIVABLE``; moto cannot redrive).
- ``StopExecution`` does not interrupt a task that is running, and the interpreter records that task's late
  result before ``ExecutionAborted``, where Step Functions records none. ``hold`` and ``keep_late_results_out``
  give a test the service's behaviour: the task is held until the stop, and its late result is left out of the
  history.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidToken, ValidationException
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from local_aws import listing
from local_aws.lambda_context import LocalLambdaContext
from local_aws.template import LOCAL_ACCOUNT, LOCAL_REGION

LambdaFunction = Callable[[Any, LocalLambdaContext], Any]
"""A Lambda handler: the event and a context in, a JSON-able result out (or an exception)."""

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
EXECUTION_ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/engine-state-machine"
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
_CLOSING_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


class StepFunctionsInterpreter:
    """Create state machines and run executions in moto's interpreter; Lambda tasks call registered functions."""

    def __init__(self, moto_url: str) -> None:
        self._moto_url = moto_url
        self._functions: dict[str, LambdaFunction] = {}
        self._late_results_after: dict[str, int] = {}
        self._lock = threading.Lock()
        self.client = boto3.client("stepfunctions", endpoint_url=moto_url, region_name=LOCAL_REGION)

    @contextlib.contextmanager
    def running(self) -> Iterator[StepFunctionsInterpreter]:
        """Switch the interpreter on and route Lambda tasks here; put moto back as it was on exit."""
        _configure(self._moto_url, {"stepfunctions": {"execute_state_machine": True}})
        original_invoke = lambda_eval_utils.execute_lambda_function_integration
        original_history = StepFunctionsParserBackend.get_execution_history
        original_history_page = StepFunctionResponse.get_execution_history
        original_listing = StepFunctionResponse.list_executions
        original_description = StepFunctionResponse.describe_execution
        lambda_eval_utils.execute_lambda_function_integration = self._invoke
        StepFunctionsParserBackend.get_execution_history = self._history_without_late_results(original_history)  # type: ignore[method-assign]
        StepFunctionResponse.get_execution_history = _history_paged_as_the_service_pages  # type: ignore[method-assign,assignment]
        StepFunctionResponse.list_executions = _listed_as_the_service_lists  # type: ignore[method-assign,assignment]
        StepFunctionResponse.describe_execution = _described_as_the_service_describes(original_description)  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            lambda_eval_utils.execute_lambda_function_integration = original_invoke
            StepFunctionsParserBackend.get_execution_history = original_history  # type: ignore[method-assign]
            StepFunctionResponse.get_execution_history = original_history_page  # type: ignore[method-assign]
            StepFunctionResponse.list_executions = original_listing  # type: ignore[method-assign]
            StepFunctionResponse.describe_execution = original_description  # type: ignore[method-assign]
            _configure(self._moto_url, {"stepfunctions": {"execute_state_machine": False}})

    @contextlib.contextmanager
    def hold(self, function_arn: str) -> Iterator[Hold]:
        """Hold the next invocation of this function until the block ends: the task stays running, as a Lambda
        invocation still under way does. On release the held invocation returns without running the function (an
        invocation that never got to make its call); other invocations run as usual."""
        with self._lock:
            function = self._functions[function_arn]
        held = Hold()
        self.register(function_arn, held.wrap(function))
        try:
            yield held
        finally:
            held.release()
            self.register(function_arn, function)

    def keep_late_results_out(self, execution_arn: str) -> None:
        """Leave out of this execution's history every task event recorded from now on, as Step Functions records
        no result for a task its stop interrupted (moto records the held task's late result)."""
        last_event_id = max(int(event["id"]) for event in self.history(execution_arn))
        with self._lock:
            self._late_results_after[execution_arn] = last_event_id

    def _history_without_late_results(self, original: Callable[..., Any]) -> Callable[..., Any]:
        late_results_after = self._late_results_after

        def get_execution_history(backend: Any, execution_arn: str) -> Any:
            output = original(backend, execution_arn)
            cut = late_results_after.get(execution_arn)
            if cut is None:
                return output
            # Inside moto's backend an event's type is its enum, whose value is the name the API returns.
            kept = [e for e in output["events"] if int(e["id"]) <= cut or _type_of(e).startswith("Execution")]
            return {**output, "events": kept}

        return get_execution_history

    def register(self, function_arn: str, function: LambdaFunction) -> None:
        """Run ``function`` for every Lambda task whose ``FunctionName`` is this ARN."""
        with self._lock:
            self._functions[function_arn] = function

    def create_state_machine(self, name: str, definition: str, substitutions: Mapping[str, str]) -> str:
        """Create a state machine from an ASL definition with ``${Name}`` substitutions, as SAM's
        ``DefinitionSubstitutions`` make them; return its ARN."""
        for placeholder, value in substitutions.items():
            definition = definition.replace(f"${{{placeholder}}}", value)
        if "${" in definition:
            raise ValueError(f"{name}: a substitution is missing in {definition[definition.index('${') :][:60]}")
        created = self.client.create_state_machine(name=name, definition=definition, roleArn=EXECUTION_ROLE)
        state_machine_arn: str = created["stateMachineArn"]
        return state_machine_arn

    def start(self, state_machine_arn: str, execution_input: Mapping[str, Any], name: str | None = None) -> str:
        """Start an execution; return its ARN."""
        started = self.client.start_execution(
            stateMachineArn=state_machine_arn, name=name or uuid.uuid4().hex, input=json.dumps(execution_input)
        )
        execution_arn: str = started["executionArn"]
        return execution_arn

    def wait(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """``DescribeExecution`` once the execution has ended and its history is closed (moto reports a stopped
        execution ABORTED before its worker has recorded the end)."""
        deadline = time.monotonic() + timeout
        while (description := self.client.describe_execution(executionArn=execution_arn))["status"] == "RUNNING" or (
            self.history(execution_arn)[-1]["type"] not in _CLOSING_EVENTS
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} has not ended after {timeout} s")
            time.sleep(0.02)
        return dict(description)

    def run(
        self, state_machine_arn: str, execution_input: Mapping[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        """Start an execution and wait for its end; ``DescribeExecution`` of it."""
        return self.wait(self.start(state_machine_arn, execution_input, name))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every history event, oldest first, page by page."""
        pages = self.client.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [dict(event) for page in pages for event in page["events"]]

    def _invoke(self, env: Any, parameters: dict[str, Any], region: str, state_credentials: Any) -> None:
        """moto's ``execute_lambda_function_integration``, run in-process as the Lambda integration would."""
        function_name = parameters["FunctionName"]
        with self._lock:
            function = self._functions.get(function_name)
        if function is None:
            raise lambda_eval_utils.LambdaFunctionErrorException(
                "Unhandled", _error_payload(LookupError(f"no function registered for {function_name}"), "")
            )
        request_id = str(uuid.uuid4())
        context = LocalLambdaContext(function_name=function_name.rsplit(":", 1)[-1], aws_request_id=request_id)
        event = json.loads(parameters.get("Payload") or b"{}")
        try:
            result = function(event, context)
        except Exception as error:  # noqa: BLE001 (every function error becomes a task failure, as in Lambda)
            raise lambda_eval_utils.LambdaFunctionErrorException(
                "Unhandled", _error_payload(error, request_id)
            ) from None
        env.stack.append(
            {
                "ExecutedVersion": "$LATEST",
                "Payload": json.loads(json.dumps(result)),
                "SdkHttpMetadata": {
                    "AllHttpHeaders": {"x-amzn-RequestId": [request_id], "X-Amzn-Trace-Id": [_trace_id()]},
                    "HttpHeaders": {"x-amzn-RequestId": request_id, "X-Amzn-Trace-Id": _trace_id()},
                    "HttpStatusCode": 200,
                },
                "SdkResponseMetadata": {"RequestId": request_id},
                "StatusCode": 200,
            }
        )


class Hold:
    """One held invocation: ``wait_until_invoked`` returns once the task is running and held."""

    def __init__(self) -> None:
        self._invoked = threading.Event()
        self._released = threading.Event()

    def wrap(self, function: LambdaFunction) -> LambdaFunction:
        def held(event: Any, context: LocalLambdaContext) -> Any:
            if self._invoked.is_set():  # only the first invocation is held
                return function(event, context)
            self._invoked.set()
            self._released.wait(timeout=60)
            return {}

        return held

    def wait_until_invoked(self, timeout: float = 30.0) -> None:
        if not self._invoked.wait(timeout):
            raise TimeoutError("the held function was not invoked")

    def release(self) -> None:
        self._released.set()


def status_change_event(description: Mapping[str, Any]) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event EventBridge delivers for this execution, built from its
    ``DescribeExecution``: the envelope and every detail field Step Functions sends (input and output as JSON
    strings, dates in epoch milliseconds, error and cause as described, output null unless it succeeded)."""
    execution_arn = description["executionArn"]
    region, account = execution_arn.split(":")[3:5]
    stop_date = description.get("stopDate")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": account,
        "time": (stop_date or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": description["stateMachineArn"],
            "name": description["name"],
            "status": description["status"],
            "startDate": _epoch_millis(description["startDate"]),
            "stopDate": _epoch_millis(stop_date) if stop_date else None,
            "input": description.get("input"),
            "output": description.get("output") if description["status"] == "SUCCEEDED" else None,
            "inputDetails": {"included": True},
            "outputDetails": {"included": True},
            "error": description.get("error"),
            "cause": description.get("cause"),
            "redriveCount": 0,
            "redriveStatus": "REDRIVABLE" if description["status"] in FAILED_STATUSES else "NOT_REDRIVABLE",
            "stateMachineVersionArn": None,
            "stateMachineAliasArn": None,
        },
    }


def _error_payload(error: BaseException, request_id: str) -> str:
    """The Python runtime's error payload for an exception the handler raised, as a JSON string."""
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    )


def _type_of(event: Mapping[str, Any]) -> str:
    return str(getattr(event["type"], "value", event["type"]))


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"


def _epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _configure(moto_url: str, config: Mapping[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 (a loopback URL of our own server)
        f"{moto_url}/moto-api/config", data=json.dumps(config).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


HISTORY_PAGE_DEFAULT = 100
HISTORY_PAGE_MAX = 1000


def _history_paged_as_the_service_pages(response: Any) -> ActionResult:
    """``GetExecutionHistory`` as Step Functions answers it: one page of ``maxResults`` events, oldest first or,
    with ``reverseOrder``, newest first, and a ``nextToken`` while more follow."""
    execution_arn = response._get_param("executionArn")  # noqa: SLF001 (moto's request, as its own methods read it)
    page_size = response._get_int_param("maxResults") or HISTORY_PAGE_DEFAULT  # noqa: SLF001
    if not 1 <= page_size <= HISTORY_PAGE_MAX:
        page_size = HISTORY_PAGE_DEFAULT if page_size == 0 else HISTORY_PAGE_MAX
    events = list(response.stepfunction_backend.get_execution_history(execution_arn)["events"])
    events.sort(key=lambda event: int(event["id"]), reverse=bool(response._get_param("reverseOrder")))  # noqa: SLF001
    start = _offset(response._get_param("nextToken"), execution_arn)  # noqa: SLF001
    page: dict[str, Any] = {"events": events[start : start + page_size]}
    if start + page_size < len(events):
        page["nextToken"] = _token(start + page_size, execution_arn)
    return ActionResult(page)


def _token(offset: int, execution_arn: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, execution_arn]).encode()).decode()


def _offset(token: str | None, execution_arn: str) -> int:
    if not token:
        return 0
    offset, arn = json.loads(base64.urlsafe_b64decode(token))
    if arn != execution_arn:
        raise ValueError("a nextToken of another execution's history (the service answers InvalidToken)")
    return int(offset)


def _listed_as_the_service_lists(response: Any) -> ActionResult:
    """``ListExecutions`` as Step Functions documents it (``local_aws.listing``): newest first, running executions
    by start, the others by stop, each with its ``stopDate`` (moto leaves it out for ``TIMED_OUT``); filters,
    pages and tokens as the service takes them. moto redrives nothing: ``REDRIVEN`` lists none."""
    parameters: dict[str, Any] = {
        name: response._get_param(name)  # noqa: SLF001 (moto's request, as its own methods read it)
        for name in ("stateMachineArn", "statusFilter", "redriveFilter", "nextToken", "maxResults")
    }
    backend = response.stepfunction_backend
    executions = backend.describe_state_machine(parameters["stateMachineArn"]).executions
    items = []
    for execution in executions:
        item = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": parameters["stateMachineArn"],
            "name": execution.name,
            "status": execution.status,
            "startDate": execution.start_date,
        }
        if execution.status not in listing.RUNNING_STATUSES:
            item["stopDate"] = execution.stop_date
        items.append(item)
    try:
        return ActionResult(listing.listing(items, parameters))
    except listing.ListingRefused as refused:
        if refused.code == "InvalidToken":
            raise InvalidToken(str(refused)) from None
        raise ValidationException(str(refused)) from None


def _described_as_the_service_describes(original: Callable[[Any], ActionResult]) -> Callable[[Any], ActionResult]:
    """moto's ``DescribeExecution``, with the ``stopDate`` of a ``TIMED_OUT`` execution and the redrive fields."""

    def describe_execution(response: Any) -> ActionResult:
        result = original(response)
        described: dict[str, Any] = result.result  # type: ignore[assignment]
        if described["status"] in FAILED_STATUSES and "stopDate" not in described:
            described["stopDate"] = response.stepfunction_backend.describe_execution(
                described["executionArn"]
            ).stop_date
        described.setdefault("redriveCount", 0)
        described["redriveStatus"] = "REDRIVABLE" if described["status"] in FAILED_STATUSES else "NOT_REDRIVABLE"
        return result

    return describe_execution

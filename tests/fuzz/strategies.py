"""Hypothesis strategies for everything an engine or EventBridge might deliver: valid, invalid and hostile."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from local_aws.template import NOTIFY_FUNCTION


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``one_of`` with weights (Hypothesis merges repeated branches, so repeating one does not weigh it)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda index: pool[index])


OPERATIONS = ["PROVISION_PRODUCT", "UPDATE_PROVISIONED_PRODUCT", "TERMINATE_PROVISIONED_PRODUCT"]
ANSI = ["\u001b[31m", "\u001b[0m", "\u001b[1m", "\u001b]0;title\u0007", "\u001b[2K", "\u001b"]

# Every code point, lone surrogates and controls included.
any_character = st.characters(codec=None, exclude_categories=[])
# Text that begins as JSON (a Lambda error, an execution input, a quoted state input) and nests deeper than any
# Python reads, up to the 256 KB Step Functions allows a cause or an input.
deep_json_text = st.builds(
    lambda start, opener, depth: start + opener * depth,
    st.sampled_from(["", '{"errorType":', '{"errorMessage":', '{"token":', "[{", 'input \'{"token":']),
    st.sampled_from(["[", '{"k":', '[{"e":']),
    st.integers(900, 50_000),
)
hostile_text = st.one_of(
    deep_json_text,
    st.text(any_character, max_size=40),
    st.builds(lambda piece, times: piece * times, st.text(any_character, min_size=1, max_size=3), st.integers(0, 9000)),
    st.lists(st.one_of(st.sampled_from(ANSI), st.text(any_character, max_size=12)), max_size=12).map("".join),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(any_character))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(any_character, max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if depth % 2 else {"k": value}
    return value


# Past the depth at which Python 3.11 can no longer write JSON (about 970 levels inside the handler).
# Deeper values (3.13 writes some thousands of levels) are covered by plain regression tests at 100,000
# levels: generating them here would double the run's time.
deeply_nested = st.integers(1, 1500).map(_nested)


def execution_input(payload: Any) -> str:
    """The payload as the JSON string of ``detail.input``; past what json can write, an unreadable one."""
    try:
        return json.dumps(payload)
    except RecursionError:
        return "[" * 100_000


valid_token = st.one_of(
    st.from_regex(r"[0-9A-Za-z+/=]{1,120}", fullmatch=True),
    st.integers(19_990, 20_010).map(lambda length: "QUJD" * (length // 4) + "=" * (length % 4)),
)
valid_record_id = st.one_of(
    st.from_regex(r"[a-zA-Z0-9_-]{1,100}", fullmatch=True),
    st.integers(95, 105).map(lambda length: "r" * length),
)
valid_tag_text = st.from_regex(r"[A-Za-z0-9 _.:/=+@-]{1,40}", fullmatch=True)
tag_text = weighted((3, valid_tag_text), (1, hostile_text))
printable_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
output_values = st.one_of(printable_json, printable_json, printable_json, json_values, deeply_nested)


REMOVE = object()
"""A mutation that takes the field out."""

listed_output = st.fixed_dictionaries(
    {"key": st.from_regex(r"[a-z_]{1,20}", fullmatch=True), "value": output_values},
    optional={"description": st.text(max_size=30), "sensitive": st.booleans()},
)
terraform_output = st.fixed_dictionaries(
    {"value": st.one_of(json_values, deeply_nested), "type": st.sampled_from(["string", "number"])},
    optional={"sensitive": st.booleans()},
)
valid_outputs = st.one_of(
    st.lists(listed_output, max_size=5),
    st.dictionaries(st.from_regex(r"[a-z_]{1,20}", fullmatch=True), terraform_output, max_size=5),
)
lambda_cause = st.builds(
    lambda error_type, message: json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": ["x"]}),
    st.text(max_size=30),
    hostile_text,
)
record_ids = weighted((6, valid_record_id), (1, st.sampled_from(["rec-1", "rec-2", "rec-3"])))
valid_completion = st.fixed_dictionaries(
    {"token": valid_token, "recordId": record_ids},
    optional={
        "operation": st.sampled_from(OPERATIONS),
        "outputs": valid_outputs,
        "tracerTag": st.fixed_dictionaries({"key": tag_text, "value": tag_text}),
        "error": st.sampled_from(["States.TaskFailed", "States.Timeout", "States.Runtime"]),
        "errorMessage": hostile_text,
        "errorInfo": st.fixed_dictionaries({}, optional={"Error": hostile_text, "Cause": lambda_cause}),
        "status": st.sampled_from(["SUCCEEDED", "FAILED"]),
        "failureReason": hostile_text,
        "idempotencyToken": st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}", fullmatch=True),
        "provisionedProductId": st.text(max_size=20),
        "awsAccountId": json_values,
    },
)
mutations = st.lists(
    st.tuples(
        st.sampled_from(["token", "recordId", "operation", "outputs", "tracerTag", "error", "errorMessage",
                         "errorInfo", "status", "failureReason", "idempotencyToken"]),
        st.one_of(st.just(REMOVE), hostile_text, json_values, deeply_nested),
    ),
    min_size=1,
    max_size=3,
)  # fmt: skip


def mutate(event: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
    mutated = dict(event)
    for name, value in changes:
        if value is REMOVE:
            mutated.pop(name, None)
        else:
            mutated[name] = value
    return mutated


mutated_completion = st.builds(mutate, valid_completion, mutations)
workflow_payloads = st.fixed_dictionaries(
    {"token": valid_token, "recordId": record_ids}, optional={"operation": st.sampled_from(OPERATIONS)}
)
detail = st.fixed_dictionaries(
    {
        "executionArn": st.just("arn:aws:states:us-east-1:111122223333:execution:engine:run-1"),
        "status": st.one_of(st.sampled_from(["FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED", "RUNNING"]), hostile_text),
        "input": st.one_of(
            st.builds(execution_input, workflow_payloads),
            st.builds(execution_input, st.builds(mutate, workflow_payloads, mutations)),
            st.none(),
            hostile_text,
            json_values,
        ),
    },
    optional={
        "name": st.from_regex(r"[a-z0-9-]{1,80}", fullmatch=True),
        "error": st.one_of(st.sampled_from(["States.Timeout", "States.TaskFailed"]), hostile_text, json_values),
        "cause": st.one_of(hostile_text, lambda_cause, json_values),
        "inputDetails": st.one_of(st.fixed_dictionaries({"included": st.booleans()}), json_values),
    },
)
status_change_events = st.fixed_dictionaries(
    {
        "source": st.just("aws.states"),
        "detail-type": st.just("Step Functions Execution Status Change"),
        "detail": st.one_of(detail, detail, detail, json_values),
    }
)


SECRET_MARKER = "s3cr3t-"
"""The start of every sensitive value these strategies put inside a cause, so the property can find them."""
RUNTIME_ERROR = (
    "An error occurred while executing the state 'Send apply command' (entered at the event id #7). "
    "The JSONPath '$.launchRoleArn' specified for the field 'launchRoleArn.$' could not be found in the input "
)
markers = st.binary(min_size=8, max_size=8).map(lambda raw: SECRET_MARKER + raw.hex())


def _cause_quoting(token: str, marker: str, event: dict[str, Any], form: str) -> str:
    """A cause holding the token and a sensitive value, in one of the forms engines and Step Functions write."""
    state_input = json.dumps({**event, "parameters": [{"key": "db_password", "value": marker}]}, separators=(",", ":"))
    return {
        "plain": f"apply failed: token {token}, password {marker}",
        "escaped": f"body was {json.dumps(token).replace('/', chr(92) + '/')} and {marker}",
        "dumped-input": f"apply failed for input {state_input}",
        "runtime-error": f"{RUNTIME_ERROR}'{state_input}'",
        "runtime-error-cut": f"{RUNTIME_ERROR}'{state_input[: len(state_input) // 2]}",
        "lambda-error": json.dumps({"errorType": "ApplyError", "errorMessage": f"{marker} rejected for {token}"}),
    }[form]


CAUSE_FORMS = ["plain", "escaped", "dumped-input", "runtime-error", "runtime-error-cut", "lambda-error"]


@st.composite
def completion_with_secrets_in_its_cause(draw: st.DrawFn) -> dict[str, Any]:
    """A failed completion whose cause (or explicit reason) quotes its own token and a sensitive output's value."""
    event: dict[str, Any] = draw(valid_completion)
    marker = draw(markers)
    event["outputs"] = [
        {"key": "pw", "value": draw(st.sampled_from([marker, {"password": marker}, [marker, 1]])), "sensitive": True}
    ]
    cause = _cause_quoting(event["token"], marker, event, draw(st.sampled_from(CAUSE_FORMS)))
    where = draw(st.sampled_from(["errorMessage", "errorInfo", "failureReason"]))
    if where == "errorInfo":
        event.pop("error", None)
        event.pop("errorMessage", None)
        event["errorInfo"] = {"Error": "States.Runtime", "Cause": cause}
    else:
        event.update({"error": "States.Runtime", where: cause})
    event.pop("status", None)
    return event


@st.composite
def status_change_quoting_its_input(draw: st.DrawFn) -> dict[str, Any]:
    """A FAILED execution whose cause is Step Functions' runtime error quoting its input (token and a password)."""
    payload: dict[str, Any] = draw(
        st.fixed_dictionaries({"token": valid_token, "recordId": record_ids, "operation": st.sampled_from(OPERATIONS)})
    )
    payload["parameters"] = [{"key": "db_password", "value": draw(markers)}]
    execution_input = json.dumps(payload, separators=(",", ":"))
    cause = draw(st.sampled_from([f"{RUNTIME_ERROR}'{execution_input}'", f"{RUNTIME_ERROR}'{execution_input[:-10]}"]))
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:111122223333:execution:engine:run-1",
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": cause,
            "input": execution_input,
            "inputDetails": {"included": True},
        },
    }


any_event = weighted(
    (5, valid_completion),
    (2, mutated_completion),
    (2, status_change_events),
    (1, json_values),
    (2, completion_with_secrets_in_its_cause()),
    (1, st.builds(mutate, completion_with_secrets_in_its_cause(), mutations)),
    (1, status_change_quoting_its_input()),
)

GENERIC_ENTRY_POINT = NOTIFY_FUNCTION
OPERATION_ENTRY_POINTS = {
    "PROVISION_PRODUCT": "NotifyProvisionResultFunction",
    "UPDATE_PROVISIONED_PRODUCT": "NotifyUpdateResultFunction",
    "TERMINATE_PROVISIONED_PRODUCT": "NotifyTerminateResultFunction",
}
"""The entry points by the functions' logical ids in template.yaml."""
ENTRY_POINTS = [GENERIC_ENTRY_POINT, *OPERATION_ENTRY_POINTS.values()]


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, Any]:
    """An event and the entry point it is delivered to: mostly the one a well-configured engine would use (its
    operation's, with the operation sent or not; the generic one with it), sometimes any entry point at all."""
    delivered = draw(any_event)
    operation = delivered.get("operation") if isinstance(delivered, dict) else None
    if isinstance(delivered, dict) and delivered.get("source") == "aws.states":
        return draw(weighted((9, st.just(GENERIC_ENTRY_POINT)), (1, st.sampled_from(ENTRY_POINTS)))), delivered
    if operation is None:  # as the reference engine sends most events: to an operation's entry point
        return draw(
            weighted((9, st.sampled_from(list(OPERATION_ENTRY_POINTS.values()))), (1, st.just(GENERIC_ENTRY_POINT)))
        ), delivered
    if not isinstance(operation, str) or operation not in OPERATION_ENTRY_POINTS:
        return draw(st.sampled_from(ENTRY_POINTS)), delivered
    choice = draw(st.sampled_from(["own", "own-unnamed", "generic", "any"]))
    if choice == "own-unnamed":
        return OPERATION_ENTRY_POINTS[operation], {key: value for key, value in delivered.items() if key != "operation"}
    if choice == "any":
        return draw(st.sampled_from(ENTRY_POINTS)), delivered
    return (OPERATION_ENTRY_POINTS[operation] if choice == "own" else GENERIC_ENTRY_POINT), delivered

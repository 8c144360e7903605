"""Operator commands: see a record, rescue an execution, replay the dead-letter queue. Installed with the package
as the ``engine-result-notifier`` command (``--help`` says how each is used). Each asks only for the settings it
uses: read from the deployed stack (``--stack NAME``: its outputs and parameters), or from the functions' own
environment variables; the caller's AWS credentials and region are the SDK's.

Every notification goes through the same idempotency key as the functions' own, so no command can notify a record
twice, and none prints a workflow token (shown as its length) or a sensitive output (sent as ``<sensitive>`` or not
at all). A mistake in the command line, a missing setting, a refusal or a failure: one line on standard error and
exit status 1; no usage block unless asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TextIO

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError

from engine_result_notifier import __version__, dead_letter_queue, service_catalog, stack, step_functions
from engine_result_notifier.constraints import EXECUTION_ARN, RECORD_ID
from engine_result_notifier.dead_letter_queue import DeadLetterQueue, dead_letter_event
from engine_result_notifier.delivery import Delivery, new_dynamodb_client
from engine_result_notifier.errors import (
    RETRYABLE_ERRORS,
    DeadLetterReceiptExpiredError,
    InvalidSettingError,
    NotifierError,
)
from engine_result_notifier.mapping import FAILED_EXECUTION_STATUSES
from engine_result_notifier.models import DeliveryPath, IgnoredStatusChange, NotifyRequest, StoredRecord
from engine_result_notifier.observability import logger
from engine_result_notifier.rescue import Rescuer
from engine_result_notifier.settings import ENTRY_POINT_VARIABLES, Settings

PROG = "engine-result-notifier"
_MINUTES = 60_000
_DELIVERED = 0
_REFUSED = 1
_SAID_IN_ONE_LINE: tuple[type[Exception], ...] = (NotifierError, *RETRYABLE_ERRORS)
"""The named errors: a command says them in one line, never a traceback."""


class OperatorContext(LambdaContext):
    """A Lambda context for work an operator runs: what a delivery takes from one is the time left, which
    bounds an in-progress claim (five minutes here)."""

    def __init__(self) -> None:
        self._function_name = "engine-result-notifier-operator"
        self._aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5 * _MINUTES


@dataclass(frozen=True)
class _Names:
    """How the operator types the commands: the installed command's own words, or make's targets and variables."""

    show: str
    rescue: str
    replay: str
    record: str
    execution: str
    yes: str
    send: str
    stack: str
    example: str
    help: str


_COMMAND_NAMES = _Names(
    show=f"{PROG} [--stack NAME] show-record RECORD_ID",
    rescue=f"{PROG} [--stack NAME] rescue EXECUTION_ARN [--yes]",
    replay=f"{PROG} [--stack NAME] replay-dead-letters [--send]",
    record="RECORD_ID",
    execution="EXECUTION_ARN",
    yes="--yes",
    send="--send",
    stack="--stack NAME",
    example=f"{PROG} --stack engine-result-notifier show-record rec-abc123example",
    help=f"{PROG} --help says how",
)
_MAKE_NAMES = _Names(
    show="make show-record RECORD=<record id> [STACK=<stack name>]",
    rescue="make rescue EXECUTION=<execution ARN> [YES=1] [STACK=<stack name>]",
    replay="make replay-dead-letters [SEND=1] [STACK=<stack name>]",
    record="RECORD=<record id>",
    execution="EXECUTION=<execution ARN>",
    yes="YES=1",
    send="SEND=1",
    stack="STACK=<stack name>",
    example="make show-record STACK=engine-result-notifier RECORD=rec-abc123example",
    help=f".venv/bin/{PROG} --help says how",
)
VIA_MAKE = "ENGINE_RESULT_NOTIFIER_VIA_MAKE"
"""Set by the Makefile's targets: help, errors and hints then name make's targets and variables."""

_ENTRY_POINTS = tuple(ENTRY_POINT_VARIABLES.values())
_USES = {
    "show-record": ("IDEMPOTENCY_TABLE_NAME",),
    "rescue": ("IDEMPOTENCY_TABLE_NAME", *_ENTRY_POINTS),
    "replay-dead-letters": ("IDEMPOTENCY_TABLE_NAME", *_ENTRY_POINTS, "DEAD_LETTER_QUEUE_URL"),
}
"""The settings each command uses: all it asks for."""

_HELP = """\
{prog} {version}: see a record, rescue an engine execution, replay the dead-letter queue.

Commands:
  {names.show}
      What the idempotency table holds for a record: the notification made (operation, status, when, which
      way, the failure reason as sent, the output keys), or the claim of one being made.
      Uses IDEMPOTENCY_TABLE_NAME.
  {names.rescue}
      What an engine execution that ended FAILED, TIMED_OUT or ABORTED meant to send, then sent once you
      answer y ({names.yes}: without asking). Uses IDEMPOTENCY_TABLE_NAME and the four entry points.
  {names.replay}
      The dead-letter queue's status changes and what would be delivered (a dry run); {names.send} delivers each
      again and deletes it once delivered. Uses IDEMPOTENCY_TABLE_NAME, the four entry points and
      DEAD_LETTER_QUEUE_URL.

Settings:
  {names.stack} reads them from the deployed stack's outputs and parameters (CloudFormation DescribeStacks).
  Without it, the functions' environment variables: IDEMPOTENCY_TABLE_NAME, PROVISION_ENTRY_POINT,
  UPDATE_ENTRY_POINT, TERMINATE_ENTRY_POINT, GENERIC_ENTRY_POINT (each a function's name or ARN: the stack's
  outputs), DEAD_LETTER_QUEUE_URL. The AWS region and credentials are the SDK's (AWS_REGION, AWS_PROFILE ...).

Options:
  --verbose   the functions' JSON logs, on standard error
  --version   the version
  --help      this text

Example:
  {names.example}

No command prints a workflow token or a sensitive output value. Exit status 0: done; 1: refused, failed, or a
mistake in the command line, said in one line.
"""


class _CommandLineError(Exception):
    """A mistake in the command line: said in one line, with no usage block."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _CommandLineError(message)


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    names = _MAKE_NAMES if os.environ.get(VIA_MAKE) == "1" else _COMMAND_NAMES
    given = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help"} & set(given):
        print(_HELP.format(prog=PROG, version=__version__, names=names), end="")
        return _DELIVERED
    if "--version" in given:
        print(f"{PROG} {__version__}")
        return _DELIVERED
    try:
        arguments = _parser(names).parse_args(given)
    except _CommandLineError as error:
        print(f"{PROG}: {error} ({names.help})", file=sys.stderr)
        return _REFUSED
    try:
        missing = _missing_from_the_environment()
        if missing:
            raise InvalidSettingError(missing)
        settings = _settings(arguments.command, arguments.stack, names)
    except NotifierError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return _REFUSED
    with _quiet_logs(arguments.verbose):
        try:
            return _run(arguments, settings, names, stdin)
        except _SAID_IN_ONE_LINE as error:
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
            return _REFUSED


def _run(arguments: argparse.Namespace, settings: Settings, names: _Names, stdin: TextIO | None) -> int:
    delivery = Delivery(
        settings, service_catalog.new_client(settings.service_catalog_max_attempts), new_dynamodb_client()
    )
    if arguments.command == "show-record":
        return show_record(delivery, arguments.record_id)
    rescuer = Rescuer(settings, delivery, step_functions.new_client())
    if arguments.command == "rescue":
        return rescue_execution(rescuer, delivery, arguments.execution_arn, _confirmation(arguments.yes, stdin))
    queue = DeadLetterQueue(settings.dead_letter_queue_url, dead_letter_queue.new_client())
    return replay_dead_letters(
        rescuer, queue, settings.dead_letter_queue_url, send=arguments.send, send_hint=names.send
    )


def _parser(names: _Names) -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, add_help=False)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--stack", metavar=names.stack)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    show = commands.add_parser("show-record", add_help=False)
    show.add_argument("record_id", metavar=names.record, type=_matching(RECORD_ID, "a record id (rec-...)"))
    rescue = commands.add_parser("rescue", add_help=False)
    rescue.add_argument(
        "execution_arn", metavar=names.execution, type=_matching(EXECUTION_ARN, "a Step Functions execution ARN")
    )
    rescue.add_argument("--yes", action="store_true")
    replay = commands.add_parser("replay-dead-letters", add_help=False)
    replay.add_argument("--send", action="store_true")
    return parser


def _settings(command: str, stack_name: str | None, names: _Names) -> Settings:
    """The settings the command uses, from the stack if one is named (its outputs and parameters win), else from
    the environment; every one missing named in one error."""
    variables = dict(os.environ)
    if stack_name:
        variables.update(stack.stack_variables(stack_name, stack.new_client()))
    uses = _USES[command]
    missing = [name for name in uses if not variables.get(name, "").strip()]
    if missing:
        them = "it" if len(missing) == 1 else "them"
        where = f"{names.stack} gives {them}, or set {them}" if not stack_name else f"the stack does not give {them}"
        raise InvalidSettingError(f"{command} needs {', '.join(missing)}: {where} (docs/operations.md)")
    for name in _ENTRY_POINTS:  # a command that does not use them takes none
        if name not in uses:
            variables[name] = f"unused-by-{command}"
    return Settings.from_environ(variables)


def show_record(delivery: Delivery, record_id: str) -> int:
    stored = delivery.record_state(record_id)
    if stored is None:
        print(f"No notification is recorded for {record_id}: never made, or older than the table remembers.")
        return _REFUSED
    print(f"Record {record_id}: {stored.status}")
    if stored.result is not None:
        result = stored.result
        lines = {
            "operation": result.operation,
            "status": result.status,
            "outcome": result.outcome,
            "notified at": result.notified_at or "(not recorded by the version that made it)",
            "notified by": result.path or "(not recorded by the version that made it)",
            "idempotency token": result.idempotency_token,
        }
        if result.status == "FAILED":
            lines["failure reason"] = result.failure_reason or "(not recorded by the version that made it)"
        else:
            lines["output keys"] = result.output_keys or "(none)"
        print("\n".join(f"  {name:<18} {value}" for name, value in lines.items()))
    if stored.in_progress_until_ms and stored.status == "INPROGRESS":
        print(f"  {'claimed until':<18} {_time(stored.in_progress_until_ms / 1000)}")
    if stored.expires_at:
        print(f"  {'remembered until':<18} {_time(stored.expires_at)}")
    return _DELIVERED


def rescue_execution(rescuer: Rescuer, delivery: Delivery, execution_arn: str, confirmed: Callable[[], bool]) -> int:
    change = rescuer.describe(execution_arn)
    if change is None:
        print(f"Execution {execution_arn} does not exist (Step Functions keeps an execution 90 days).")
        return _REFUSED
    if change.status not in FAILED_EXECUTION_STATUSES:
        print(
            f"Execution {execution_arn} is {change.status}: only FAILED, TIMED_OUT or ABORTED executions are rescued."
        )
        return _REFUSED
    rescue = rescuer.plan(change)
    request = rescue.request
    print(f"Execution {execution_arn} ({change.status}): {rescue.finding}.")
    stored = delivery.record_state(request.record_id)
    if _held_by_the_table(stored, request.record_id):
        return _REFUSED
    if rescue.engine_notified:
        print(
            f"Record {request.record_id}: the engine's own notify task completed, so it is notified; nothing is sent."
        )
        return _REFUSED
    print(f"Would send {service_catalog.API_CALLS[request.operation]}:")
    print(json.dumps(masked(request), indent=2, ensure_ascii=False))
    return _send_when_confirmed(rescuer, execution_arn, confirmed)


def _send_when_confirmed(rescuer: Rescuer, execution_arn: str, confirmed: Callable[[], bool]) -> int:
    if not confirmed():
        print("Not sent.")
        return _REFUSED
    result = rescuer.execution(execution_arn, OperatorContext(), DeliveryPath.OPERATOR)
    if isinstance(result, IgnoredStatusChange):  # it changed since it was read: redriven, or gone
        print(f"{result.outcome.value}: execution {execution_arn} is {result.execution_status} now; nothing is sent.")
        return _REFUSED
    print(f"{result.outcome}: record {result.record_id}, {result.operation} {result.status}.")
    return _DELIVERED


def _held_by_the_table(stored: StoredRecord | None, record_id: str) -> bool:
    """Whether the table holds the record for a notification made, or being made now: then nothing is sent. A claim
    whose delivery did not finish (it expired) does not hold it, as it does not for the functions."""
    if stored is None:
        return False
    if stored.status == "INPROGRESS":
        claimed_until = (stored.in_progress_until_ms or 0) / 1000
        if claimed_until > datetime.now(UTC).timestamp():
            print(f"Record {record_id} is being notified by another delivery right now: nothing is sent.")
            return True
        print(
            f"Record {record_id} was claimed by a delivery that did not finish (its claim expired at "
            f"{_time(claimed_until)}): it can be notified."
        )
        return False
    if stored.status == "COMPLETED":
        made = stored.result
        when = (made.notified_at or "(time not recorded)") if made else "(time not recorded)"
        what = f"{made.outcome}, {made.operation} {made.status}" if made else "outcome not recorded"
        print(f"Record {record_id} was already notified at {when} ({what}): nothing is sent.")
        return True
    return False


def replay_dead_letters(
    rescuer: Rescuer, queue: DeadLetterQueue, queue_url: str, *, send: bool, send_hint: str = "--send"
) -> int:
    failures = number = 0
    kept: list[Mapping[str, Any]] = []
    for batch in queue.batches():
        for message in batch:
            number += 1
            event = dead_letter_event(message.get("Body", ""))
            label = f"{number}. {_describe(event)}"
            if event is None:
                failures += 1
                print(f"{label}: not a delivery this function made; kept in the queue.")
                kept.append(message)
            elif not send:
                print(f"{label}: would be delivered again.")
                kept.append(message)
            elif (outcome := _redelivered(rescuer, event, label)) is not None:
                _delete(queue, message, f"{label}: {outcome}")
            else:
                failures += 1
                kept.append(message)
    for message in kept:  # hidden until now, so that each receive brought others
        with contextlib.suppress(DeadLetterReceiptExpiredError):  # visible again already
            queue.release(message)
    print(f"{number} message(s) read from {queue_url}.")
    if queue.budget_spent:
        print(f"Stopped after {number} messages (a replay's budget): replay again for the rest.")
    if not send:
        print(f"Dry run: nothing was delivered and no message was deleted. Deliver them with {send_hint}.")
    return _REFUSED if failures else _DELIVERED


def _delete(queue: DeadLetterQueue, message: Mapping[str, Any], delivered: str) -> None:
    """Delete a dead letter delivered; if its receipt expired, say so in one line: it is in the queue again."""
    try:
        queue.delete(message)
    except DeadLetterReceiptExpiredError as error:
        print(f"{delivered}; not deleted: {error}, and delivering it again makes no second call.")
        return
    print(f"{delivered}; deleted.")


def masked(request: NotifyRequest) -> dict[str, Any]:
    """The request as it would be sent, the workflow token shown as its length."""
    parameters = request.api_parameters()
    return {**parameters, "WorkflowToken": f"<{len(request.workflow_token)} characters, not shown>"}


def _redelivered(rescuer: Rescuer, event: Mapping[str, Any], label: str) -> str | None:
    """Deliver one dead letter (a status change) as the generic entry point would take it; its outcome, or None if
    it failed again."""
    try:
        return rescuer.status_change(event, OperatorContext(), DeliveryPath.OPERATOR).to_response()["outcome"]
    except _SAID_IN_ONE_LINE as error:
        print(f"{label}: failed again ({type(error).__name__}: {error}); kept in the queue.")
        return None


def _describe(event: Mapping[str, Any] | None) -> str:
    if event is None:
        return "unreadable message"
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        return f"status change of {detail.get('executionArn')} ({detail.get('status')})"
    return "event"


def _missing_from_the_environment() -> str | None:
    """What the AWS SDK would fail on before any request, said in one line: no region, no credentials. Lambda's
    own ``AWS_REGION`` is honoured as the SDK's ``AWS_DEFAULT_REGION`` is."""
    if not os.environ.get("AWS_DEFAULT_REGION") and os.environ.get("AWS_REGION"):
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"]
    session = boto3.session.Session()
    if not session.region_name:
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region) to the stack's region"
    try:
        credentials = session.get_credentials()
    except (BotoCoreError, ValueError) as error:  # a profile that cannot be read, a credential process that fails
        return f"the AWS credentials cannot be read ({type(error).__name__}): {error}"
    if credentials is None:
        return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role"
    return None


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value

    return check


def _confirmation(yes: bool, stdin: TextIO | None) -> Callable[[], bool]:
    def ask() -> bool:
        if yes:
            return True
        print("Send it? [y/N] ", end="", flush=True)
        answer = (stdin or sys.stdin).readline().strip().lower()
        return answer in ("y", "yes")

    return ask


@contextlib.contextmanager
def _quiet_logs(verbose: bool) -> Iterator[None]:
    """The functions' JSON logs go to standard error, and only with --verbose: the output is the command's. Put
    back as they were afterwards."""
    handler = logger.registered_handler
    level = logger.log_level
    stream = handler.setStream(sys.stderr) if isinstance(handler, logging.StreamHandler) else None
    logger.setLevel("INFO" if verbose else "CRITICAL")
    try:
        yield
    finally:
        logger.setLevel(level)
        if stream is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def _time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    sys.exit(main())

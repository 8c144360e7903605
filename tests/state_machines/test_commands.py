"""The operators' commands, on executions run in moto's interpreter, a dead-letter queue in moto's SQS, and the
local Service Catalog: what each shows, what each sends, and that none notifies a record twice or prints a token."""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import boto3
import botocore.awsrequest
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

from engine_result_notifier import commands
from engine_result_notifier import dead_letter_queue as dead_letter_queue_module
from engine_result_notifier.delivery import IDEMPOTENCY_KEY_FIELDS, IDEMPOTENCY_KEY_PREFIX
from local_aws.step_functions import status_change_event
from local_aws.template import function_arn
from tests.conftest import SAMPLE_TOKEN, TEMPLATE, LocalFunctions, invoke
from tests.state_machines.conftest import (
    BOTOCORE_ATTEMPTS,
    LOST_RECORD_OUTPUTS,
    Scene,
    lost_status_change,
    run_workflow,
    start_workflow,
)


def run(command: list[str], capsys: pytest.CaptureFixture[str], answer: str = "") -> tuple[int, str]:
    """The command's exit status and everything it wrote."""
    capsys.readouterr()
    status = commands.main(command, stdin=io.StringIO(answer))
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert SAMPLE_TOKEN not in output
    return status, output


def record_of(execution: dict[str, Any]) -> str:
    record_id: str = json.loads(execution["input"])["recordId"]
    return record_id


@pytest.fixture
def dead_letter_queue(dynamodb_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty dead-letter queue in moto's SQS, named to the commands by DEAD_LETTER_QUEUE_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", dynamodb_url)
    sqs = boto3.client("sqs", endpoint_url=dynamodb_url)
    queue_url = sqs.create_queue(QueueName=f"dead-letters-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", queue_url)
    return sqs, queue_url


def messages_in(queue: Any) -> int:
    sqs, queue_url = queue
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def on_failure_record(event: dict[str, Any]) -> str:
    """What a Lambda OnFailure destination sends for an asynchronous invocation whose retries all failed."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-27T01:02:03.456Z",
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function_arn(TEMPLATE, 'NotifyFunction')}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {
                "errorMessage": "Service Catalog answered ThrottlingException",
                "errorType": "ServiceCatalogUnavailableError",
            },
        }
    )


# show-record


def test_show_record_says_what_was_notified_and_when(
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
) -> None:
    execution = run_workflow(scene, "UPDATE_PROVISIONED_PRODUCT")
    status, output = run(["show-record", record_of(execution)], capsys)
    assert status == 0
    assert f"Record {record_of(execution)}: COMPLETED" in output
    for line in (
        "operation          UPDATE_PROVISIONED_PRODUCT",
        "status             SUCCEEDED",
        "outcome            NOTIFIED",
    ):
        assert line in output
    assert "notified at        20" in output


def test_show_record_of_a_record_never_notified_says_so_and_fails(
    local_services: LocalFunctions, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run(["show-record", "rec-never-seen"], capsys)
    assert (status, output.splitlines()[0]) == (
        1,
        "No notification is recorded for rec-never-seen: never made, or older than the table remembers.",
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["show-record", "rec/!!"], "'rec/!!' is not a record id"),
        (["rescue", "arn:aws:states:us-east-1:1:execution:x"], "is not a Step Functions execution ARN"),
        (["explode"], "invalid choice: 'explode'"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_status_1_with_no_usage_block(
    local_services: LocalFunctions, capsys: pytest.CaptureFixture[str], command: list[str], message: str
) -> None:
    status = commands.main(command)
    captured = capsys.readouterr()
    assert (status, captured.out) == (1, "")
    (error,) = captured.err.splitlines()
    assert message in error
    assert error.startswith("engine-result-notifier: ")


# rescue


def test_rescue_shows_what_it_would_send_and_sends_nothing_unless_confirmed(
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
) -> None:
    execution = lost_status_change(scene)
    status, output = run(["rescue", execution["executionArn"]], capsys, answer="n\n")
    assert status == 1
    assert "its notify task failed (ServiceCatalogUnavailableError)" in output
    assert "Would send NotifyProvisionProductEngineWorkflowResult:" in output
    preview = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert preview["WorkflowToken"] == f"<{len(SAMPLE_TOKEN)} characters, not shown>"
    assert (preview["Status"], preview["Outputs"]) == (
        "SUCCEEDED",
        [{"OutputKey": "bucket_arn", "OutputValue": "arn:aws:s3:::orders"}],
    )
    assert output.rstrip().endswith("Not sent.")
    assert scene.service_catalog.accepted == []


def test_rescue_sends_when_confirmed_then_refuses_the_notified_record_saying_when_and_what(
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
) -> None:
    execution = lost_status_change(scene)
    status, output = run(["rescue", execution["executionArn"]], capsys, answer="y\n")
    assert status == 0
    assert f"NOTIFIED: record {record_of(execution)}, PROVISION_PRODUCT SUCCEEDED." in output
    status, output = run(["rescue", execution["executionArn"], "--yes"], capsys)
    assert status == 1
    assert f"Record {record_of(execution)} was already notified at 20" in output
    assert "(NOTIFIED, PROVISION_PRODUCT SUCCEEDED): nothing is sent." in output
    assert len(scene.service_catalog.accepted) == 1


def test_rescue_of_an_execution_stopped_during_its_notify_step_sends_what_it_meant_to(
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scene.engine.record_outputs = LOST_RECORD_OUTPUTS
    with scene.interpreter.hold(function_arn(TEMPLATE, "NotifyTerminateResultFunction")) as held:
        execution_arn = start_workflow(scene, "TERMINATE_PROVISIONED_PRODUCT")
        held.wait_until_invoked()
        scene.interpreter.client.stop_execution(executionArn=execution_arn)
        scene.interpreter.keep_late_results_out(execution_arn)
    scene.interpreter.wait(execution_arn)
    status, output = run(["rescue", execution_arn, "--yes"], capsys)
    assert status == 0
    assert "its notify task did not finish" in output
    (call,) = scene.service_catalog.accepted
    assert (call.operation, call.parameters["Status"]) == (
        "NotifyTerminateProvisionedProductEngineWorkflowResult",
        "SUCCEEDED",
    )


def test_rescue_refuses_a_record_the_state_machine_notified(
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scene.engine.raises = RuntimeError("no worker host answered")
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    status, output = run(["rescue", execution["executionArn"], "--yes"], capsys)
    assert status == 1
    assert "(NOTIFIED, PROVISION_PRODUCT FAILED): nothing is sent." in output
    assert len(scene.service_catalog.requests) == 1


def test_rescue_refuses_an_execution_that_did_not_fail(
    scene: Scene,
    capsys: pytest.CaptureFixture[str],
) -> None:
    execution = run_workflow(scene, "PROVISION_PRODUCT")
    status, output = run(["rescue", execution["executionArn"], "--yes"], capsys)
    assert (status, execution["status"]) == (1, "SUCCEEDED")
    assert "is SUCCEEDED: only FAILED, TIMED_OUT or ABORTED executions are rescued." in output


def test_rescue_of_an_execution_that_does_not_exist_says_so_and_fails(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = scene.reference_engine["PROVISION_PRODUCT"].replace(":stateMachine:", ":execution:") + ":no-such-execution"
    status, output = run(["rescue", arn], capsys)
    assert status == 1
    assert "does not exist" in output


# replay-dead-letters


def test_replay_is_a_dry_run_by_default_sending_and_deleting_nothing(
    scene: Scene,
    dead_letter_queue: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqs, queue_url = dead_letter_queue
    execution = lost_status_change(scene)
    sqs.send_message(QueueUrl=queue_url, MessageBody=on_failure_record(status_change_event(execution)))
    status, output = run(["replay-dead-letters"], capsys)
    assert status == 0
    assert f"1. status change of {execution['executionArn']} (FAILED): would be delivered again." in output
    assert "Dry run: nothing was delivered and no message was deleted." in output
    assert scene.service_catalog.accepted == []
    assert messages_in(dead_letter_queue) == 1


def test_replay_delivers_each_dead_letter_once_and_deletes_it_only_after_it_succeeded(
    scene: Scene,
    dead_letter_queue: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a Lambda OnFailure record, the EventBridge rule's own dead letter (the bare event), and a stray message
    sqs, queue_url = dead_letter_queue
    first = lost_status_change(scene)
    second = lost_status_change(scene, "UPDATE_PROVISIONED_PRODUCT")
    sqs.send_message(QueueUrl=queue_url, MessageBody=on_failure_record(status_change_event(first)))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(status_change_event(second)))
    sqs.send_message(QueueUrl=queue_url, MessageBody="not an event")
    # When they are replayed
    status, output = run(["replay-dead-letters", "--send"], capsys)
    # Then both records are notified once, their messages deleted; the stray one stays, and the command says so
    assert sorted(r.parameters["RecordId"] for r in scene.service_catalog.accepted) == sorted(
        map(record_of, (first, second))
    )
    assert output.count("NOTIFIED; deleted.") == 2
    assert "unreadable message: not a delivery this function made; kept in the queue." in output
    assert (status, messages_in(dead_letter_queue)) == (1, 1)
    # And replaying again notifies nothing twice
    run(["replay-dead-letters", "--send"], capsys)
    assert len(scene.service_catalog.accepted) == 2


def test_a_dead_letter_that_fails_again_stays_in_the_queue(
    scene: Scene,
    dead_letter_queue: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqs, queue_url = dead_letter_queue
    execution = lost_status_change(scene)
    sqs.send_message(QueueUrl=queue_url, MessageBody=on_failure_record(status_change_event(execution)))
    scene.service_catalog.throttle(BOTOCORE_ATTEMPTS)
    status, output = run(["replay-dead-letters", "--send"], capsys)
    assert status == 1
    assert "failed again (ServiceCatalogUnavailableError" in output
    assert messages_in(dead_letter_queue) == 1
    assert scene.service_catalog.accepted == []
    # And once Service Catalog answers, the next replay delivers it
    assert run(["replay-dead-letters", "--send"], capsys)[0] == 0
    assert messages_in(dead_letter_queue) == 0


def test_replay_without_the_queue_setting_says_which_one_and_exits_1(
    local_services: LocalFunctions, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL", raising=False)
    assert commands.main(["replay-dead-letters"]) == 1
    assert "replay-dead-letters needs DEAD_LETTER_QUEUE_URL" in capsys.readouterr().err


def test_the_safety_nets_own_delivery_and_a_replay_make_one_call_between_them(
    scene: Scene,
    dead_letter_queue: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A delivery that reached the dead-letter queue after all, though a later one went through
    sqs, queue_url = dead_letter_queue
    execution = lost_status_change(scene)
    invoke(scene.lambdas, status_change_event(execution))
    sqs.send_message(QueueUrl=queue_url, MessageBody=on_failure_record(status_change_event(execution)))
    status, output = run(["replay-dead-letters", "--send"], capsys)
    assert (status, len(scene.service_catalog.accepted)) == (0, 1)
    assert "DUPLICATE; deleted." in output


class SamplingQueue:
    """SQS as short polling can answer a small queue (it asks a sample of its servers): no message to a receive
    that waits for none. It records every ReceiveMessage's parameters, and can let receipts expire."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.receives: list[dict[str, Any]] = []
        self.receipts_expire = False
        new_client = dead_letter_queue_module.new_client

        def client() -> Any:
            sqs = new_client()
            sqs.meta.events.register("before-parameter-build.sqs.ReceiveMessage", self._record)
            sqs.meta.events.register("before-call.sqs.ReceiveMessage", self._receive)
            sqs.meta.events.register("before-parameter-build.sqs.DeleteMessage", self._expire)
            sqs.meta.events.register("before-call.sqs.DeleteMessage", self._delete)
            return sqs

        monkeypatch.setattr(dead_letter_queue_module, "new_client", client)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.receives.append(dict(params))

    def _receive(self, **_: Any) -> Any:
        if not self.receives[-1].get("WaitTimeSeconds"):
            return botocore.awsrequest.AWSResponse("", 200, {}, None), {"Messages": []}
        return None

    def _expire(self, params: dict[str, Any], **_: Any) -> None:
        """The message's visibility timeout ends before the delete: it is visible in the queue again."""
        if self.receipts_expire:
            boto3.client("sqs").change_message_visibility(
                QueueUrl=params["QueueUrl"], ReceiptHandle=params["ReceiptHandle"], VisibilityTimeout=0
            )

    def _delete(self, **_: Any) -> Any:
        if not self.receipts_expire:
            return None
        error = {"Error": {"Code": "ReceiptHandleIsInvalid", "Message": "The receipt handle has expired."}}
        return botocore.awsrequest.AWSResponse("", 400, {}, None), error


def test_the_replay_drains_a_queue_that_short_polling_would_report_empty_in_small_long_polled_batches(
    scene: Scene, dead_letter_queue: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given seven dead letters, in a queue that answers "none" to short polling
    sqs, queue_url = dead_letter_queue
    queue = SamplingQueue(monkeypatch)
    executions = [lost_status_change(scene) for _ in range(7)]
    for execution in executions:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(status_change_event(execution)))
    # When they are replayed
    status, output = run(["replay-dead-letters", "--send"], capsys)
    # Then every one was delivered once and deleted, a few at a time, each batch hidden for as long as it takes
    assert (status, output.count("NOTIFIED; deleted."), messages_in(dead_letter_queue)) == (0, 7, 0)
    assert len(scene.service_catalog.accepted) == 7
    assert {receive["WaitTimeSeconds"] for receive in queue.receives} == {dead_letter_queue_module.LONG_POLL_SECONDS}
    assert {receive["MaxNumberOfMessages"] for receive in queue.receives} == {dead_letter_queue_module.BATCH_SIZE}
    assert dead_letter_queue_module.BATCH_SIZE < 7
    assert {receive["VisibilityTimeout"] for receive in queue.receives} == {
        dead_letter_queue_module.BATCH_SIZE * dead_letter_queue_module.DELIVERY_SECONDS
    }


def test_a_receipt_that_expired_before_the_delete_is_said_in_one_line_and_the_message_stays(
    scene: Scene, dead_letter_queue: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a dead letter whose receipt will have expired when its delivery is done
    sqs, queue_url = dead_letter_queue
    queue = SamplingQueue(monkeypatch)
    queue.receipts_expire = True
    execution = lost_status_change(scene)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(status_change_event(execution)))
    # When it is replayed
    status, output = run(["replay-dead-letters", "--send"], capsys)
    # Then the record is notified once, and one line says the message is back in the queue; no traceback
    (line,) = [line for line in output.splitlines() if line.startswith("1. ")]
    assert "NOTIFIED; not deleted: the receipt of message" in line
    assert "delivering it again makes no second call" in line
    assert "Traceback" not in output
    assert (status, len(scene.service_catalog.accepted), messages_in(dead_letter_queue)) == (0, 1, 1)
    # And delivering it again makes no call
    queue.receipts_expire = False
    status, output = run(["replay-dead-letters", "--send"], capsys)
    assert (status, len(scene.service_catalog.accepted), messages_in(dead_letter_queue)) == (0, 1, 0)
    assert "DUPLICATE; deleted." in output


def test_rescue_of_a_record_whose_claim_expired_sends_as_the_functions_would(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a lost status change whose record a delivery claimed and then died with (its claim has expired)
    execution = lost_status_change(scene)
    claims = DynamoDBPersistenceLayer(
        table_name=scene.lambdas.settings.idempotency_table_name, boto3_client=scene.lambdas.dynamodb_client
    )
    claims.configure(IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY_FIELDS), key_prefix=IDEMPOTENCY_KEY_PREFIX)
    claims.save_inprogress({"record_id": record_of(execution)}, remaining_time_in_millis=1)
    time.sleep(0.01)
    # When an operator rescues its execution, Then the record is notified once, and the command says why it could be
    status, output = run(["rescue", execution["executionArn"], "--yes"], capsys)
    assert status == 0
    assert "claimed by a delivery that did not finish" in output
    (call,) = scene.service_catalog.accepted
    assert call.parameters["Status"] == "SUCCEEDED"

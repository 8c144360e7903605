"""Settings are read once from the environment; a bad one fails at cold start naming its variable."""

from __future__ import annotations

import pytest

from engine_result_notifier.errors import InvalidSettingError
from engine_result_notifier.models import Operation
from engine_result_notifier.settings import EntryPoints, SensitiveOutputs, Settings

REQUIRED = {
    "IDEMPOTENCY_TABLE_NAME": "table",
    "PROVISION_ENTRY_POINT": "stack-notify-provision",
    "UPDATE_ENTRY_POINT": "stack-notify-update",
    "TERMINATE_ENTRY_POINT": "stack-notify-terminate",
    "GENERIC_ENTRY_POINT": "stack-notify",
}
ENTRY_POINTS = EntryPoints("stack-notify-provision", "stack-notify-update", "stack-notify-terminate", "stack-notify")
STATE_MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:ManageProvisionedProductStateMachine"


def test_defaults_apply_when_only_the_required_settings_are_given() -> None:
    settings = Settings.from_environ(REQUIRED)
    assert settings == Settings(idempotency_table_name="table", entry_points=ENTRY_POINTS)
    assert settings.sensitive_outputs is SensitiveOutputs.REDACT
    assert settings.service_catalog_max_attempts == 4
    assert settings.engine_state_machine_arns == ()
    assert (settings.sweep_look_back_hours, settings.sweep_max_executions) == (48, 50)


def test_every_setting_is_read() -> None:
    settings = Settings.from_environ(
        {
            **REQUIRED,
            "SENSITIVE_OUTPUTS": "OMIT",
            "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "1900000",
            "SERVICE_CATALOG_MAX_ATTEMPTS": "2",
            "ENGINE_STATE_MACHINE_ARNS": f"{STATE_MACHINE}, {STATE_MACHINE}2",
            "SWEEP_LOOK_BACK_HOURS": "24",
            "SWEEP_MIN_AGE_MINUTES": "15",
            "REDRIVE_GRACE_MINUTES": "30",
            "SWEEP_MAX_EXECUTIONS": "10",
            "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
        }
    )
    assert settings == Settings(
        "table",
        ENTRY_POINTS,
        SensitiveOutputs.OMIT,
        1900000,
        2,
        (STATE_MACHINE, f"{STATE_MACHINE}2"),
        24,
        15,
        30,
        10,
        "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
    )


def test_entry_points_name_the_operation_each_reports() -> None:
    assert ENTRY_POINTS.operations() == {
        "stack-notify-provision": Operation.PROVISION_PRODUCT,
        "stack-notify-update": Operation.UPDATE_PROVISIONED_PRODUCT,
        "stack-notify-terminate": Operation.TERMINATE_PROVISIONED_PRODUCT,
        "stack-notify": None,
    }


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "IDEMPOTENCY_TABLE_NAME"),
        ({**REQUIRED, "IDEMPOTENCY_TABLE_NAME": "  "}, "IDEMPOTENCY_TABLE_NAME"),
        ({**REQUIRED, "SENSITIVE_OUTPUTS": "show"}, "SENSITIVE_OUTPUTS"),
        ({**REQUIRED, "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "soon"}, "IDEMPOTENCY_EXPIRES_AFTER"),
        ({**REQUIRED, "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "5"}, "IDEMPOTENCY_EXPIRES_AFTER"),
        ({**REQUIRED, "SERVICE_CATALOG_MAX_ATTEMPTS": "0"}, "SERVICE_CATALOG_MAX_ATTEMPTS"),
        ({**REQUIRED, "SERVICE_CATALOG_MAX_ATTEMPTS": "11"}, "SERVICE_CATALOG_MAX_ATTEMPTS"),
        ({key: value for key, value in REQUIRED.items() if key != "UPDATE_ENTRY_POINT"}, "UPDATE_ENTRY_POINT"),
        ({**REQUIRED, "GENERIC_ENTRY_POINT": "arn:aws:lambda:us-east-1:1:function:f"}, "GENERIC_ENTRY_POINT"),
        ({**REQUIRED, "ENGINE_STATE_MACHINE_ARNS": "ManageProvisionedProduct"}, "ENGINE_STATE_MACHINE_ARNS"),
        ({**REQUIRED, "SWEEP_LOOK_BACK_HOURS": "6"}, "SWEEP_LOOK_BACK_HOURS"),
        ({**REQUIRED, "SWEEP_MAX_EXECUTIONS": "0"}, "SWEEP_MAX_EXECUTIONS"),
    ],
)
def test_bad_setting_fails_naming_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidSettingError, match=variable):
        Settings.from_environ(environ)


def test_a_look_back_as_long_as_the_idempotency_records_live_is_refused_naming_both() -> None:
    with pytest.raises(InvalidSettingError) as refused:
        Settings.from_environ(
            {**REQUIRED, "SWEEP_LOOK_BACK_HOURS": "400", "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "1296000"}
        )
    assert "SWEEP_LOOK_BACK_HOURS (400 hours)" in str(refused.value)
    assert "IDEMPOTENCY_EXPIRES_AFTER_SECONDS (1296000 s)" in str(refused.value)


@pytest.mark.parametrize("seconds", ["1209600", str(15 * 24 * 3600 - 1)])
def test_records_that_would_not_outlive_the_redrive_window_are_refused(seconds: str) -> None:
    # A redriven attempt that ends after its record expired would be claimed afresh and notified a second time
    with pytest.raises(InvalidSettingError, match="IDEMPOTENCY_EXPIRES_AFTER_SECONDS"):
        Settings.from_environ({**REQUIRED, "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": seconds})


def test_records_live_longer_than_the_redrive_window_and_a_redriven_attempt_by_default() -> None:
    settings = Settings.from_environ(REQUIRED)
    assert settings.idempotency_expires_after_seconds == 30 * 24 * 3600


def test_a_minimum_age_as_long_as_the_look_back_is_refused_naming_both() -> None:
    with pytest.raises(InvalidSettingError, match=r"SWEEP_MIN_AGE_MINUTES \(600\).*SWEEP_LOOK_BACK_HOURS \(8 hours\)"):
        Settings.from_environ({**REQUIRED, "SWEEP_LOOK_BACK_HOURS": "8", "SWEEP_MIN_AGE_MINUTES": "600"})


def test_a_redrive_grace_as_long_as_the_look_back_is_refused_naming_both() -> None:
    with pytest.raises(InvalidSettingError, match=r"REDRIVE_GRACE_MINUTES \(480\).*SWEEP_LOOK_BACK_HOURS \(8 hours\)"):
        Settings.from_environ({**REQUIRED, "SWEEP_LOOK_BACK_HOURS": "8", "REDRIVE_GRACE_MINUTES": "480"})


def test_an_entry_point_given_as_its_functions_arn_is_taken_as_its_name() -> None:
    arn = "arn:aws:lambda:us-east-1:111122223333:function:stack-notify"
    assert Settings.from_environ({**REQUIRED, "GENERIC_ENTRY_POINT": arn}).entry_points == ENTRY_POINTS


def test_an_unset_entry_point_is_said_to_be_unset() -> None:
    environ = {key: value for key, value in REQUIRED.items() if key != "UPDATE_ENTRY_POINT"}
    with pytest.raises(InvalidSettingError, match="UPDATE_ENTRY_POINT is not set"):
        Settings.from_environ(environ)

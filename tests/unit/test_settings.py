"""Settings are read once from the environment; a bad one fails at cold start naming its variable."""

from __future__ import annotations

import pytest

from engine_result_notifier.errors import InvalidSettingError
from engine_result_notifier.settings import SensitiveOutputs, Settings


def test_defaults_apply_when_only_the_table_is_given() -> None:
    settings = Settings.from_environ({"IDEMPOTENCY_TABLE_NAME": "table"})
    assert settings == Settings(idempotency_table_name="table")
    assert settings.sensitive_outputs is SensitiveOutputs.REDACT
    assert settings.service_catalog_max_attempts == 4


def test_every_setting_is_read() -> None:
    settings = Settings.from_environ(
        {
            "IDEMPOTENCY_TABLE_NAME": "table",
            "SENSITIVE_OUTPUTS": "OMIT",
            "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "3600",
            "SERVICE_CATALOG_MAX_ATTEMPTS": "2",
        }
    )
    assert settings == Settings("table", SensitiveOutputs.OMIT, 3600, 2)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "IDEMPOTENCY_TABLE_NAME"),
        ({"IDEMPOTENCY_TABLE_NAME": "  "}, "IDEMPOTENCY_TABLE_NAME"),
        ({"IDEMPOTENCY_TABLE_NAME": "t", "SENSITIVE_OUTPUTS": "show"}, "SENSITIVE_OUTPUTS"),
        ({"IDEMPOTENCY_TABLE_NAME": "t", "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "soon"}, "IDEMPOTENCY_EXPIRES_AFTER"),
        ({"IDEMPOTENCY_TABLE_NAME": "t", "IDEMPOTENCY_EXPIRES_AFTER_SECONDS": "5"}, "IDEMPOTENCY_EXPIRES_AFTER"),
        ({"IDEMPOTENCY_TABLE_NAME": "t", "SERVICE_CATALOG_MAX_ATTEMPTS": "0"}, "SERVICE_CATALOG_MAX_ATTEMPTS"),
        ({"IDEMPOTENCY_TABLE_NAME": "t", "SERVICE_CATALOG_MAX_ATTEMPTS": "11"}, "SERVICE_CATALOG_MAX_ATTEMPTS"),
    ],
)
def test_bad_setting_fails_naming_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidSettingError, match=variable):
        Settings.from_environ(environ)

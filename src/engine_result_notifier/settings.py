"""The function's settings, read once from the environment at cold start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine_result_notifier.errors import InvalidSettingError


class SensitiveOutputs(StrEnum):
    """What happens to a Terraform output marked ``sensitive``."""

    REDACT = "redact"
    """Sent with the value replaced by a fixed placeholder."""
    OMIT = "omit"
    """Not sent at all."""


DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 14 * 24 * 3600
"""Fourteen days: a delivery redriven from the dead-letter queue within its retention is still a duplicate."""
DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Settings:
    idempotency_table_name: str
    sensitive_outputs: SensitiveOutputs = SensitiveOutputs.REDACT
    idempotency_expires_after_seconds: int = DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS
    service_catalog_max_attempts: int = DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build the settings from environment variables; a bad value names its variable."""
        table_name = environ.get("IDEMPOTENCY_TABLE_NAME", "").strip()
        if not table_name:
            raise InvalidSettingError("IDEMPOTENCY_TABLE_NAME must name the idempotency DynamoDB table")
        return cls(
            idempotency_table_name=table_name,
            sensitive_outputs=_choice(environ, "SENSITIVE_OUTPUTS", SensitiveOutputs, SensitiveOutputs.REDACT),
            idempotency_expires_after_seconds=_integer(
                environ,
                "IDEMPOTENCY_EXPIRES_AFTER_SECONDS",
                DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
                60,
                366 * 24 * 3600,
            ),
            service_catalog_max_attempts=_integer(
                environ, "SERVICE_CATALOG_MAX_ATTEMPTS", DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS, 1, 10
            ),
        )


def _choice(
    environ: Mapping[str, str], name: str, choices: type[SensitiveOutputs], default: SensitiveOutputs
) -> SensitiveOutputs:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    try:
        return choices(raw)
    except ValueError:
        allowed = ", ".join(choice.value for choice in choices)
        raise InvalidSettingError(f"{name} must be one of: {allowed}") from None


def _integer(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSettingError(f"{name} must be a whole number from {minimum} to {maximum}") from None
    if not minimum <= value <= maximum:
        raise InvalidSettingError(f"{name} must be a whole number from {minimum} to {maximum}")
    return value

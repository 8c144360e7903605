"""The function's settings, read once from the environment at cold start."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from engine_result_notifier.constraints import STATE_MACHINE_ARN
from engine_result_notifier.errors import InvalidSettingError
from engine_result_notifier.models import Operation


class SensitiveOutputs(StrEnum):
    """What happens to a Terraform output marked ``sensitive``."""

    REDACT = "redact"
    """Sent with the value replaced by a fixed placeholder."""
    OMIT = "omit"
    """Not sent at all."""


REDRIVE_DAYS = 14
"""How long after it ended failed Step Functions lets an execution be redriven."""
DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 30 * 24 * 3600
"""Thirty days: longer than Step Functions' redrive window (14 days after a stop), with 16 days more for a redriven
attempt to end, so that its end finds the record; and longer than the dead-letter queue keeps a message (14 days),
so that a delivery replayed from it is still a duplicate."""
MIN_IDEMPOTENCY_EXPIRES_AFTER_SECONDS = (REDRIVE_DAYS + 1) * 24 * 3600
"""A record must outlive the redrive window, with a day for a redriven attempt at the least."""
DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS = 4
DEFAULT_SWEEP_LOOK_BACK_HOURS = 48
"""Longer than EventBridge's own retries of a delivery to Lambda (24 hours); shorter than the idempotency records
live, so that no execution the sweep may examine has a record that expired."""
DEFAULT_SWEEP_MIN_AGE_MINUTES = 10
"""Longer than the safety net's own attempts at a status change: Lambda retries a function error twice, about one
and two minutes after the first attempt; the rest is margin for delivery and the attempts themselves."""
DEFAULT_SWEEP_MAX_EXECUTIONS = 50
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})")


@dataclass(frozen=True, slots=True)
class EntryPoints:
    """The function names of the four entry points: how the rescue recognises a notify task in a history."""

    provision: str
    update: str
    terminate: str
    generic: str

    def operations(self) -> dict[str, Operation | None]:
        """Each entry point's function name and the operation it reports (None: the one the event names)."""
        return {
            self.provision: Operation.PROVISION_PRODUCT,
            self.update: Operation.UPDATE_PROVISIONED_PRODUCT,
            self.terminate: Operation.TERMINATE_PROVISIONED_PRODUCT,
            self.generic: None,
        }


ENTRY_POINT_VARIABLES = {
    "provision": "PROVISION_ENTRY_POINT",
    "update": "UPDATE_ENTRY_POINT",
    "terminate": "TERMINATE_ENTRY_POINT",
    "generic": "GENERIC_ENTRY_POINT",
}


@dataclass(frozen=True, slots=True)
class Settings:
    idempotency_table_name: str
    entry_points: EntryPoints
    sensitive_outputs: SensitiveOutputs = SensitiveOutputs.REDACT
    idempotency_expires_after_seconds: int = DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS
    service_catalog_max_attempts: int = DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS
    engine_state_machine_arns: tuple[str, ...] = field(default=())
    """The sweep's state machines (``ENGINE_STATE_MACHINE_ARNS``, comma-separated)."""
    sweep_look_back_hours: int = DEFAULT_SWEEP_LOOK_BACK_HOURS
    """The sweep examines executions that stopped within this many hours, whenever they started."""
    sweep_min_age_minutes: int = DEFAULT_SWEEP_MIN_AGE_MINUTES
    """The sweep leaves alone what stopped less than this many minutes ago: the safety net may still be at it."""
    redrive_grace_minutes: int = 0
    """Above 0, the safety net leaves an execution that may be redriven to the sweep, which reports it once it stayed
    ended this long (0: report at once)."""
    sweep_max_executions: int = DEFAULT_SWEEP_MAX_EXECUTIONS
    """Executions one sweep run examines at most; the next run continues."""
    dead_letter_queue_url: str = ""
    """The dead-letter queue the operators' replay command reads (``DEAD_LETTER_QUEUE_URL``)."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build the settings from environment variables; a bad value names its variable."""
        table_name = environ.get("IDEMPOTENCY_TABLE_NAME", "").strip()
        if not table_name:
            raise InvalidSettingError("IDEMPOTENCY_TABLE_NAME must name the idempotency DynamoDB table")
        settings = cls(
            idempotency_table_name=table_name,
            entry_points=EntryPoints(
                **{role: _function_name(environ, variable) for role, variable in ENTRY_POINT_VARIABLES.items()}
            ),
            sensitive_outputs=_choice(environ, "SENSITIVE_OUTPUTS", SensitiveOutputs, SensitiveOutputs.REDACT),
            idempotency_expires_after_seconds=_integer(
                environ,
                "IDEMPOTENCY_EXPIRES_AFTER_SECONDS",
                DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
                MIN_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
                366 * 24 * 3600,
            ),
            service_catalog_max_attempts=_integer(
                environ, "SERVICE_CATALOG_MAX_ATTEMPTS", DEFAULT_SERVICE_CATALOG_MAX_ATTEMPTS, 1, 10
            ),
            engine_state_machine_arns=_state_machine_arns(environ, "ENGINE_STATE_MACHINE_ARNS"),
            sweep_look_back_hours=_integer(environ, "SWEEP_LOOK_BACK_HOURS", DEFAULT_SWEEP_LOOK_BACK_HOURS, 7, 24 * 89),
            sweep_min_age_minutes=_integer(environ, "SWEEP_MIN_AGE_MINUTES", DEFAULT_SWEEP_MIN_AGE_MINUTES, 5, 24 * 60),
            redrive_grace_minutes=_integer(environ, "REDRIVE_GRACE_MINUTES", 0, 0, REDRIVE_DAYS * 24 * 60),
            sweep_max_executions=_integer(environ, "SWEEP_MAX_EXECUTIONS", DEFAULT_SWEEP_MAX_EXECUTIONS, 1, 1000),
            dead_letter_queue_url=environ.get("DEAD_LETTER_QUEUE_URL", "").strip(),
        )
        if settings.sweep_look_back_hours * 3600 >= settings.idempotency_expires_after_seconds:
            raise InvalidSettingError(
                f"SWEEP_LOOK_BACK_HOURS ({settings.sweep_look_back_hours} hours) must be shorter than the idempotency "
                f"records live, IDEMPOTENCY_EXPIRES_AFTER_SECONDS ({settings.idempotency_expires_after_seconds} s): "
                "an execution examined again after its record expired would be notified a second time"
            )
        if settings.redrive_grace_minutes >= settings.sweep_look_back_hours * 60:
            raise InvalidSettingError(
                f"REDRIVE_GRACE_MINUTES ({settings.redrive_grace_minutes}) must be shorter than SWEEP_LOOK_BACK_HOURS "
                f"({settings.sweep_look_back_hours} hours): the sweep reports what the grace left it within its window"
            )
        if settings.sweep_min_age_minutes >= settings.sweep_look_back_hours * 60:
            raise InvalidSettingError(
                f"SWEEP_MIN_AGE_MINUTES ({settings.sweep_min_age_minutes}) must be shorter than SWEEP_LOOK_BACK_HOURS "
                f"({settings.sweep_look_back_hours} hours), or the sweep would examine nothing"
            )
        return settings


def _function_name(environ: Mapping[str, str], name: str) -> str:
    """An entry point's function name, given as its name or its ARN (the stack's outputs give ARNs)."""
    value = environ.get(name, "").strip()
    if not value:
        raise InvalidSettingError(f"{name} is not set: it names an entry point's Lambda function (name or ARN)")
    arn = _FUNCTION_ARN.fullmatch(value)
    if arn is not None:
        value = arn.group("name")
    if not _FUNCTION_NAME.fullmatch(value):
        raise InvalidSettingError(
            f"{name} must name an entry point's Lambda function, by its name or its ARN (not {value[:100]!r})"
        )
    return value


def _state_machine_arns(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    arns = tuple(arn.strip() for arn in environ.get(name, "").split(",") if arn.strip())
    if not all(STATE_MACHINE_ARN.fullmatch(arn) for arn in arns):
        raise InvalidSettingError(f"{name} must be a comma-separated list of state machine ARNs")
    return arns


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

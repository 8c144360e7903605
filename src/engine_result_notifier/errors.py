"""The exceptions a state machine can match in ``Retry`` and ``Catch``.

Step Functions matches a Lambda error by the exception's class name, so these names are part of the
package's contract (the README's Retry/Catch block and ``examples/state-machine.asl.json`` use them).
Powertools' ``IdempotencyAlreadyInProgressError`` is the fourth name a caller sees; it is retryable.
"""


class NotifierError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidEventError(NotifierError):
    """The event cannot produce a valid notification. Terminal: retrying the same event fails again."""


class NotificationRejectedError(NotifierError):
    """Service Catalog refused the request (``InvalidParametersException``, ``ResourceNotFoundException``).

    Terminal: the same request is refused again.
    """


class ServiceCatalogUnavailableError(NotifierError):
    """Service Catalog could not be reached or kept failing after botocore's retries. Retryable.

    The idempotency record is released first, so the retry makes the call.
    """


class IdempotencyStoreUnavailableError(NotifierError):
    """The idempotency table could not be read or written. Retryable.

    Failing before the call, no call was made. Failing after it (the completion not recorded), the claim
    holds until its in-progress expiry, and the retry then sends the same ``IdempotencyToken``.
    """


class InvalidSettingError(NotifierError):
    """An environment variable holds a value the function cannot run with. Raised at cold start."""


RETRYABLE_ERROR_NAMES = (
    ServiceCatalogUnavailableError.__name__,
    IdempotencyStoreUnavailableError.__name__,
    "IdempotencyAlreadyInProgressError",  # Powertools': another delivery of the notification is under way
)
"""What a state machine should ``Retry``, with backoff."""

TERMINAL_ERROR_NAMES = (InvalidEventError.__name__, NotificationRejectedError.__name__)
"""What a state machine should ``Catch``: the same event fails again."""

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


class StepFunctionsUnavailableError(NotifierError):
    """An execution or its history could not be read from Step Functions (throttling, 5xx, connection errors,
    missing permissions). Retryable: nothing is sent until it can be read, a status is never guessed. Raised on
    the safety net's and the sweep's paths only, never at an engine's notify step (so not in the lists below):
    Lambda's asynchronous retries and the next sweep run retry it."""


class RescueFailedError(NotifierError):
    """A sweep found ended executions it could not rescue for good (an invalid input, a refused notification):
    their records need a person. Raised at the end of the run, after every other execution was handled, so that
    the function's errors alarm fires; the log names each execution."""


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

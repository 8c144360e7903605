"""The exceptions a state machine can match in ``Retry`` and ``Catch``.

Step Functions matches a Lambda error by the exception's class name, so these names are part of the
package's contract: the Retry/Catch block in (docs/integration.md, "Errors a state machine can act on") and
``examples/state-machine.asl.json`` use them.
Powertools' ``IdempotencyAlreadyInProgressError`` is the fourth name a caller sees; it is retryable.

This module says once which errors are retryable and which are final; the sweep, the operators' commands and the
errors table in (docs/integration.md, "Errors a state machine can act on") follow it.
"""

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError


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


class StaleExecutionReadError(StepFunctionsUnavailableError):
    """Step Functions answered with an execution behind what is already known of it: ``DescribeExecution`` and
    ``ListExecutions`` are eventually consistent, so a read a moment after a stop or a redrive may show the
    execution as it was before; or its history changed between two reads (a redrive between them). Nothing is sent
    from such a read. Retryable, as ``StepFunctionsUnavailableError`` is: read again a little later."""


class StateMachineNotSweptError(NotifierError):
    """The sweep cannot list a watched state machine's executions: it does not exist (a typo in
    ``EngineStateMachineArns``, or deleted), it is an Express state machine (Step Functions lists no executions of
    one, and sends no status changes for them), or listing it is not allowed. Final for the run: nothing of that
    state machine is swept until a person acts; the run fails at its end, so that the sweep's errors alarm fires."""


class NotificationConflictError(NotifierError):
    """An engine's notify task asked for a notification other than the one the record already holds (made by the
    safety net, the sweep or an operator, or by an earlier attempt of a redriven execution). Nothing is sent: the
    record can hold one notification. Raised so that the execution does not end as if it had notified; the log
    says what is held beside what was asked, and the ``Conflicts`` alarm fires. Final: a person looks (to change
    what a record shows, update or re-provision the product)."""


class StepFunctionsAccessDeniedError(NotifierError):
    """Step Functions refused to let the function read an execution (``AccessDeniedException``: a missing
    ``states:`` permission, or an execution of another account or region; ``KmsAccessDeniedException``: the state
    machine's customer-managed key does not let the role decrypt). Final: only a person can grant it; the message
    says which permission is missing. Raised on the safety net's, the sweep's and the operators' paths only."""


class RescueFailedError(NotifierError):
    """A sweep found ended executions it could not rescue for good (an invalid input, a refused notification):
    their records need a person. Raised at the end of the run, after every other execution was handled, so that
    the function's errors alarm fires; the log names each execution."""


class InvalidSettingError(NotifierError):
    """An environment variable holds a value the function cannot run with. Raised at cold start."""


class StackUnavailableError(NotifierError):
    """The stack an operator's command was given (``--stack``) cannot be read, or is not this component's."""


class DeadLetterQueueUnavailableError(NotifierError):
    """The dead-letter queue could not be read or changed: what was not delivered stays in it."""


class DeadLetterReceiptExpiredError(NotifierError):
    """A dead letter's receipt expired before it was deleted or released: the message is visible in the queue
    again, and a later replay delivers it again (its notification is recorded, so that makes no second call)."""


RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    ServiceCatalogUnavailableError,
    IdempotencyStoreUnavailableError,
    IdempotencyAlreadyInProgressError,  # Powertools': another delivery of the notification is under way
)
"""What a state machine should ``Retry``, with backoff."""

TERMINAL_ERRORS: tuple[type[Exception], ...] = (InvalidEventError, NotificationRejectedError)
"""What a state machine should ``Catch``: the same event fails again. On the safety net's paths, the record
needs a person."""

PASSING_ERRORS: tuple[type[Exception], ...] = (*RETRYABLE_ERRORS, StepFunctionsUnavailableError)
"""What the safety net's paths retry later (Lambda's asynchronous retries, the next sweep run, the operator)."""

FINAL_ERRORS: tuple[type[Exception], ...] = (
    *TERMINAL_ERRORS,
    NotificationConflictError,
    StepFunctionsAccessDeniedError,
)
"""What no retry fixes on the safety net's paths: the record needs a person."""

RETRYABLE_ERROR_NAMES = tuple(error.__name__ for error in RETRYABLE_ERRORS)
TERMINAL_ERROR_NAMES = tuple(error.__name__ for error in TERMINAL_ERRORS)

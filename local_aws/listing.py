"""``ListExecutions`` as Step Functions documents it, for every stand-in that answers it.

botocore's model (AWS's API text): "Results are sorted by time, with the most recent execution first. Running
executions are sorted by their ``startDate`` or ``redriveDate``, and other executions are sorted by their
``stopDate``." ``statusFilter`` matches an execution's current status; ``PENDING_REDRIVE`` is a status of Map Run
children, and as a filter with a ``stateMachineArn`` it is a validation error; ``redriveFilter`` keeps the
executions ever redriven (``REDRIVEN``) or never (``NOT_REDRIVEN``); ``maxResults`` is 1 to 1,000 (0 or none: 100);
a ``nextToken`` must come with the arguments it was given for, else ``InvalidToken``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

RUNNING_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})
PAGE_DEFAULT = 100
PAGE_MAX = 1000


class ListingRefused(Exception):  # noqa: N818 (the service's refusal, by its error code)
    """The service's answer to a listing it refuses: ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def moment(item: Mapping[str, Any]) -> datetime:
    """Where a listed execution stands in the order: a running one at its start or its latest redrive, any other at
    its stop."""
    if item["status"] in RUNNING_STATUSES:
        return max(item["startDate"], item.get("redriveDate") or item["startDate"])
    stopped: datetime = item["stopDate"]
    return stopped


def order(item: Mapping[str, Any]) -> tuple[datetime, str]:
    """The sort key, newest first with ``reverse=True`` (the ARN breaks ties)."""
    return moment(item), item["executionArn"]


def page_size(parameters: Mapping[str, Any]) -> int:
    """``maxResults`` as the service takes it; a refusal outside 0 to 1,000."""
    size = int(parameters.get("maxResults") or 0)
    if not 0 <= size <= PAGE_MAX:
        raise ListingRefused("ValidationException", f"maxResults must be from 0 to {PAGE_MAX}")
    return size or PAGE_DEFAULT


def check(parameters: Mapping[str, Any]) -> None:
    """Refuse what the service refuses: ``PENDING_REDRIVE`` with a state machine's ARN."""
    if parameters.get("statusFilter") == "PENDING_REDRIVE" and parameters.get("stateMachineArn"):
        raise ListingRefused(
            "ValidationException", "statusFilter PENDING_REDRIVE is only for a Map Run's child executions (mapRunArn)"
        )


def matches(item: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Whether a listed execution (as it is now) passes the listing's filters."""
    status = parameters.get("statusFilter")
    redriven = parameters.get("redriveFilter")
    ever_redriven = bool(item.get("redriveCount"))
    return (status is None or item["status"] == status) and (
        redriven is None or (redriven == "REDRIVEN") == ever_redriven
    )


def offset(parameters: Mapping[str, Any]) -> int:
    """Where the page starts: 0, or where the token says, if it was given for these arguments."""
    token = parameters.get("nextToken")
    if not token:
        return 0
    try:
        position, scope = json.loads(base64.urlsafe_b64decode(token))
    except (ValueError, TypeError):
        raise ListingRefused("InvalidToken", "Invalid Token: not a token this listing gave") from None
    if scope != _scope(parameters):
        raise ListingRefused("InvalidToken", "Invalid Token: given with other arguments than the page it came from")
    return int(position)


def token(position: int, parameters: Mapping[str, Any]) -> str:
    """The ``nextToken`` of the page after this one, valid only with the same arguments."""
    return base64.urlsafe_b64encode(json.dumps([position, _scope(parameters)]).encode()).decode()


def _scope(parameters: Mapping[str, Any]) -> str:
    arguments = {k: v for k, v in parameters.items() if k not in ("nextToken", "maxResults") and v is not None}
    return hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()[:16]


def listing(items: Iterable[Mapping[str, Any]], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """One page of ``ListExecutions`` over executions as the service holds them now (listed items), as the service
    answers it; ``ListingRefused`` where it refuses."""
    check(parameters)
    size = page_size(parameters)
    start = offset(parameters)
    listed = sorted((item for item in items if matches(item, parameters)), key=order, reverse=True)
    answer: dict[str, Any] = {"executions": [dict(item) for item in listed[start : start + size]]}
    if start + size < len(listed):
        answer["nextToken"] = token(start + size, parameters)
    return answer

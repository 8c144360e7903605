"""How long one AWS call can take at the most, read from its client's configuration.

In the worst case botocore makes every attempt its retry configuration allows, each one waiting out its connect
and read timeouts, and between two attempts the longest backoff of its retry mode: ``standard`` waits at most
``min(2 ** (attempt - 1), 20)`` seconds (a throttling error's scale, the larger), raised by up to 5 seconds more
when the answer carries ``x-amz-retry-after`` (``botocore.retries.standard.ExponentialBackoff``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient

_MAX_BACKOFF_SECONDS = 20
_RETRY_AFTER_EXTRA_SECONDS = 5
_LEGACY_MAX_ATTEMPTS = 5
"""botocore's attempts where a client's configuration sets none (``legacy`` mode: the first and four retries)."""


def longest_call_seconds(client: BaseClient) -> float:
    """The longest one call through this client can take: every attempt timed out, every backoff at its longest."""
    config: Any = client.meta.config  # botocore sets its options as attributes, which its stubs do not declare
    retries = config.retries or {}
    attempts = int(retries.get("total_max_attempts") or retries.get("max_attempts", _LEGACY_MAX_ATTEMPTS - 1) + 1)
    backoffs = sum(
        min(2 ** (attempt - 1), _MAX_BACKOFF_SECONDS) + _RETRY_AFTER_EXTRA_SECONDS for attempt in range(1, attempts)
    )
    return attempts * (float(config.connect_timeout) + float(config.read_timeout)) + float(backoffs)

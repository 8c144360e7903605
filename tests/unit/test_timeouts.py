"""How long one call can take at the most, from its client's configuration."""

from __future__ import annotations

import boto3
from botocore.config import Config

from engine_result_notifier.timeouts import longest_call_seconds


def client(config: Config) -> object:
    return boto3.session.Session(region_name="us-east-1").client("dynamodb", config=config)


def test_one_attempt_takes_its_connect_and_read_timeouts() -> None:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=3, read_timeout=10)
    assert longest_call_seconds(client(config)) == 13


def test_each_retry_adds_its_attempt_and_the_longest_backoff_before_it() -> None:
    # standard mode: at most 1, 2, 4 ... 20 s before attempts 2, 3, 4 ..., and up to 5 s more for x-amz-retry-after
    config = Config(retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=3, read_timeout=10)
    assert longest_call_seconds(client(config)) == 4 * 13 + (1 + 5) + (2 + 5) + (4 + 5)


def test_the_backoff_stops_growing_at_twenty_seconds() -> None:
    config = Config(retries={"mode": "standard", "total_max_attempts": 8}, connect_timeout=1, read_timeout=1)
    backoffs = [1, 2, 4, 8, 16, 20, 20]
    assert longest_call_seconds(client(config)) == 8 * 2 + sum(backoffs) + 7 * 5


def test_a_client_configured_with_retries_instead_of_attempts_counts_the_first_attempt_too() -> None:
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=1)
    assert longest_call_seconds(client(config)) == 3 * 2 + (1 + 5) + (2 + 5)

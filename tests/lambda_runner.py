"""The process ``tests.lambda_process`` starts: each event delivered to its entry point, as Lambda would."""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import sys
import time

# The runtime under AWS_LAMBDA_LOG_LEVEL=DEBUG: every library's DEBUG records reach the function's log.
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def trace_header() -> str:
    """A fresh trace per invocation, sampled, as the Lambda service passes it."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1"


def main() -> None:
    events_path, results_path = sys.argv[1], sys.argv[2]
    os.environ["_X_AMZN_TRACE_ID"] = trace_header()
    from local_aws.lambda_context import LocalLambdaContext  # noqa: PLC0415

    with open(events_path, encoding="utf-8") as events_file:
        deliveries = json.load(events_file)
    results = []
    for handler_path, event in deliveries:
        os.environ["_X_AMZN_TRACE_ID"] = trace_header()
        module_name, handler_name = handler_path.rsplit(".", 1)  # imported as the runtime imports it
        handler = getattr(importlib.import_module(module_name), handler_name)
        try:
            results.append({"result": handler(event, LocalLambdaContext())})
        except Exception as error:  # noqa: BLE001 (reported as the Lambda runtime reports a function error)
            results.append({"errorType": type(error).__name__, "errorMessage": str(error)})
    with open(results_path, "w", encoding="utf-8") as results_file:
        json.dump(results, results_file)


if __name__ == "__main__":
    main()

"""One fresh process, as a Lambda cold start: time the init, serve one notification, report VmHWM.

``python -m bench.child notifier|baseline RECORD_ID`` prints ``{"init_ms": ..., "vmhwm_kib": ...}``.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402 (the clock starts before any import)
import sys  # noqa: E402


def notifier(record_id: str) -> float:
    from engine_result_notifier.handlers import notify  # noqa: PLC0415 (the import is what is measured)

    init_seconds = time.perf_counter() - STARTED
    from local_aws.lambda_context import LocalLambdaContext  # noqa: PLC0415

    notify.provision_handler({"token": "YmVuY2g=", "recordId": record_id}, LocalLambdaContext())
    return init_seconds


def baseline(record_id: str) -> float:
    import boto3  # noqa: PLC0415 (the import is what is measured)

    service_catalog = boto3.client("servicecatalog")
    dynamodb = boto3.client("dynamodb")
    init_seconds = time.perf_counter() - STARTED
    from bench.bare import notify_once  # noqa: PLC0415

    notify_once(dynamodb, service_catalog, record_id)
    return init_seconds


def peak_memory_kib() -> int:
    """VmHWM, the peak resident set of this process alone (ru_maxrss would count a forking parent)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    kind, record = sys.argv[1], sys.argv[2]
    init = notifier(record) if kind == "notifier" else baseline(record)
    sys.stderr.write(json.dumps({"init_ms": init * 1000, "vmhwm_kib": peak_memory_kib()}) + "\n")

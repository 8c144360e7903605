"""``make bench``: every figure next to its bare-boto3 baseline, measured interleaved in the same run.

    python -m bench [--runs 9] [--warm 300] [--quick] [--json bench/results/python<major>.<minor>.json]

Figures: cold init (a fresh process importing the handler, clients created, Powertools set up, tracing
active, in a Lambda-like environment) against a fresh process importing boto3 and creating the two
clients; peak memory (VmHWM) of those processes after one notification; the warm path (one notification
through the handler) against the bare sequence PutItem + Notify + UpdateItem on the same local servers
(``bench/bare.py``);
AWS requests per first and per duplicate delivery, counted at the botocore level; the zipped size of the
deployment artifact (arm64, Python 3.13). Medians are quoted with min and max.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local_aws.template import NOTIFY_FUNCTION, declared_environment, load_template

ROOT = Path(__file__).resolve().parent.parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
"""The interpreter measured, as the default figures file names it."""
TABLE_NAME = "engine-result-notifier-bench"
TARGETS = {"cold_init_ratio": 1.15, "peak_memory_mib": 80.0, "warm_path_ratio": 1.05}
IMPORT_GROUPS = {
    "the tracer (X-Ray SDK, the asyncio and wrapt it loads, Powertools' tracing)": (
        "aws_xray_sdk",
        "asyncio",
        "_asyncio",
        "wrapt",
        "aws_lambda_powertools.tracing",
    ),
    "the package's wiring (its clients, as the baseline creates them, and the delivery)": (
        "engine_result_notifier.handlers.cold_start",
    ),
    "the package's own modules": ("engine_result_notifier",),
    "Powertools' logger, metrics and idempotency": ("aws_lambda_powertools", "typing_extensions", "jmespath"),
}
"""What the notifier's cold start imports beyond the baseline's, in groups (the first group a module is in)."""


@dataclass
class Spread:
    median: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, samples: list[float]) -> Spread:
        return cls(statistics.median(samples), min(samples), max(samples))

    def __str__(self) -> str:
        return f"{self.median:8.2f} [{self.minimum:.2f}-{self.maximum:.2f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="cold-start processes of each kind")
    parser.add_argument("--warm", type=int, default=300, help="warm notifications of each kind")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 cold runs, 10 warm, no artifact")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / f"python{PYTHON}.json")
    arguments = parser.parse_args(argv)
    runs, warm = (2, 10) if arguments.quick else (arguments.runs, arguments.warm)

    with udp_sink() as xray_daemon, local_servers() as urls:
        environment = lambda_environment(urls, xray_daemon)
        cold = cold_starts(environment, runs)
        breakdown = import_breakdown(environment)
        warm_figures, requests = warm_path(environment, warm)
    figures: dict[str, Any] = {
        "machine": machine(),
        "runs": {"cold": runs, "warm": warm},
        **cold,
        "cold_import_beyond_baseline_ms": breakdown,
        **warm_figures,
        **requests,
        "artifact_zipped_bytes": None if arguments.quick else artifact_size(),
    }
    figures["cold_init_ratio"] = (
        figures["cold_init_ms"]["notifier"]["median"] / figures["cold_init_ms"]["baseline"]["median"]
    )
    warm_ms = figures["warm_path_ms"]
    figures["warm_path_ratio"] = warm_ms["notifier"]["median"] / warm_ms["baseline"]["median"]
    figures["warm_path_ratio_to_minimal_requests"] = warm_ms["notifier"]["median"] / warm_ms["minimal"]["median"]
    figures["targets"] = TARGETS
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(table(figures))
    print(f"\nwritten to {arguments.json}")
    return 0


# The stage: local servers in their own process, an X-Ray daemon address that swallows segments.


@contextlib.contextmanager
def local_servers() -> Iterator[dict[str, str]]:
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bench.servers", TABLE_NAME],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **credentials()},
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


@contextlib.contextmanager
def udp_sink() -> Iterator[str]:
    """A bound UDP port on loopback for ``AWS_XRAY_DAEMON_ADDRESS``: segments are sent, never read."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        host, port = sink.getsockname()
        yield f"{host}:{port}"


def entry_point_settings() -> dict[str, str]:
    """The entry points' names, as the template gives them to the function."""
    declared = declared_environment(load_template(), NOTIFY_FUNCTION)
    return {name: value for name, value in declared.items() if name.endswith("_ENTRY_POINT")}


def credentials() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def lambda_environment(urls: dict[str, str], xray_daemon: str) -> dict[str, str]:
    """What the Lambda runtime sets, tracing active, plus the function's own variables and the endpoints."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "LAMBDA_TASK_ROOT": str(ROOT / "src"),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "engine-result-notifier-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": xray_daemon,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "IDEMPOTENCY_TABLE_NAME": TABLE_NAME,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **entry_point_settings(),
        "AWS_ENDPOINT_URL_DYNAMODB": urls["dynamodb"],
        "AWS_ENDPOINT_URL_SERVICE_CATALOG": urls["service_catalog"],
        **credentials(),
    }


# Cold start and peak memory: fresh processes, interleaved.


def cold_starts(environment: dict[str, str], runs: int) -> dict[str, Any]:
    samples: dict[str, list[dict[str, float]]] = {"notifier": [], "baseline": []}
    for run in range(runs):
        order = ("notifier", "baseline") if run % 2 == 0 else ("baseline", "notifier")
        for kind in order:
            samples[kind].append(cold_start(kind, f"cold-{kind}-{run}", environment))
    return {
        "cold_init_ms": {kind: asdict(Spread.of([s["init_ms"] for s in runs_])) for kind, runs_ in samples.items()},
        "peak_memory_mib": {
            kind: asdict(Spread.of([s["vmhwm_kib"] / 1024 for s in runs_])) for kind, runs_ in samples.items()
        },
    }


def child(kind: str, record_id: str, environment: dict[str, str], *python_options: str) -> str:
    """Run one fresh process of this kind (``bench.child``); what it wrote to standard error."""
    completed = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, *python_options, "-m", "bench.child", kind, record_id],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return completed.stderr


def cold_start(kind: str, record_id: str, environment: dict[str, str]) -> dict[str, float]:
    """One cold start's figures, as the child reports them on its last line."""
    figures: dict[str, float] = json.loads(child(kind, record_id, environment).strip().splitlines()[-1])
    return figures


def import_breakdown(environment: dict[str, str]) -> dict[str, float]:
    """Where the notifier's extra cold-start time goes: ``python -X importtime`` of each kind's fresh process, the
    self time of every module the baseline does not import, in ``IMPORT_GROUPS`` (ms; importtime's own overhead
    included, so the sum runs above the difference of the medians)."""
    imports = {kind: imported_modules(kind, environment) for kind in ("notifier", "baseline")}
    breakdown = dict.fromkeys([*IMPORT_GROUPS, "other"], 0.0)
    for module, self_us in imports["notifier"].items():
        if module in imports["baseline"]:
            continue
        group = next(
            (name for name, prefixes in IMPORT_GROUPS.items() if any(_within(module, prefix) for prefix in prefixes)),
            "other",
        )
        breakdown[group] += self_us / 1000
    return breakdown


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def imported_modules(kind: str, environment: dict[str, str]) -> dict[str, int]:
    """Each module a fresh process of this kind imports, with its self time in microseconds."""
    modules = {}
    for line in child(kind, f"imports-{kind}", environment, "-X", "importtime").splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            modules[name.strip()] = int(self_us)
    return modules


# Warm path and request counts: in this process, the handler imported once as in a warm container.


def warm_path(environment: dict[str, str], count: int) -> tuple[dict[str, Any], dict[str, Any]]:
    os.environ.update(environment)
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        with contextlib.redirect_stdout(devnull):  # the handler's logs and EMF go where Lambda's would
            from engine_result_notifier.handlers import cold_start, notify  # noqa: PLC0415 (needs the environment)
        import boto3  # noqa: PLC0415

        from bench.bare import notify_once  # noqa: PLC0415
        from local_aws.lambda_context import LocalLambdaContext  # noqa: PLC0415

        bare_dynamodb, bare_service_catalog = boto3.client("dynamodb"), boto3.client("servicecatalog")

        def through_handler(record_id: str) -> None:
            with contextlib.redirect_stdout(devnull):
                notify.provision_handler({"token": "YmVuY2g=", "recordId": record_id}, LocalLambdaContext())

        kinds: dict[str, Callable[[str], None]] = {
            "notifier": through_handler,
            "baseline": lambda record_id: notify_once(bare_dynamodb, bare_service_catalog, record_id, "same"),
            "minimal": lambda record_id: notify_once(bare_dynamodb, bare_service_catalog, record_id, "minimal"),
        }
        for kind, run in kinds.items():  # one untimed call each: connections opened, lazy set-up done
            run(f"warm-up-{kind}")
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for index in range(count):
            order = list(kinds)[index % 3 :] + list(kinds)[: index % 3]
            for kind in order:
                started = time.perf_counter()
                kinds[kind](f"warm-{kind}-{index}")
                samples[kind].append((time.perf_counter() - started) * 1000)

        clients = (cold_start.service_catalog_client, cold_start.dynamodb_client)
        first = count_requests(clients, lambda: through_handler("requests-counted"))
        duplicate = count_requests(clients, lambda: through_handler("requests-counted"))
    return (
        {"warm_path_ms": {kind: asdict(Spread.of(values)) for kind, values in samples.items()}},
        {"requests_first_delivery": first, "requests_duplicate_delivery": duplicate},
    )


def count_requests(clients: tuple[Any, ...], action: Callable[[], None]) -> int:
    """How many HTTP requests botocore sends (retries included) while the action runs."""
    sent: list[str] = []

    def on_send(**kwargs: Any) -> None:
        sent.append(kwargs["event_name"])

    for client in clients:
        client.meta.events.register("before-send", on_send)
    try:
        action()
    finally:
        for client in clients:
            client.meta.events.unregister("before-send", on_send)
    return len(sent)


# The deployment artifact.


def artifact_size() -> int:
    """The zipped size of what ``sam build`` deploys: arm64 wheels for Python 3.13 and the package."""
    with tempfile.TemporaryDirectory() as build_dir:
        build = Path(build_dir) / "NotifyFunction"
        subprocess.run(  # noqa: S603 (our own interpreter's pip)
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                "--target", str(build), "--platform", "manylinux2014_aarch64", "--implementation", "cp",
                "--python-version", "3.13", "--only-binary=:all:", "-r", str(ROOT / "src" / "requirements.txt"),
            ],
            check=True,
        )  # fmt: skip
        shutil.copytree(
            ROOT / "src" / "engine_result_notifier",
            build / "engine_result_notifier",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        archive = Path(build_dir) / "function.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(build.rglob("*")):
                zipped.write(path, path.relative_to(build))
        return archive.stat().st_size


# The report.


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": time.strftime("%Y-%m-%d"),
    }


def table(figures: dict[str, Any]) -> str:
    def spread(name: str, kind: str) -> str:
        return str(Spread(**figures[name][kind]))

    artifact = figures["artifact_zipped_bytes"]
    rows = [
        ("figure", "notifier", "baseline", "ratio", "target"),
        (
            "cold init, ms",
            spread("cold_init_ms", "notifier"),
            spread("cold_init_ms", "baseline"),
            f"{figures['cold_init_ratio']:.2f}",
            f"<= {TARGETS['cold_init_ratio']}",
        ),
        (
            "peak memory (VmHWM), MiB",
            spread("peak_memory_mib", "notifier"),
            spread("peak_memory_mib", "baseline"),
            "",
            f"<= {TARGETS['peak_memory_mib']:.0f} MiB",
        ),
        (
            "warm path, ms",
            spread("warm_path_ms", "notifier"),
            spread("warm_path_ms", "baseline"),
            f"{figures['warm_path_ratio']:.2f}",
            f"<= {TARGETS['warm_path_ratio']}",
        ),
        (
            "  (baseline with minimal requests)",
            "",
            spread("warm_path_ms", "minimal"),
            f"{figures['warm_path_ratio_to_minimal_requests']:.2f}",
            "",
        ),
        ("requests, first delivery", str(figures["requests_first_delivery"]), "3", "", "= 3"),
        ("requests, duplicate delivery", str(figures["requests_duplicate_delivery"]), "", "", "<= 1"),
        ("artifact, zipped", "not built" if artifact is None else f"{artifact / 2**20:.1f} MiB", "", "", ""),
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    info = figures["machine"]
    runs = figures["runs"]
    lines.append("\ncold start, imported beyond the baseline's (python -X importtime, self times, ms):")
    lines.extend(f"  {ms:6.1f}  {group}" for group, ms in figures["cold_import_beyond_baseline_ms"].items())
    lines.append(
        f"\n{info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['platform']}, {info['date']}; "
        f"{runs['cold']} cold runs and {runs['warm']} warm notifications of each kind, medians [min-max]"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

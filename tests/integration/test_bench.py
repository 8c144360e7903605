"""``make bench`` runs, and its request counts hold: the floor of exactly-once, never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_aws.template import load_template
from tests.documentation import DOCUMENTATION

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    figures_path = tmp_path_factory.mktemp("bench") / "figures.json"
    completed = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bench", "--quick", "--json", str(figures_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, json.loads(figures_path.read_text(encoding="utf-8"))


def test_a_first_delivery_costs_exactly_three_requests(quick_bench: tuple[str, dict[str, Any]]) -> None:
    assert quick_bench[1]["requests_first_delivery"] == 3


def test_a_duplicate_delivery_costs_at_most_one_request(quick_bench: tuple[str, dict[str, Any]]) -> None:
    assert quick_bench[1]["requests_duplicate_delivery"] <= 1


@pytest.mark.parametrize("figure", ["cold_init_ms", "peak_memory_mib", "warm_path_ms"])
def test_every_figure_is_measured_with_its_baseline(quick_bench: tuple[str, dict[str, Any]], figure: str) -> None:
    measured = quick_bench[1][figure]
    assert measured["notifier"]["median"] > 0
    assert measured["baseline"]["median"] > 0


def test_the_table_is_printed(quick_bench: tuple[str, dict[str, Any]]) -> None:
    output = quick_bench[0]
    for row in ("cold init, ms", "peak memory (VmHWM), MiB", "warm path, ms", "requests, first delivery"):
        assert row in output


def test_the_python_313_finder_prints_nothing_or_an_interpreter_that_is_313() -> None:
    found = subprocess.run(  # noqa: S603 (our own script)
        [str(ROOT / ".ci" / "find-python3.13")], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    if found:
        version = subprocess.run(  # noqa: S603 (the interpreter the script found)
            [found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert version == "(3, 13)"


def test_make_bench_and_ci_find_the_lambda_runtimes_python_the_same_way() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    bench_recipe = makefile[makefile.index("\nbench:") : makefile.index("\nbench-with:")]
    assert ".ci/find-python3.13" in bench_recipe
    assert '"$(.ci/find-python3.13)"' in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readmes_performance_figures_are_on_the_runtime_the_template_deploys() -> None:
    runtime = load_template()["Globals"]["Function"]["Runtime"]
    readme = DOCUMENTATION
    assert f"Latest figures, on **Python {runtime.removeprefix('python')}." in readme

"""The CloudWatch dashboard of template.yaml, read as CloudFormation would render it, and the metrics it names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from local_aws.template import Intrinsics

DASHBOARD = "Dashboard"


@dataclass(frozen=True)
class DashboardMetric:
    """One metric a widget draws (a row of its ``metrics`` that is not a math expression)."""

    widget: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def dimension_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.dimensions)


def rendered_dashboard(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The dashboard body for these parameter values, parsed."""
    body = Intrinsics(template, parameters).evaluate(template["Resources"][DASHBOARD]["Properties"]["DashboardBody"])
    rendered: dict[str, Any] = json.loads(body)
    return rendered


def dashboard_metrics(dashboard: dict[str, Any]) -> list[DashboardMetric]:
    """Every metric of every metric widget: ``[namespace, name, dimension, value, ..., {options}]`` rows."""
    metrics = []
    for widget in dashboard["widgets"]:
        properties = widget["properties"]
        for row in properties.get("metrics", []):
            options = row[-1] if isinstance(row[-1], dict) else {}
            fields = row[:-1] if options else row
            if not fields:  # a math expression: only its options
                continue
            namespace, name, *pairs = fields
            dimensions = tuple(zip(pairs[::2], pairs[1::2], strict=True))
            metrics.append(
                DashboardMetric(properties["title"], namespace, name, dimensions, tuple(sorted(options.items())))
            )
    return metrics


def math_expressions(widget: dict[str, Any]) -> list[dict[str, Any]]:
    """The options of each math-expression row of a widget."""
    return [row[0] for row in widget["properties"].get("metrics", []) if len(row) == 1 and "expression" in row[0]]

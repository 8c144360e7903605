"""Read ``template.yaml``, CloudFormation short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
NOTIFY_FUNCTION = "NotifyFunction"
IDEMPOTENCY_TABLE = "IdempotencyTable"


class _CloudFormationLoader(yaml.SafeLoader):
    """A safe loader that turns ``!Name value`` into ``{"Fn::Name": value}`` (``!Ref`` into ``{"Ref": ...}``)."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref": value} if tag_suffix == "Ref" else {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as template_file:
        template: dict[str, Any] = yaml.load(template_file, Loader=_CloudFormationLoader)  # noqa: S506 (a safe loader)
    return template


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][logical_id]
    return found


def function_properties(template: dict[str, Any], logical_id: str = NOTIFY_FUNCTION) -> dict[str, Any]:
    """A function's properties with the template's ``Globals.Function`` merged in, as SAM does."""
    merged = dict(template.get("Globals", {}).get("Function", {}))
    merged.update(resource(template, logical_id)["Properties"])
    return merged

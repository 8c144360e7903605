"""Read ``template.yaml``, CloudFormation short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
NOTIFY_FUNCTION = "NotifyFunction"
IDEMPOTENCY_TABLE = "IdempotencyTable"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "111122223333"
LOCAL_STACK = "engine-result-notifier"


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
    """A function's properties with the template's ``Globals.Function`` merged in, as SAM does: maps merged,
    lists appended, other values overridden by the function's own."""
    return _merge_globals(template.get("Globals", {}).get("Function", {}), resource(template, logical_id)["Properties"])


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def functions(template: dict[str, Any]) -> list[str]:
    """The logical ids of the template's functions."""
    return [name for name, spec in template["Resources"].items() if spec["Type"] == "AWS::Serverless::Function"]


def function_arn(logical_id: str) -> str:
    """The ARN a function gets in the local stand-in of a deployed stack (account, region and stack fixed)."""
    return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{LOCAL_STACK}-{logical_id}"


def stack_outputs(template: dict[str, Any]) -> dict[str, str]:
    """The outputs that name a function's ARN (``!GetAtt Function.Arn``), as the local stack would give them."""
    outputs: dict[str, str] = {}
    for name, output in template.get("Outputs", {}).items():
        value = output["Value"]
        if isinstance(value, dict) and value.get("Fn::GetAtt", [None, None])[1] == "Arn":
            logical_id = value["Fn::GetAtt"][0]
            if logical_id in functions(template):
                outputs[name] = function_arn(logical_id)
    return outputs

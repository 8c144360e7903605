"""Read ``template.yaml``, CloudFormation short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) included."""

from __future__ import annotations

import re
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


def function_name(template: dict[str, Any], logical_id: str) -> str:
    """The name a function gets in the local stand-in of a deployed stack: its ``FunctionName`` evaluated."""
    return str(Intrinsics(template).evaluate(function_properties(template, logical_id)["FunctionName"]))


def function_arn(template: dict[str, Any], logical_id: str) -> str:
    """The ARN a function gets in the local stand-in of a deployed stack (account, region and stack fixed)."""
    return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{function_name(template, logical_id)}"


def stack_outputs(template: dict[str, Any]) -> dict[str, str]:
    """The outputs that name a function's ARN (``!GetAtt Function.Arn``), as the local stack would give them."""
    outputs: dict[str, str] = {}
    for name, output in template.get("Outputs", {}).items():
        value = output["Value"]
        if isinstance(value, dict) and value.get("Fn::GetAtt", [None, None])[1] == "Arn":
            logical_id = value["Fn::GetAtt"][0]
            if logical_id in functions(template):
                outputs[name] = function_arn(template, logical_id)
    return outputs


def declared_environment(
    template: dict[str, Any], logical_id: str, parameters: dict[str, Any] | None = None
) -> dict[str, str]:
    """The function's environment variables as the template declares them, evaluated as the local stack would
    (parameters as given, the others at their defaults; a resource ``Ref`` gives its logical id, as SAM's local
    tools do; a variable whose value is ``AWS::NoValue`` is not set)."""
    declared = function_properties(template, logical_id).get("Environment", {}).get("Variables", {})
    intrinsics = Intrinsics(template, parameters)
    evaluated = {name: intrinsics.evaluate(value) for name, value in declared.items()}
    return {name: str(value) for name, value in evaluated.items() if value is not _NO_VALUE}


class Intrinsics:
    """CloudFormation's intrinsic functions, evaluated for given parameter values (the others at their defaults):
    enough to read what a condition-dependent property becomes. ``!GetAtt`` gives ``<Resource.Attribute>``."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        self._template = template
        self._parameters: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            value = (parameters or {}).get(name, spec.get("Default", ""))
            is_list = spec.get("Type") == "CommaDelimitedList"
            self._parameters[name] = value.split(",") if is_list and isinstance(value, str) else value
        self._pseudo = {
            "AWS::StackName": LOCAL_STACK,
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::NoValue": _NO_VALUE,
        }

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self._template["Conditions"][name]))

    def evaluate(self, value: Any) -> Any:  # noqa: PLR0911 (one branch per intrinsic function)
        if isinstance(value, list):
            return [item for item in (self.evaluate(element) for element in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not _is_intrinsic(next(iter(value))):
            evaluated = ((key, self.evaluate(item)) for key, item in value.items())
            return {key: item for key, item in evaluated if item is not _NO_VALUE}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._parameters[argument] if argument in self._parameters else self._pseudo.get(argument, argument)
        if function in ("Condition", "Fn::Condition"):
            return self.condition(argument)
        if function == "Fn::If":
            name, if_true, if_false = argument
            return self.evaluate(if_true if self.condition(name) else if_false)
        if function == "Fn::GetAtt":
            return f"<{'.'.join(argument)}>"
        arguments = self.evaluate(argument)
        simple: dict[str, Any] = {
            "Fn::Not": lambda a: not a[0],
            "Fn::Equals": lambda a: a[0] == a[1],
            "Fn::Or": any,
            "Fn::And": all,
            "Fn::Join": lambda a: a[0].join(a[1]),
            "Fn::Split": lambda a: a[1].split(a[0]),
            "Fn::Sub": self._sub,
        }
        return simple[function](arguments)

    def _sub(self, argument: Any) -> str:
        """``!Sub``: variables, parameters and pseudo parameters by value, ``${Resource}`` as ``!Ref`` gives it
        here (the logical id), ``${Resource.Attribute}`` as ``!GetAtt`` does."""
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        names = {**self._pseudo, **{k: str(v) for k, v in self._parameters.items()}, **variables}

        def value(found: re.Match[str]) -> str:
            name = found.group(1)
            if name in names:
                return str(names[name])
            logical_id, _, attribute = name.partition(".")
            if logical_id not in self._template["Resources"]:
                raise KeyError(f"${{{name}}}: no such variable, parameter or resource")
            return f"<{name}>" if attribute else logical_id

        return re.sub(r"\$\{([^}!][^}]*)\}", value, text)


_NO_VALUE = object()


def _is_intrinsic(key: str) -> bool:
    return key in ("Ref", "Condition") or key.startswith("Fn::")

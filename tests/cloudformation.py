"""A template as CloudFormation receives it, and the parameter values CloudFormation accepts for it.

``sam deploy`` packages the template (each local ``CodeUri`` and ``DefinitionS3Location`` uploaded, the template
then naming the S3 object), and CloudFormation runs the SAM transform on it: ``aws-sam-translator``, the code
behind ``Transform: AWS::Serverless-2016-10-31``. Resources SAM generates (an ``EventBridgeRule`` event's rule, a
function's ``EventInvokeConfig``, its permissions) exist only in that expanded template, so it is what is linted
here, with cfn-lint, under given parameter values: a circular dependency among generated resources is invisible
to ``sam validate --lint`` on the SAM template.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import boto3
from cfnlint.api import ManualArgs, lint
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from local_aws.template import LOCAL_REGION, Intrinsics, load_template

ARTIFACTS_BUCKET = "sam-artifacts-111122223333-us-east-1"
"""Where ``sam deploy`` would have uploaded the code (any bucket name: CloudFormation does not read it here)."""


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template as ``sam deploy`` hands it to CloudFormation: local code and definitions replaced by S3 objects."""
    packed = copy.deepcopy(template)
    function_globals = packed.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = _uploaded(function_globals["CodeUri"])
    for resource in packed["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = _uploaded(properties["CodeUri"])
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and isinstance(
            properties.get("DefinitionS3Location"), str
        ):
            properties["DefinitionS3Location"] = {"Bucket": ARTIFACTS_BUCKET, "Key": properties["DefinitionS3Location"]}
    return packed


def _uploaded(local_path: str) -> str:
    return f"s3://{ARTIFACTS_BUCKET}/{local_path.strip('./') or 'code'}.zip"


def expanded(template_path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    """The template packaged, then expanded by the SAM transform with these parameter values."""
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=LOCAL_REGION))
    result: dict[str, Any] = translator.translate(
        packaged(load_template(template_path)), parameter_values=dict(parameters), get_managed_policy_map=dict
    )
    return result


def lint_errors(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """What cfn-lint finds wrong with an expanded template under these parameter values: its errors (E rules),
    one line each, with the rule's id first (E3004: a circular dependency)."""
    values: dict[str, Any] = {
        name: value.split(",") if template["Parameters"][name].get("Type") == "CommaDelimitedList" else value
        for name, value in parameters.items()
    }
    config = ManualArgs(regions=[LOCAL_REGION], parameters=[values] if values else [])
    matches = lint(json.dumps(template), config=config)
    return sorted(f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E"))


def created_resources(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """The logical ids of the resources a stack of this template (SAM or expanded) has under these parameter values:
    those without a ``Condition``, and those whose condition holds."""
    intrinsics = Intrinsics(template, parameters)
    return sorted(
        name
        for name, spec in template["Resources"].items()
        if "Condition" not in spec or intrinsics.condition(spec["Condition"])
    )


def refusal(template: dict[str, Any], parameters: dict[str, str]) -> str | None:
    """Why CloudFormation refuses these parameter values for the template, or None if it accepts them: each
    parameter's ``Type``, ``AllowedValues``, ``AllowedPattern`` (for a list, each value), ``MinLength`` /
    ``MaxLength`` and ``MinValue`` / ``MaxValue``, a value given or its ``Default``. Rules are not evaluated: a
    template with ``Rules`` is refused here until they are."""
    if "Rules" in template:
        return "the template has Rules, which this check does not evaluate"
    unknown = sorted(set(parameters) - set(template.get("Parameters", {})))
    if unknown:
        return f"no such parameter: {', '.join(unknown)}"
    for name, spec in template.get("Parameters", {}).items():
        value = parameters.get(name, spec.get("Default"))
        if value is None:
            return f"{name} needs a value"
        reason = _parameter_refusal(spec, str(value))
        if reason:
            return f"{name}={value}: {reason}"
    return None


def _parameter_refusal(spec: dict[str, Any], value: str) -> str | None:
    kind = spec.get("Type")
    values = value.split(",") if kind == "CommaDelimitedList" else [value]
    if "AllowedValues" in spec and not all(_allowed(kind, v, spec["AllowedValues"]) for v in values):
        return f"not one of {spec['AllowedValues']}"
    if "AllowedPattern" in spec and not all(re.fullmatch(spec["AllowedPattern"], v) for v in values):
        return f"does not match {spec['AllowedPattern']}"
    if not spec.get("MinLength", 0) <= len(value) <= spec.get("MaxLength", math.inf):
        return "too short or too long"
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        if not spec.get("MinValue", -math.inf) <= number <= spec.get("MaxValue", math.inf):
            return f"not from {spec.get('MinValue')} to {spec.get('MaxValue')}"
    return None


def _allowed(kind: str | None, value: str, allowed: list[Any]) -> bool:
    if kind == "Number":
        return any(float(value) == float(choice) for choice in allowed)
    return value in [str(choice) for choice in allowed]

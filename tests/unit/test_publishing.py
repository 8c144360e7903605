"""What another team needs to adopt the stack: the licence, Serverless Application Repository metadata that
`sam publish` accepts, resource types the repository supports, the capabilities a deployer acknowledges, and
one version everywhere."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import engine_result_notifier
from tests.conftest import TEMPLATE
from tests.unit.test_readme import README

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CHANGELOG = (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
METADATA: dict[str, Any] = TEMPLATE["Metadata"]["AWS::ServerlessRepo::Application"]
SUPPORTED_RESOURCE_TYPES = frozenset(
    line
    for line in (Path(__file__).parent / "data" / "serverless-repository-supported-resources.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line and not line.startswith("#")
)
# The MD5 of https://www.apache.org/licenses/LICENSE-2.0.txt, the licence's text as the ASF publishes it.
APACHE_2_0_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"
FIVE_MB = 5 * 1024 * 1024
# "AWS SAM template Metadata section properties" (SAM developer guide): minimum and maximum length, pattern.
FIELD_RULES = {
    "Name": (1, 140, r"[a-zA-Z0-9\-]+"),
    "Description": (1, 256, r".+"),
    "Author": (1, 127, r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$"),
}
LABEL_RULE = (1, 127, r"^[a-zA-Z0-9+\-_:\/@]+$")
MAX_LABELS = 10
# semver.org's own regular expression for a version.
SEMANTIC_VERSION = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
# "Application Capabilities" (Serverless Application Repository developer guide): the types that need each.
IAM_TYPES = {"AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy", "AWS::IAM::Role"}
RESOURCE_POLICY_TYPES = {
    "AWS::Lambda::LayerVersionPermission",
    "AWS::Lambda::Permission",
    "AWS::Events::EventBusPolicy",
    "AWS::IAM::Policy",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
}
NESTED_APPLICATION_TYPES = {"AWS::Serverless::Application", "AWS::CloudFormation::Stack"}


def test_the_licence_is_the_apache_2_0_text_that_pyproject_and_the_metadata_declare() -> None:
    licence = (PROJECT_ROOT / "LICENSE").read_bytes()
    assert hashlib.md5(licence, usedforsecurity=False).hexdigest() == APACHE_2_0_MD5
    assert PYPROJECT["project"]["license"] == METADATA["SpdxLicenseId"] == "Apache-2.0"


def test_the_metadata_has_what_a_public_application_needs() -> None:
    # Name, Description and Author are required; a public application also needs a licence and a version.
    assert {"Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "SemanticVersion"} <= set(METADATA)


def test_the_metadata_holds_no_intrinsic_function() -> None:
    # The repository takes the values as written: a !Ref or !Sub here would be published as its YAML.
    assert all(isinstance(value, str) for value in METADATA.values() if not isinstance(value, list))
    assert all(isinstance(label, str) for label in METADATA.get("Labels", []))


@pytest.mark.parametrize(("field", "rule"), FIELD_RULES.items())
def test_each_metadata_field_keeps_to_its_length_and_pattern(field: str, rule: tuple[int, int, str]) -> None:
    shortest, longest, pattern = rule
    value = METADATA[field]
    assert shortest <= len(value) <= longest
    assert re.fullmatch(pattern, value)


def test_the_labels_are_at_most_ten_each_within_its_length_and_pattern() -> None:
    shortest, longest, pattern = LABEL_RULE
    labels = METADATA["Labels"]
    assert 1 <= len(labels) <= MAX_LABELS
    for label in labels:
        assert shortest <= len(label) <= longest
        assert re.fullmatch(pattern, label), label


@pytest.mark.parametrize("field", ["LicenseUrl", "ReadmeUrl"])
def test_the_licence_and_readme_are_files_sam_package_can_upload(field: str) -> None:
    path = PROJECT_ROOT / METADATA[field]
    assert path.is_file()
    assert path.stat().st_size <= FIVE_MB


def test_every_resource_type_of_the_template_is_one_the_repository_supports() -> None:
    types = {spec["Type"] for spec in TEMPLATE["Resources"].values()}
    assert types - SUPPORTED_RESOURCE_TYPES == set()


def required_capabilities(resources: dict[str, Any]) -> set[str]:
    """The capabilities the repository asks a deployer to acknowledge for these resources, counting what SAM
    adds: a role for a function without one, a Lambda permission for each event that invokes a function."""
    types = {spec["Type"] for spec in resources.values()}
    for spec in resources.values():
        if spec["Type"] == "AWS::Serverless::Function":
            if "Role" not in spec["Properties"]:
                types.add("AWS::IAM::Role")
            if spec["Properties"].get("Events"):
                types.add("AWS::Lambda::Permission")
    capabilities = set()
    if types & IAM_TYPES:
        capabilities.add("CAPABILITY_IAM")
    if types & RESOURCE_POLICY_TYPES:
        capabilities.add("CAPABILITY_RESOURCE_POLICY")
    if types & NESTED_APPLICATION_TYPES:
        capabilities.add("CAPABILITY_AUTO_EXPAND")
    return capabilities


def test_the_readme_names_exactly_the_capabilities_a_deployer_acknowledges() -> None:
    section = README[README.index("## Publish to the Serverless Application Repository") :]
    section = section[: section.index("\n# ", 1)] if "\n# " in section else section
    named = set(re.findall(r"CAPABILITY_[A-Z_]+", section))
    assert named == required_capabilities(TEMPLATE["Resources"])
    assert "CAPABILITY_NAMED_IAM" not in named  # no IAM resource of the template has a name of its own


def test_the_package_pyproject_and_the_semantic_version_are_one_version() -> None:
    assert engine_result_notifier.__version__ == PYPROJECT["project"]["version"] == METADATA["SemanticVersion"]


def test_the_version_is_a_semantic_version() -> None:
    assert re.fullmatch(SEMANTIC_VERSION, engine_result_notifier.__version__)


def test_the_changelogs_latest_release_is_this_version_with_its_date() -> None:
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", CHANGELOG, flags=re.MULTILINE)
    assert sections[0] == ("Unreleased", "")
    version, date = sections[1]
    assert version == engine_result_notifier.__version__
    assert date


def test_the_changelogs_releases_are_newest_first() -> None:
    versions = re.findall(r"^## \[(\d+)\.(\d+)\.(\d+)\]", CHANGELOG, flags=re.MULTILINE)
    numbers = [tuple(int(part) for part in version) for version in versions]
    assert numbers == sorted(numbers, reverse=True)
    assert len(numbers) == len(set(numbers))


def test_the_readme_shows_the_current_version_where_it_shows_one() -> None:
    shown = re.findall(r"engine-result-notifier (\d+\.\d+\.\d+)", README)
    assert shown
    assert set(shown) == {engine_result_notifier.__version__}

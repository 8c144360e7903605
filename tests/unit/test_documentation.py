"""The documentation leads where it says: a front-door README of about 200 lines with its contents, every link to a
file and heading that exist, every make target it names in the Makefile, and the deploy answers for every
parameter of the template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE
from tests.documentation import FILES, ROOT, anchors, slug

README = ROOT / "README.md"
LINK = re.compile(r"\]\((?!https?://)([^)\s]*)\)")
MAKE = re.compile(r"(?m)(?:^|`)make ([a-z][a-z0-9-]+)")
"""``make <target>`` as a command: at the start of a line of a code block, or in inline code."""


def test_the_readme_is_a_front_door_with_its_contents() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 240
    contents = text[text.index("## Contents") :].split("\n## ", 1)[0]
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ") and line != "## Contents"]
    assert [slug(heading) for heading in headings] == re.findall(r"\(#([^)]+)\)", contents)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_relative_link_reaches_a_file_and_heading_that_exist(path: Path) -> None:
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{path.name}: {target}"


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_make_target_named_is_one_of_the_makefile(path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"(?m)^([a-z][a-z0-9-]+):", makefile))
    named = set(MAKE.findall(path.read_text(encoding="utf-8")))
    assert named <= targets, named - targets


def test_the_deploy_answers_cover_every_parameter_of_the_template() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("<!-- guided-answers -->") :].split("\n\n", 1)[0]
    answered = set(re.findall(r"\| Parameter (\w+) \|", table))
    assert answered == set(TEMPLATE["Parameters"])

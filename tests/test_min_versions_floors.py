"""pyproject.toml's dependency floors, as tools/min_versions.sh tests them.

The script pins each run-time dependency to its floor and runs the tests
there; this file checks that the floors have the form it can pin, and that
none is below what the oldest scikit-learn skbp allows requires itself.
"""

import os
import tomllib
from importlib.metadata import metadata, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project():
    path = ROOT / "pyproject.toml"
    if not path.exists():
        pytest.skip("no pyproject.toml: not run from a checkout")
    with path.open("rb") as f:
        return tomllib.load(f)["project"]


def _floors(project):
    """{name: floor} of the run-time dependencies."""
    floors = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        floors[requirement.name] = Version(specifier.version)
    return floors


def test_each_dependency_is_a_floor_the_script_can_pin(project):
    for line in project["dependencies"]:
        requirement = Requirement(line)
        assert not requirement.extras and requirement.marker is None, line
        assert [s.operator for s in requirement.specifier] == [">="], line
    assert project["requires-python"].startswith(">=")


def test_no_floor_is_below_what_scikit_learn_requires(project):
    floors = _floors(project)
    oldest = floors["scikit-learn"]
    if Version(version("scikit-learn")) != oldest:
        pytest.skip(
            f"scikit-learn {version('scikit-learn')} is installed, not the floor "
            f"{oldest}, whose own floors are the ones to compare with"
        )
    for line in requires("scikit-learn"):
        theirs = Requirement(line)
        if theirs.marker is not None or theirs.name not in floors:
            continue
        assert theirs.specifier.contains(floors[theirs.name]), line
    python = SpecifierSet(metadata("scikit-learn")["Requires-Python"])
    ours = Version(project["requires-python"].removeprefix(">="))
    assert python.contains(ours), (python, ours)


def test_the_script_is_executable():
    script = ROOT / "tools" / "min_versions.sh"
    if not script.exists():
        pytest.skip("no tools/: not run from a checkout")
    assert os.access(script, os.X_OK)

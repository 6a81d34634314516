"""pyproject.toml is the one source of dependencies; environment.yml must list exactly the same."""

from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normalized(specs):
    reqs = [Requirement(s) for s in specs]
    return {(r.name.lower().replace("_", "-"), str(r.specifier), tuple(sorted(r.extras))) for r in reqs}


def _pip_section(env):
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            return dep["pip"]
    raise AssertionError("environment.yml has no pip: section")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert _normalized(_pip_section(env)) == _normalized(project)


def test_required_pins_present():
    deps = {Requirement(s).name: str(Requirement(s).specifier) for s in
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert deps["torch"] == "==2.13.0"
    assert "<5" in deps["transformers"] and "<2" in deps["numpy"] and "<82" in deps["setuptools"]
    assert "<2" in deps["jupyter-book"] and "<22" in deps["pyarrow"]

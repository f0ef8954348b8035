"""The CI workflows call only what exists: Makefile targets and CLI options (no cloud needed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def run_steps() -> list[str]:
    scripts = []
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            scripts += [step["run"] for step in job["steps"] if "run" in step]
    return scripts


def test_workflows_exist_for_tests_previews_and_deploys() -> None:
    assert {path.stem for path in WORKFLOWS} == {"ci", "preview", "deploy"}


def test_every_make_target_a_workflow_calls_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    called = {
        m
        for script in run_steps()
        for m in re.findall(r"\bmake (?:--silent )?(?:-C \S+ )?([a-z][\w-]*)", script)
    }
    assert called and called <= targets, called - targets


def test_ci_runs_the_readme_test_command() -> None:
    assert "bash .ci/run" in run_steps()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text() and "make plan" in (ROOT / "README.md").read_text()


@pytest.mark.cli
def test_preview_plan_command_parses() -> None:
    expanded = subprocess.run(
        ["make", "-n", "plan", "STACK=prod", "PLAN_ARGS=--diff-against base.json", "UV=uv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    command = next(line for line in expanded.splitlines() if "python -m infra plan" in line)
    arguments = command.split("python -m infra ", 1)[1].split()
    args = build_parser().parse_args(arguments)
    assert (args.stack, args.diff_against) == ("prod", "base.json")

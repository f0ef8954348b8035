"""The region a job runs in is its project's workspace region, from the stack outputs; the example
serverless recipe runs as the docs show it, from the example project in a region that offers it."""

from __future__ import annotations

import io
import re
import shlex

import pytest
from stackdata import REPO, Planned

from jobs.cli import EXIT_OK, EXIT_USER_ERROR, main
from jobs.targets import environment_facts, resolve_target

RECIPE = "jobs/recipes/llama-serverless.yaml"
A100 = "StandardNCADSA100v4Family"


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every `python -m jobs finetune <the serverless example>` the README, docs and the recipe show."""
    found = []
    for name in ("README.md", "docs/jobs.md", RECIPE):
        for line in (REPO / name).read_text().splitlines():
            match = re.search(rf"python -m jobs (finetune {re.escape(RECIPE)}[^#`)]*)", line)
            if match:
                found.append((name, shlex.split(match.group(1))))
    return found


def test_every_documented_command_of_the_serverless_example_passes_the_checks() -> None:
    commands = documented_commands()
    assert {name for name, _ in commands} == {"README.md", "docs/jobs.md", RECIPE}
    for name, argv in commands:
        argv = argv if "--dry-run" in argv else [*argv, "--dry-run"]  # offline: the plan's outputs
        out, err = io.StringIO(), io.StringIO()
        assert main(argv, out=out, err=err) == EXIT_OK, (name, argv, err.getvalue())
        assert '"jobType": "FineTuning"' in out.getvalue()


def test_the_serverless_example_is_refused_from_a_westeurope_project() -> None:
    err = io.StringIO()
    argv = ["finetune", RECIPE, "--stack", "dev", "--project", "nlp-research", "--dry-run"]
    assert main(argv, out=io.StringIO(), err=err) == EXIT_USER_ERROR
    message = err.getvalue()
    assert (
        "model: serverless fine-tuning of Meta-Llama-3.1-8B-Instruct is not offered in westeurope" in message
    )
    assert "it is offered from workspaces in: westus3" in message


def test_the_target_is_in_its_projects_region_with_that_regions_quota(planned: Planned) -> None:
    outputs = planned.outputs("dev")  # environment in westeurope
    outputs["gpu_quota"] = {A100: 96}
    outputs["gpu_quota_by_region"] = {"westus3": {A100: 48.0}}
    outputs["projects"]["vision-lab"]["location"] = "westus3"
    moved = resolve_target(outputs, "dev", "vision-lab")
    assert moved.location == "westus3"
    assert moved.facts is not None and dict(moved.facts.gpu_quota) == {A100: 48}
    assert moved.facts.quota_key == "gpu_quota_by_region.westus3"  # what a refusal names
    # a project without its own location (outputs of an older stack) is in the environment's
    del outputs["projects"]["nlp-research"]["location"]
    home = resolve_target(outputs, "dev", "nlp-research")
    assert home.location == "westeurope"
    assert home.facts is not None and dict(home.facts.gpu_quota) == {A100: 96}
    assert home.facts.quota_key == "gpu_quota"
    # a region without recorded quota has none: deployments there are refused for lack of it
    outputs["projects"]["vision-lab"]["location"] = "eastus"
    elsewhere = resolve_target(outputs, "dev", "vision-lab")
    assert elsewhere.facts is not None and dict(elsewhere.facts.gpu_quota) == {}


@pytest.mark.parametrize(
    ("location", "families"), [("", {A100, "standardNCASv3_T4Family"}), ("westus3", set())]
)
def test_facts_from_the_stack_file_take_the_quota_of_the_projects_region(
    location: str, families: set[str]
) -> None:
    # dev records quota for westeurope only (stacks/Pulumi.dev.yaml)
    facts = environment_facts("dev", location)
    assert set(facts.gpu_quota) == families
    assert facts.quota_key == (f"gpu_quota_by_region.{location}" if location else "gpu_quota")

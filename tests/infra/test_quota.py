"""GPU quota: every cluster of an environment at max nodes must fit the regional quota per family."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, Layout, load_platform, validate_all
from infra.config.errors import ConfigIssue
from infra.plan.offline import REPOSITORY
from infra.plan.sections import plan_sections
from infra.policy.quota import capacity_lines
from tests.infra.sandbox import Sandbox, example_environment, example_project, model_of

T4 = "standardNCASv3_T4Family"
A100 = "StandardNCADSA100v4Family"
QUOTA_FIELD = f"config.mlplatform:environment.gpu_quota.{T4}"
# dev T4 demand of the examples: nlp-research t4 2 x 4 vCPUs (dev override) + vision-lab t4-spot 2 x 16.
DEV_T4_VCPUS = 2 * 4 + 2 * 16


def with_quota(sandbox: Sandbox, **quota: int) -> None:
    environment = example_environment("dev")
    environment["gpu_quota"] = quota
    sandbox.stack("dev", environment)


def issues(sandbox: Sandbox) -> list[ConfigIssue]:
    return validate_all(Layout(sandbox.root))


def test_demand_exactly_at_the_quota_passes(sandbox: Sandbox) -> None:
    # A100: 48 is dev's 2 x 24 vCPUs; prod's 2 x 96 of the same project is not charged to dev.
    with_quota(sandbox, **{T4: DEV_T4_VCPUS, A100: 48})
    assert issues(sandbox) == []
    model = sandbox.model("dev")
    assert f"total         {T4}    2         4          4         40     100% of 40" in capacity_lines(
        model.environment, model.projects
    )


def test_one_node_over_the_quota_fails_naming_projects_clusters_files_and_fields(sandbox: Sandbox) -> None:
    with_quota(sandbox, **{T4: DEV_T4_VCPUS, A100: 48})
    vision: dict[str, Any] = example_project("vision-lab")
    vision["clusters"]["t4-spot"]["max_nodes"] = 3  # +16 vCPUs
    sandbox.project("vision-lab.yaml", vision)
    found = {(i.file, i.path): i.message for i in issues(sandbox)}
    assert set(found) == {
        ("stacks/Pulumi.dev.yaml", QUOTA_FIELD),
        ("stacks/projects/vision-lab.yaml", "clusters.t4-spot.max_nodes"),
        ("stacks/projects/nlp-research.yaml", "environments.dev.clusters.t4-eval.max_nodes"),
    }
    summary = found[("stacks/Pulumi.dev.yaml", QUOTA_FIELD)]
    assert "56 vCPUs" in summary and "quota is 40 (16 over)" in summary
    assert "vision-lab/t4-spot 3 x Standard_NC16as_T4_v3 = 48 vCPUs" in summary
    assert "nlp-research/t4-eval 2 x Standard_NC4as_T4_v3 = 8 vCPUs" in summary
    assert "stacks/projects/nlp-research.yaml: environments.dev.clusters.t4-eval.max_nodes" in summary
    # The plan and `pulumi up` refuse it too, before registering anything.
    with pytest.raises(ConfigError, match="over the quota of 40"):
        load_platform(Layout(sandbox.root), "dev")


def test_family_without_quota_fails_clearly(sandbox: Sandbox) -> None:
    with_quota(sandbox, **{T4: 64})
    found = {(i.file, i.path): i.message for i in issues(sandbox)}
    assert set(found) == {
        ("stacks/Pulumi.dev.yaml", f"config.mlplatform:environment.gpu_quota.{A100}"),
        ("stacks/projects/nlp-research.yaml", "clusters.a100.vm_size"),
    }
    assert (
        f"no quota for VM family {A100}"
        in found[("stacks/Pulumi.dev.yaml", f"config.mlplatform:environment.gpu_quota.{A100}")]
    )
    assert (
        "nlp-research/a100"
        in found[("stacks/Pulumi.dev.yaml", f"config.mlplatform:environment.gpu_quota.{A100}")]
    )
    assert (
        f"VM family {A100}, which has no gpu_quota"
        in found[("stacks/projects/nlp-research.yaml", "clusters.a100.vm_size")]
    )


def test_unknown_family_in_quota_is_refused(sandbox: Sandbox) -> None:
    with_quota(sandbox, **{T4: 64, A100: 96, "standardNVFamily": 12})
    (issue,) = issues(sandbox)
    assert issue.path == "config.mlplatform:environment.gpu_quota"
    assert "unknown VM family standardNVFamily" in issue.message


def test_capacity_section_per_project_and_total() -> None:
    section = next(
        s for s in plan_sections(model_of(REPOSITORY, "prod")) if s.title.startswith("GPU capacity")
    )
    lines = [" ".join(line.split()) for line in section.lines]
    assert lines[0] == "project family clusters max nodes max GPUs vCPUs share of quota"
    # prod: nlp-research a100 is 2 x NC96ads_A100_v4 (4 GPUs, 96 vCPUs); t4 is 4 x NC4as_T4_v3.
    assert f"nlp-research {A100} a100 2 8 192 50% of 384" in lines
    assert f"nlp-research {T4} t4-eval 4 4 16 12% of 128" in lines
    assert f"total {A100} 1 2 8 192 50% of 384" in lines

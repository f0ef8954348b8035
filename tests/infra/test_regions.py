"""A project in another region than its environment: where each resource goes, and the
region-bound rules (the registry's regions, quota per region) refused with file, field and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from infra.config import Layout, validate_all
from infra.config.errors import ConfigIssue
from infra.config.models import Region
from infra.live_check import run
from infra.plan.sections import plan_sections
from infra.policy.quota import capacity_lines
from infra.regions import REGIONS
from tests.infra.sandbox import Sandbox, example_environment, example_project

ENV = "config.mlplatform:environment"
DEV = "stacks/Pulumi.dev.yaml"
PROD = "stacks/Pulumi.prod.yaml"
MAAS = "stacks/projects/maas-lab.yaml"
SPEECH = "stacks/projects/speech-lab.yaml"
T4 = "standardNCASv3_T4Family"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
# Every regional resource type a project renders (the hub's private endpoints apart).
REGIONAL = {
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:applicationinsights:Component",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:machinelearningservices:Compute",
}


def speech_lab(**fields: Any) -> dict[str, Any]:
    """A small project of both environments, with one T4 cluster."""
    return {
        "name": "speech-lab",
        "owner": "speech-lead@contoso.com",
        "cost_center": "CC-2510",
        "clusters": {"t4-eval": {"vm_size": "Standard_NC4as_T4_v3", "max_nodes": 2}},
        "budget": {"monthly_amount": 100},
        "environments": {"dev": {}, "prod": {}},
        **fields,
    }


def issues(sandbox: Sandbox) -> dict[tuple[str, str], ConfigIssue]:
    return {(i.file, i.path): i for i in validate_all(Layout(sandbox.root))}


def line_of(sandbox: Sandbox, file: str, text: str) -> int:
    lines = (sandbox.root / file).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


# --- where each resource goes ---------------------------------------------------------------


def test_a_projects_region_reaches_every_regional_resource_and_not_the_hub_endpoints(
    sandbox: Sandbox,
) -> None:
    # prod: private endpoints in the hub subnet, a private registry and the image-build cluster.
    document = speech_lab()
    document["environments"]["prod"] = {"location": "westus3"}  # per environment
    sandbox.project("speech-lab.yaml", document)
    environment = example_environment("prod")
    environment["gpu_quota_by_region"] = {"westus3": {T4: 8}}
    sandbox.stack("prod", environment)
    plan = sandbox.plan("prod")
    mine = [
        r for r in plan.resources if r.custom and r.name.startswith("speech-lab-") and "location" in r.inputs
    ]
    assert {r.type for r in mine} == REGIONAL | {PRIVATE_ENDPOINT}
    for resource in mine:
        expected = "westeurope" if resource.type == PRIVATE_ENDPOINT else "westus3"
        assert resource.inputs["location"] == expected, resource.name
    computes = [r for r in mine if r.type == "azure-native:machinelearningservices:Compute"]
    assert {r.name for r in computes} == {"speech-lab-t4-eval", "speech-lab-image-build"}
    assert {r.inputs["properties"]["computeLocation"] for r in computes} == {"westus3"}
    # the hub's endpoints reach the project's resources across regions (they are in the subnet's)
    endpoints = [r for r in mine if r.type == PRIVATE_ENDPOINT]
    assert len(endpoints) == 5
    # everything else stays in the environment's location
    others = [r for r in plan.resources if r.custom and "location" in r.inputs and r not in mine]
    assert others and {r.inputs["location"] for r in others} == {"westeurope"}
    assert plan.outputs["projects"]["speech-lab"]["location"] == "westus3"
    assert plan.outputs["projects"]["nlp-research"]["location"] == "westeurope"
    # dev, without the override, keeps the environment's location
    assert sandbox.plan("dev").outputs["projects"]["speech-lab"]["location"] == "westeurope"


def test_the_plan_names_the_workspaces_in_another_region(sandbox: Sandbox) -> None:
    environment = next(s for s in plan_sections(sandbox.model("dev")) if s.title == "Environment")
    assert environment.lines[0] == "location: westeurope (workspaces elsewhere: maas-lab in westus3)"
    prod = next(s for s in plan_sections(sandbox.model("prod")) if s.title == "Environment")
    assert prod.lines[0] == "location: westeurope"


# --- a region that is no region -------------------------------------------------------------


def test_a_bad_region_names_file_field_and_line(sandbox: Sandbox) -> None:
    document = speech_lab(location="West US3")
    document["environments"]["prod"] = {"location": "westus33"}
    sandbox.project("speech-lab.yaml", document)
    found = issues(sandbox)
    top = found[(SPEECH, "location")]
    assert top.line == line_of(sandbox, SPEECH, "location: West US3")
    assert "'West US3' is not an Azure region name; did you mean westus3?" in top.message
    override = found[(SPEECH, "environments.prod.location")]
    assert override.line == line_of(sandbox, SPEECH, "location: westus33")
    assert "did you mean westus3?" in override.message


DISPLAY_NAMES = [
    tuple(line.split("\t"))
    for line in (Path(__file__).parent / "data" / "region-display-names.txt").read_text().splitlines()
    if line and not line.startswith("#")
]


def test_every_region_of_the_table_has_a_display_name_recorded() -> None:
    assert {name for _, name in DISPLAY_NAMES} == REGIONS


@pytest.mark.parametrize(("display", "name"), DISPLAY_NAMES)
def test_a_display_name_is_refused_with_the_regions_name(display: str, name: str) -> None:
    # ARM takes both; the program names a region one way, so a display name is corrected.
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Region).validate_python(display)
    assert f"{display!r} is not an Azure region name; did you mean {name}?" in str(refused.value)


def test_a_name_like_no_region_points_to_the_list_of_regions() -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Region).validate_python("moon-base-1")
    assert "'moon-base-1' is not an Azure region name (see `az account list-locations -o table`)" in str(
        refused.value
    )


# --- the ML registry's regions --------------------------------------------------------------


def test_a_workspace_outside_the_registrys_regions_is_refused_on_both_sides(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["registry"]["existing_regions"] = ["westeurope", "northeurope"]
    sandbox.stack("dev", environment)
    found = issues(sandbox)
    assert set(found) == {(MAAS, "location"), (DEV, f"{ENV}.registry.existing_regions")}
    project = found[(MAAS, "location")]
    assert project.line == line_of(sandbox, MAAS, "location: westus3")
    assert "the workspace region westus3 cannot use the environment's ML registry" in project.message
    assert (
        "not one of the ML registry mlr-mlp-prd-0a71's regions (westeurope, northeurope)" in project.message
    )
    assert "add westus3 to registry.existing_regions" in project.message
    stack = found[(DEV, f"{ENV}.registry.existing_regions")]
    assert stack.line == line_of(sandbox, DEV, "existing_regions:")
    assert "maas-lab" in stack.message and "must replicate to" in stack.message


def test_an_unrecorded_registry_of_another_stack_allows_only_the_environments_location(
    sandbox: Sandbox,
) -> None:
    environment = example_environment("dev")
    del environment["registry"]["existing_regions"]
    sandbox.stack("dev", environment)
    found = issues(sandbox)
    assert set(found) == {(MAAS, "location"), (DEV, f"{ENV}.registry.existing_regions")}
    assert "does not record its regions (registry.existing_regions)" in found[(MAAS, "location")].message
    # without a project elsewhere, nothing is refused: only the service checks the environment's own
    sandbox.remove_project("maas-lab.yaml")
    assert issues(sandbox) == {}


def test_the_environments_own_location_must_be_among_recorded_regions(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["registry"]["existing_regions"] = ["northeurope", "westus3"]
    sandbox.stack("dev", environment)
    # (they also differ from what prod creates: that is reported on the same field)
    found = [i for i in validate_all(Layout(sandbox.root)) if "must replicate to" in i.message]
    # nlp-research and vision-lab set no location: the stack file's regions are the field to fix
    assert {(i.file, i.path) for i in found} == {(DEV, f"{ENV}.registry.existing_regions")}
    assert sorted(i.message.split()[1] for i in found) == ["nlp-research", "vision-lab"]
    assert all("has its workspace in westeurope" in i.message for i in found)


def test_a_registry_this_stack_creates_must_replicate_to_the_projects_region(sandbox: Sandbox) -> None:
    sandbox.project("speech-lab.yaml", speech_lab(environments={"prod": {"location": "eastus"}}))
    environment = example_environment("prod")
    environment["gpu_quota_by_region"] = {"eastus": {T4: 8}}
    sandbox.stack("prod", environment)
    found = issues(sandbox)
    assert set(found) == {
        (SPEECH, "environments.prod.location"),
        (PROD, f"{ENV}.registry.create.replication_regions"),
    }
    assert "(westeurope, northeurope, westus3)" in found[(SPEECH, "environments.prod.location")].message
    assert (
        "add eastus to registry.create.replication_regions"
        in found[(SPEECH, "environments.prod.location")].message
    )
    environment["registry"]["create"]["replication_regions"].append("eastus")
    sandbox.stack("prod", environment)
    dev = example_environment("dev")  # which records prod's registry's regions
    dev["registry"]["existing_regions"].append("eastus")
    sandbox.stack("dev", dev)
    assert issues(sandbox) == {}


def test_recorded_regions_must_match_the_stack_that_creates_the_registry(sandbox: Sandbox) -> None:
    # prod adds a region; dev, which records prod's registry's regions, is not updated
    prod = example_environment("prod")
    prod["registry"]["create"]["replication_regions"].append("eastus")
    sandbox.stack("prod", prod)
    found = issues(sandbox)
    assert set(found) == {(DEV, f"{ENV}.registry.existing_regions")}
    drift = found[(DEV, f"{ENV}.registry.existing_regions")]
    assert drift.line == line_of(sandbox, DEV, "existing_regions:")
    assert (
        "lists westeurope, northeurope, westus3, but stacks/Pulumi.prod.yaml creates the registry "
        "mlr-mlp-prd-0a71 in westeurope, northeurope, westus3, eastus"
    ) in drift.message
    # the order is not a fact about the registry
    dev = example_environment("dev")
    dev["registry"]["existing_regions"] = ["eastus", "westus3", "northeurope", "westeurope"]
    sandbox.stack("dev", dev)
    assert issues(sandbox) == {}


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        (
            {"create": {"replication_regions": ["westeurope"]}, "existing_regions": ["westeurope"]},
            "existing_regions describes a registry another stack owns",
        ),
        (
            {
                "existing_id": "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/g/providers/Microsoft.MachineLearningServices/registries/r",
                "existing_regions": ["westeurope", "westeurope"],
            },
            "existing_regions lists a region twice",
        ),
        (
            {
                "existing_id": "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/g/providers/Microsoft.MachineLearningServices/registries/r",
                "existing_regions": ["west europe"],
            },
            "did you mean westeurope?",
        ),
    ],
)
def test_recorded_registry_regions_are_checked(
    sandbox: Sandbox, registry: dict[str, Any], message: str
) -> None:
    environment = example_environment("dev")
    environment["registry"] = registry
    sandbox.stack("dev", environment)
    assert any(message in i.message and i.file == DEV for i in issues(sandbox).values())


# --- GPU quota is per region ----------------------------------------------------------------


def with_cluster_in_westus3(sandbox: Sandbox, **quota_by_region: dict[str, int]) -> None:
    maas = example_project("maas-lab")
    maas["clusters"] = {"t4-spot": {"vm_size": "Standard_NC16as_T4_v3", "max_nodes": 2}}  # 32 vCPUs
    sandbox.project("maas-lab.yaml", maas)
    environment = example_environment("dev")
    environment["gpu_quota_by_region"] = quota_by_region
    sandbox.stack("dev", environment)


def test_clusters_in_a_region_without_recorded_quota_are_refused(sandbox: Sandbox) -> None:
    with_cluster_in_westus3(sandbox)
    found = issues(sandbox)
    assert set(found) == {(DEV, f"{ENV}.gpu_quota_by_region.westus3"), (MAAS, "clusters.t4-spot.vm_size")}
    assert (
        "no GPU quota recorded for region westus3"
        in found[(DEV, f"{ENV}.gpu_quota_by_region.westus3")].message
    )
    cluster = found[(MAAS, "clusters.t4-spot.vm_size")]
    assert cluster.line == line_of(sandbox, MAAS, "vm_size: Standard_NC16as_T4_v3")
    assert "the project's workspace is in westus3" in cluster.message
    assert "gpu_quota_by_region.westus3" in cluster.message


def test_a_regions_clusters_count_against_that_regions_quota_only(sandbox: Sandbox) -> None:
    # dev's westeurope T4 quota (160) is not charged: 32 vCPUs fit 32 in westus3 exactly
    with_cluster_in_westus3(sandbox, westus3={T4: 32})
    assert issues(sandbox) == {}
    model = sandbox.model("dev")
    lines = [" ".join(line.split()) for line in capacity_lines(model.environment, model.projects)]
    assert f"maas-lab {T4} (westus3) t4-spot 2 2 32 100% of 32" in lines
    assert f"total {T4} (westus3) 1 2 2 32 100% of 32" in lines
    assert any(line.startswith(f"total {T4} ") and "of 160" in line for line in lines)
    assert sandbox.plan("dev").outputs["gpu_quota_by_region"] == {"westus3": {T4: 32}}
    # one vCPU less there is over, named on that region's quota and on the cluster
    with_cluster_in_westus3(sandbox, westus3={T4: 31})
    found = issues(sandbox)
    assert set(found) == {
        (DEV, f"{ENV}.gpu_quota_by_region.westus3.{T4}"),
        (MAAS, "clusters.t4-spot.max_nodes"),
    }
    summary = found[(DEV, f"{ENV}.gpu_quota_by_region.westus3.{T4}")].message
    assert f"in westus3 can use 32 vCPUs of {T4} but the quota is 31 (1 over)" in summary


def test_a_family_without_quota_in_the_projects_region_is_refused(sandbox: Sandbox) -> None:
    with_cluster_in_westus3(sandbox, westus3={"StandardNCADSA100v4Family": 96})
    found = issues(sandbox)
    assert set(found) == {
        (DEV, f"{ENV}.gpu_quota_by_region.westus3.{T4}"),
        (MAAS, "clusters.t4-spot.vm_size"),
    }
    assert (
        f"no quota for VM family {T4} in westus3"
        in found[(DEV, f"{ENV}.gpu_quota_by_region.westus3.{T4}")].message
    )
    assert "which has no gpu_quota_by_region.westus3" in found[(MAAS, "clusters.t4-spot.vm_size")].message


@pytest.mark.parametrize(
    ("quota", "path", "message"),
    [
        ({"westeurope": {T4: 8}}, f"{ENV}", "is the environment's own location, whose quota is `gpu_quota`"),
        (
            {"westus3": {"standardNVFamily": 8}},
            f"{ENV}.gpu_quota_by_region",
            "unknown VM family standardNVFamily",
        ),
        ({"westus": {T4: 8}, "west us": {T4: 8}}, f"{ENV}.gpu_quota_by_region", "did you mean westus?"),
    ],
)
def test_regional_quota_is_validated(
    sandbox: Sandbox, quota: dict[str, Any], path: str, message: str
) -> None:
    environment = example_environment("dev")
    environment["gpu_quota_by_region"] = quota
    sandbox.stack("dev", environment)
    found = [i for i in validate_all(Layout(sandbox.root)) if i.file == DEV]
    assert any(i.path.startswith(path) and message in i.message for i in found), [str(i) for i in found]


def test_check_live_reads_each_regions_quota() -> None:
    asked: list[str] = []

    def get_json(url: str) -> dict[str, Any]:
        asked.append(url)
        if "/usages?" in url:
            region = url.split("/locations/")[1].split("/")[0]
            limit = {"westeurope": 160, "westus3": 16}[region]
            return {"value": [{"name": {"value": T4}, "currentValue": 0, "limit": limit}]}
        return {"value": []} if "/skus?" in url else {"properties": {"roleName": ""}}

    findings = run("westeurope", {T4: 160}, "sub", get_json, {"westus3": {T4: 32}})
    quota = [str(f) for f in findings if f.what.startswith("quota")]
    assert quota == [
        f"ok   quota {T4}: 160 vCPUs in westeurope, the stack declares 160",
        f"FAIL quota {T4}: 16 vCPUs in westus3, the stack declares 32",
    ]

"""The offline plan: deterministic, complete, secret-safe, and a diff that guards production data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from pulumi_azure_native import resources

from infra.config.loader import Layout, read_stack_config
from infra.plan.offline import REPOSITORY, plan_stack
from infra.plan.render import render_text, to_json
from infra.plan.runtime import SECRET, Plan, run_program
from tests.infra.sandbox import Sandbox


def test_json_plan_is_byte_identical_between_runs(dev_plan: Plan) -> None:
    assert to_json(plan_stack("dev")) == to_json(dev_plan)


def test_json_plan_has_every_resource_with_its_wiring(prod_plan: Plan) -> None:
    document = json.loads(to_json(prod_plan))
    assert [r["urn"] for r in document["resources"]] == sorted(r["urn"] for r in document["resources"])
    compute = next(r for r in document["resources"] if r["name"] == "nlp-research-a100" and r["custom"])
    assert compute["type"] == "azure-native:machinelearningservices:Compute"
    assert compute["physical_name"] == "a100"
    assert compute["parent"].endswith(
        "mlplatform:project:Project$mlplatform:compute:GpuCluster::nlp-research-a100"
    )
    assert any(dep.endswith("Workspace::nlp-research-workspace") for dep in compute["dependencies"])
    assert compute["options"]["delete_before_replace"] is True
    workspace = next(r for r in document["resources"] if r["name"] == "nlp-research-workspace")
    assert workspace["options"]["protect"] is True
    # a100 and t4, and the image-build cluster prod needs with its private container registry
    assert document["summary"]["azure-native:machinelearningservices:Compute"] == 3
    assert document["outputs"]["environment"] == "prod"


def test_urns_follow_the_engine_form(dev_plan: Plan) -> None:
    urns = {r.urn for r in dev_plan.resources}
    assert "urn:pulumi:dev::mlplatform::mlplatform:project:Project::nlp-research" in urns
    assert (
        "urn:pulumi:dev::mlplatform::mlplatform:project:Project$mlplatform:compute:GpuCluster"
        "$azure-native:machinelearningservices:Compute::nlp-research-t4-eval" in urns
    )


def test_text_plan_is_a_tree_with_outputs_and_summary(dev_plan: Plan) -> None:
    text = render_text(dev_plan)
    assert text.startswith("Plan for stack 'dev': ")
    assert "├─ mlplatform:project:Project nlp-research" in text
    assert (
        "azure-native:machinelearningservices:Compute nlp-research-a100 (a100)  vmSize=Standard_NC24ads_A100_v4"
        in text
    )
    assert "nodePublicIp=false ssh=Disabled" in text
    assert "projects.vision-lab.clusters.t4-spot.vm_size: Standard_NC16as_T4_v3" in text
    total = next(line for line in text.splitlines() if line.strip().startswith("total"))
    assert int(total.split()[-1]) == len(dev_plan.resources)


def test_stack_outputs_carry_the_environments_facts(dev_plan: Plan) -> None:
    # The keys are the contract's (tests/infra/test_stack_outputs.py); these are the values.
    outputs = dev_plan.outputs
    assert (outputs["production"], outputs["public_network_access"]) == (False, True)
    assert outputs["gpu_quota"] == {"StandardNCADSA100v4Family": 96, "standardNCASv3_T4Family": 160}
    assert outputs["gpu_quota_by_region"] == {}  # dev records no other region's quota
    # Each project's workspace region: the environment's unless its file names another.
    assert {name: p["location"] for name, p in outputs["projects"].items()} == {
        "maas-lab": "westus3",
        "nlp-research": "westeurope",
        "vision-lab": "westeurope",
    }
    nlp = outputs["projects"]["nlp-research"]
    assert nlp["registry_path"] == "managed network private endpoint"
    assert nlp["clusters"]["t4-eval"] == {
        "name": "t4-eval",
        "id": f"{nlp['workspace_id']}/computes/t4-eval",
        "vm_size": "Standard_NC4as_T4_v3",
        "min_nodes": 0,
        "max_nodes": 2,
        "gpus_per_node": 1,
        "vcpus_per_node": 4,
        "priority": "LowPriority",
    }
    workspace = dev_plan.get("azure-native:machinelearningservices:Workspace", "nlp-research-workspace")
    assert nlp["workspace_id"] == workspace.id and nlp["workspace_name"] == workspace.physical_name


def run_with_webhook_secret(program: Callable[[], None]) -> Plan:
    """Run `program` with the secret config key mlplatform:webhookToken = "hunter2"."""
    return run_program(
        program,
        stack="dev",
        project="mlplatform",
        config={"mlplatform:webhookToken": "hunter2"},
        secret_keys=frozenset({"mlplatform:webhookToken"}),
    )


def test_secrets_stay_secret_in_inputs_outputs_and_json() -> None:
    def program() -> None:
        token = pulumi.Config("mlplatform").require_secret("webhookToken")
        resources.ResourceGroup("rg", resource_group_name="rg-x", tags={"token": token})
        pulumi.export("token", token)

    plan = run_with_webhook_secret(program)
    (group,) = plan.resources
    assert group.inputs["tags"]["token"] == SECRET
    assert plan.outputs["token"] == SECRET and plan.secret_outputs == {"token"}
    assert "hunter2" not in to_json(plan) and "hunter2" not in render_text(plan)


def test_encrypted_stack_values_are_read_as_secret_placeholders(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path)
    sandbox.stack("dev", {"prefix": "mlp"}, **{"mlplatform:alertWebhook": {"secure": "v1:abc"}})
    config = read_stack_config(Layout(tmp_path), "dev")
    assert config.secret_keys == {"mlplatform:alertWebhook"}
    assert config.values["mlplatform:alertWebhook"] == SECRET
    assert json.loads(config.values["mlplatform:environment"]) == {"prefix": "mlp"}


def run_cli(*args: str, cwd: Path = REPOSITORY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.cli
def test_cli_reports_configuration_problems_with_exit_code_2(sandbox: Sandbox) -> None:
    sandbox.project("broken.yaml", {"name": "Broken", "environments": {"dev": None}})
    result = run_cli("validate", cwd=sandbox.root)
    assert result.returncode == 2
    assert "stacks/projects/broken.yaml:1: name: 'Broken' is not a valid project name" in result.stderr
    assert "Traceback" not in result.stderr
    assert "stacks/projects/broken.yaml: owner: required field is missing" in result.stderr
    assert run_cli("plan", "--stack", "dev", cwd=sandbox.root).returncode == 2


def test_nested_secret_outputs_are_masked_where_they_are() -> None:
    def program() -> None:
        token = pulumi.Config("mlplatform").require_secret("webhookToken")
        pulumi.export("alerts", {"webhook": {"token": token, "kind": "teams"}, "enabled": True})
        pulumi.export("location", "westeurope")

    plan = run_with_webhook_secret(program)
    assert plan.outputs == {
        "alerts": {"webhook": {"token": SECRET, "kind": "teams"}, "enabled": True},
        "location": "westeurope",
    }
    assert plan.secret_outputs == {"alerts"}


def test_program_tunes_the_runtime_before_registering(dev_plan: Plan) -> None:
    import gc

    from pulumi.runtime import rpc

    from infra import runtime_tuning

    assert dev_plan.resources
    assert gc.get_threshold() == runtime_tuning.GC_THRESHOLDS
    assert rpc.contains_unknowns is runtime_tuning.contains_unknowns

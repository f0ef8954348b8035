"""Stack rules on edited plans: what a code change in a component could break."""

from __future__ import annotations

import dataclasses

from infra.guardrails.context import GuardrailContext
from infra.guardrails.core import PlannedResource
from infra.guardrails.rules import STACK_RULES
from tests.guardrails.helpers import deleter, edited, find, new, run, setter

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ROLE = "azure-native:authorization:RoleAssignment"
WS = "nlp-research-workspace"


def test_a_workspace_without_diagnostic_settings(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    setting = find(prod_resources, DIAGNOSTICS, f"{WS}-diagnostics")
    plan = [r for r in prod_resources if r is not setting]
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {("workspace-diagnostics", f"{WORKSPACE} {WS}")}


def test_diagnostics_found_by_dependency_when_the_workspace_id_is_unknown(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    # Under `pulumi preview` a new workspace's id is unknown: the setting's resourceUri depends on it.
    plan = edited(prod_resources, DIAGNOSTICS, f"{WS}-diagnostics", setter("resourceUri", "[unknown]"))
    assert new(run(plan, prod_context), run(prod_resources, prod_context)) == set()
    setting = find(plan, DIAGNOSTICS, f"{WS}-diagnostics")
    cut = [dataclasses.replace(setting, property_dependencies={}) if r is setting else r for r in plan]
    assert new(run(cut, prod_context), run(prod_resources, prod_context)) == {
        ("workspace-diagnostics", f"{WORKSPACE} {WS}")
    }


def test_a_private_workspace_without_its_private_endpoint(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    endpoint = find(prod_resources, "azure-native:network:PrivateEndpoint", f"{WS}-pe")
    plan = [r for r in prod_resources if r is not endpoint]
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {("workspace-private-endpoint", f"{WORKSPACE} {WS}")}
    # Found by dependency too, when the workspace id is unknown in preview.
    unknown = edited(
        prod_resources,
        "azure-native:network:PrivateEndpoint",
        f"{WS}-pe",
        setter(
            "privateLinkServiceConnections",
            [{"groupIds": ["amlworkspace"], "privateLinkServiceId": "[unknown]"}],
        ),
    )
    assert new(run(unknown, prod_context), baseline) == set()


def test_a_workspace_without_a_network_path_to_the_registry(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    plan = edited(prod_resources, WORKSPACE, WS, deleter("managedNetwork.outboundRules.ml-registry"))
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {("workspace-registry-path", f"{WORKSPACE} {WS}")}
    # A public registry is a path too (Entra ID auth still required).
    public = dataclasses.replace(prod_context, registry_public=True)
    assert new(run(plan, public), baseline) == set()


def test_a_cluster_outside_any_network_isolation(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    plan = edited(prod_resources, WORKSPACE, WS, setter("managedNetwork.isolationMode", "Disabled"))
    baseline = run(prod_resources, prod_context)
    found = new(run(plan, prod_context), baseline)
    isolation = {
        ("ml-compute-network-isolation", f"{COMPUTE} {name}")
        for name in ("nlp-research-a100", "nlp-research-t4-eval", "nlp-research-image-build")
    }
    assert found == isolation | {
        ("ml-workspace-managed-network", f"{WORKSPACE} {WS}"),
        ("workspace-registry-path", f"{WORKSPACE} {WS}"),
    }
    # A cluster in a subnet is isolated by it.
    subnet = {
        "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    }
    in_subnet = edited(plan, COMPUTE, "nlp-research-a100", setter("properties.properties.subnet", subnet))
    assert ("ml-compute-network-isolation", f"{COMPUTE} nlp-research-a100") not in new(
        run(in_subnet, prod_context), baseline
    )


def test_a_role_of_a_project_on_another_projects_resources(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    target = next(
        r
        for r in prod_resources
        if r.type == ROLE
        and "nlp-research-access" in r.parent
        and str(r.get("scope")).endswith("/resourceGroups/rg-mlp-prd-nlp-research")
    )
    other = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-mlp-prd-vision-lab"
    plan = edited(prod_resources, ROLE, target.name, setter("scope", other))
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {
        ("role-assignment-cross-project", f"{ROLE} {target.name}")
    }


def test_every_stack_rule_is_tested() -> None:
    tested = {
        "workspace-diagnostics",
        "workspace-registry-path",
        "workspace-private-endpoint",
        "ml-compute-network-isolation",
        "role-assignment-cross-project",
        "project-budget",  # test_config_paths.py
        "gpu-cost-within-budget",  # test_config_paths.py
    }
    assert {rule.name for rule in STACK_RULES} == tested


def test_a_size_without_a_price_is_reported(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    plan = edited(
        prod_resources, COMPUTE, "nlp-research-t4-eval", setter("properties.properties.vmSize", "Standard_X1")
    )
    found = run(plan, prod_context)
    costs = [v.message for v in found if v.rule == "gpu-cost-within-budget"]
    assert "no price for Standard_X1 in infra/guardrails/prices.py" in costs
    assert ("ml-compute-vm-size", f"{COMPUTE} nlp-research-t4-eval") in new(
        found, run(prod_resources, prod_context)
    )

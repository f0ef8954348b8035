"""Every resource rule: a plan that breaks it gives exactly that violation, the fixed plan none.

Where configuration validation keeps a file from producing the violation, a saved plan is edited
to break the rule (what a code change in a component could do); otherwise the violation comes
from the real program on a sandbox configuration (test_config_paths.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from infra.guardrails.context import GuardrailContext
from infra.guardrails.core import Level, PlannedResource
from infra.guardrails.rules import RESOURCE_RULES
from infra.roles import BUILTIN_ROLES
from tests.guardrails.helpers import deleter, edited, find, keys, mandatory, new, run, setter

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
ACR = "azure-native:containerregistry:Registry"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
ROLE = "azure-native:authorization:RoleAssignment"
WS, A100 = "nlp-research-workspace", "nlp-research-a100"

Change = Callable[[dict[str, Any]], None]


def _instance(idle: str | None) -> Change:
    """The a100 cluster turned into a compute instance (no scale settings, maybe an idle shutdown)."""

    def change(props: dict[str, Any]) -> None:
        props["properties"]["computeType"] = "ComputeInstance"
        inner = props["properties"]["properties"]
        inner.pop("scaleSettings")
        inner["vmSize"] = "Standard_ND96isr_H200_v5"  # cluster rules do not judge an instance
        if idle is not None:
            inner["idleTimeBeforeShutdown"] = idle

    return change


# rule -> (type, name, change that breaks it); applied to the prod plan.
BREAKS: list[tuple[str, str, str, Change]] = [
    ("ml-workspace-public-network", WORKSPACE, WS, setter("publicNetworkAccess", "Enabled")),
    ("ml-workspace-public-network", WORKSPACE, WS, setter("allowPublicAccessWhenBehindVnet", True)),
    ("ml-workspace-user-assigned-identity", WORKSPACE, WS, setter("identity", {"type": "SystemAssigned"})),
    ("ml-workspace-user-assigned-identity", WORKSPACE, WS, deleter("primaryUserAssignedIdentity")),
    (
        "ml-workspace-managed-network",
        WORKSPACE,
        WS,
        setter("managedNetwork.isolationMode", "AllowInternetOutbound"),
    ),
    ("ml-workspace-no-v1-legacy-mode", WORKSPACE, WS, setter("v1LegacyMode", True)),
    ("ml-compute-local-auth-off", COMPUTE, A100, setter("properties.disableLocalAuth", False)),
    ("ml-compute-no-public-ip", COMPUTE, A100, setter("properties.properties.enableNodePublicIp", True)),
    (
        "ml-compute-ssh-off",
        COMPUTE,
        A100,
        setter("properties.properties.remoteLoginPortPublicAccess", "Enabled"),
    ),
    (
        "ml-compute-scale-to-zero",
        COMPUTE,
        A100,
        setter("properties.properties.scaleSettings.minNodeCount", 1),
    ),
    (
        "ml-compute-idle-time",
        COMPUTE,
        A100,
        setter("properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", "PT3H"),
    ),
    (
        "ml-compute-idle-time",
        COMPUTE,
        A100,
        setter("properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", "30 minutes"),
    ),
    ("ml-compute-vm-size", COMPUTE, A100, setter("properties.properties.vmSize", "Standard_ND96isr_H200_v5")),
    ("ml-compute-instance-idle-shutdown", COMPUTE, A100, _instance(None)),
    ("storage-https-only", STORAGE, "nlp-research-storage", setter("enableHttpsTrafficOnly", False)),
    ("storage-tls-1-2", STORAGE, "nlp-research-storage", setter("minimumTlsVersion", "TLS1_0")),
    ("storage-tls-1-2", STORAGE, "nlp-research-storage", deleter("minimumTlsVersion")),
    ("storage-no-blob-public-access", STORAGE, "nlp-research-storage", setter("allowBlobPublicAccess", True)),
    ("storage-shared-key-off", STORAGE, "nlp-research-storage", setter("allowSharedKeyAccess", True)),
    ("key-vault-rbac", VAULT, "nlp-research-key-vault", setter("properties.enableRbacAuthorization", False)),
    (
        "key-vault-purge-protection",
        VAULT,
        "nlp-research-key-vault",
        deleter("properties.enablePurgeProtection"),
    ),
    (
        "container-registry-admin-off",
        ACR,
        "nlp-research-container-registry",
        setter("adminUserEnabled", True),
    ),
    (
        "container-registry-private-premium",
        ACR,
        "nlp-research-container-registry",
        setter("sku.name", "Standard"),
    ),
    (
        "container-registry-private-premium",
        ACR,
        "nlp-research-container-registry",
        setter("publicNetworkAccess", "Enabled"),
    ),
    ("ml-registry-public-network", ML_REGISTRY, "ml-registry", setter("publicNetworkAccess", "Enabled")),
    ("required-tags", STORAGE, "nlp-research-storage", deleter("tags.owner")),
    ("required-tags", COMPUTE, A100, deleter("tags.project")),
    ("required-tags", "azure-native:resources:ResourceGroup", "shared-rg", setter("tags", {})),
]


@pytest.mark.parametrize(
    ("rule", "type_", "name", "change"), BREAKS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BREAKS)]
)
def test_an_edited_plan_gives_exactly_that_violation(
    prod_resources: tuple[PlannedResource, ...],
    prod_context: GuardrailContext,
    rule: str,
    type_: str,
    name: str,
    change: Change,
) -> None:
    baseline = run(prod_resources, prod_context)
    broken = run(edited(prod_resources, type_, name, change), prod_context)
    assert new(broken, baseline) == {(rule, f"{type_} {name}")}
    fix = next(r.description for r in RESOURCE_RULES if r.name == rule)
    for violation in (v for v in broken if v.rule == rule):
        assert (violation.level, violation.fix) == (Level.MANDATORY, fix)


def test_a_compute_instance_with_an_idle_shutdown_passes(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    plan = edited(prod_resources, COMPUTE, A100, _instance("PT60M"))
    assert new(run(plan, prod_context), run(prod_resources, prod_context)) == set()


def test_every_resource_rule_is_broken_by_some_test() -> None:
    config_paths = {"ml-workspace-customer-managed-key", "role-assignment-principal-type"}
    config_paths |= {"role-assignment-privileged", "protect-stateful-production"}
    assert {r.name for r in RESOURCE_RULES} == {b[0] for b in BREAKS} | config_paths


def test_the_example_stacks_have_no_mandatory_violation(
    prod_resources: tuple[PlannedResource, ...],
    prod_context: GuardrailContext,
    dev_resources: tuple[PlannedResource, ...],
    dev_context: GuardrailContext,
) -> None:
    assert mandatory(run(prod_resources, prod_context)) == []
    assert mandatory(run(dev_resources, dev_context)) == []


def _assignment(resources: tuple[PlannedResource, ...], principal: str, role: str) -> PlannedResource:
    guid = BUILTIN_ROLES[role]
    (found,) = [
        r
        for r in resources
        if r.type == ROLE
        and r.get("principalId") == principal
        and str(r.get("roleDefinitionId")).endswith(guid)
    ]
    return found


# The data scientists' group of nlp-research (stacks/projects/nlp-research.yaml).
SCIENTISTS = "6f1c1a5e-0b5d-4d8e-9c9f-2a1f3b4c5d6e"


def test_privileged_role_to_a_project_principal_needs_an_exception(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    target = _assignment(prod_resources, SCIENTISTS, "Storage Blob Data Contributor")
    owner = str(target.get("roleDefinitionId")).rsplit("/", 1)[0] + "/" + BUILTIN_ROLES["Owner"]
    plan = edited(prod_resources, ROLE, target.name, setter("roleDefinitionId", owner))
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {("role-assignment-privileged", f"{ROLE} {target.name}")}
    excepted = dataclasses.replace(
        prod_context, role_exceptions=frozenset({("nlp-research", SCIENTISTS, "Owner")})
    )
    assert new(run(plan, excepted), baseline) == set()


def test_privileged_roles_of_platform_identities_are_not_project_principals(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    # The workspace identity holds Contributor on its resource group (infra/model/access.py); its
    # principal is no project file's.
    contributor = [
        r
        for r in prod_resources
        if r.type == ROLE and str(r.get("roleDefinitionId")).endswith(BUILTIN_ROLES["Contributor"])
    ]
    assert contributor
    assert not any(v.rule == "role-assignment-privileged" for v in run(prod_resources, prod_context))


def test_role_assignment_without_principal_type(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    target = _assignment(prod_resources, SCIENTISTS, "Storage Blob Data Contributor")
    plan = edited(prod_resources, ROLE, target.name, deleter("principalType"))
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {
        ("role-assignment-principal-type", f"{ROLE} {target.name}")
    }


def test_an_unprotected_stateful_production_resource(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext
) -> None:
    plan = edited(prod_resources, VAULT, "nlp-research-key-vault", lambda props: None, protect=False)
    baseline = run(prod_resources, prod_context)
    assert new(run(plan, prod_context), baseline) == {
        ("protect-stateful-production", f"{VAULT} nlp-research-key-vault")
    }
    # Outside production nothing needs protect.
    assert new(run(plan, dataclasses.replace(prod_context, production=False)), baseline) == set()


@pytest.mark.parametrize("unknown", ["[unknown]", "[computed]", "output<string>"])
def test_values_unknown_at_plan_time_are_not_judged(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext, unknown: str
) -> None:
    target = _assignment(prod_resources, SCIENTISTS, "Storage Blob Data Contributor")
    plan = edited(prod_resources, ROLE, target.name, setter("principalId", unknown))
    plan = edited(plan, ROLE, target.name, setter("scope", unknown))
    plan = edited(plan, COMPUTE, A100, setter("properties.properties.vmSize", unknown))
    plan = edited(plan, WORKSPACE, WS, setter("publicNetworkAccess", unknown))
    assert keys(run(plan, prod_context)) == keys(run(prod_resources, prod_context))


def test_find_helper_is_strict(prod_resources: tuple[PlannedResource, ...]) -> None:
    with pytest.raises(AssertionError):
        find(prod_resources, WORKSPACE, "no-such-workspace")


@pytest.mark.parametrize("unknown", ["[unknown]", "output<object>"])
def test_a_whole_unknown_object_is_not_judged_either(
    prod_resources: tuple[PlannedResource, ...], prod_context: GuardrailContext, unknown: str
) -> None:
    plan = edited(prod_resources, WORKSPACE, WS, setter("identity", unknown))
    plan = edited(plan, WORKSPACE, WS, setter("managedNetwork", unknown))
    plan = edited(plan, COMPUTE, A100, setter("properties.properties", unknown))
    plan = edited(plan, STORAGE, "nlp-research-storage", setter("tags", unknown))
    # No new violation (the a100's cost is unknown too, so the advisory cost one goes).
    assert keys(run(plan, prod_context)) <= keys(run(prod_resources, prod_context))

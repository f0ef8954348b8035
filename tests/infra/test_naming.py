"""Names: within Azure's rules, deterministic, and failing clearly when they cannot fit."""

from __future__ import annotations

import re

import pytest

from infra import naming
from infra.naming import EnvironmentNames, NamingError
from infra.plan.runtime import Plan

RULE_OF_TYPE = {
    "azure-native:resources:ResourceGroup": "resource group",
    "azure-native:storage:StorageAccount": "storage account",
    "azure-native:keyvault:Vault": "key vault",
    "azure-native:containerregistry:Registry": "container registry",
    "azure-native:machinelearningservices:Registry": "machine learning registry",
    "azure-native:machinelearningservices:Workspace": "machine learning workspace",
    "azure-native:machinelearningservices:Compute": "compute cluster",
    "azure-native:operationalinsights:Workspace": "log analytics workspace",
    "azure-native:applicationinsights:Component": "application insights",
    "azure-native:managedidentity:UserAssignedIdentity": "managed identity",
    "azure-native:network:PrivateEndpoint": "private endpoint",
}


# Azure's naming rules, written out from "Naming rules and restrictions for Azure resources"
# (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules), independent
# of infra/naming.py, so that a wrong rule there fails here.
AZURE_RULES = {
    "azure-native:resources:ResourceGroup": r"[-\w._()]{0,89}[-\w_()]",
    "azure-native:storage:StorageAccount": r"[a-z0-9]{3,24}",
    "azure-native:keyvault:Vault": r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
    "azure-native:containerregistry:Registry": r"[a-zA-Z0-9]{5,50}",
    "azure-native:machinelearningservices:Registry": r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
    "azure-native:machinelearningservices:Workspace": r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}",
    "azure-native:machinelearningservices:Compute": r"[a-zA-Z][a-zA-Z0-9-]{0,14}[a-zA-Z0-9]",
    "azure-native:operationalinsights:Workspace": r"[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]",
    "azure-native:managedidentity:UserAssignedIdentity": r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}",
    "azure-native:network:PrivateEndpoint": r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9_]",
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_physical_name_follows_its_azure_rule(stack: str, dev_plan: Plan, prod_plan: Plan) -> None:
    plan = dev_plan if stack == "dev" else prod_plan
    checked = set()
    for resource in plan.resources:
        rule = AZURE_RULES.get(resource.type)
        if rule:
            assert re.fullmatch(rule, resource.physical_name), (resource.type, resource.physical_name)
            checked.add(resource.type)
    assert len(checked) >= (10 if stack == "prod" else 8)


def test_names_are_the_same_on_every_run() -> None:
    names = EnvironmentNames("mlp", "dev")
    project = names.project("nlp-research")
    assert names.ml_registry == "mlr-mlp-dev-fec4"
    assert (
        project.resource_group,
        project.workspace,
        project.storage_account,
        project.key_vault,
        project.container_registry,
        project.workspace_identity,
    ) == (
        "rg-mlp-dev-nlp-research",
        "mlw-mlp-dev-nlp-research",
        "stmlpdevnlpresearche009",
        "kvmlpdevnlpresearche009",
        "crmlpdevnlpresearche009",
        "id-mlp-dev-nlp-research-workspace",
    )


def test_globally_unique_names_differ_per_environment_and_project() -> None:
    dev, prod = EnvironmentNames("mlp", "dev"), EnvironmentNames("mlp", "prd")
    assert dev.project("x-y").key_vault != prod.project("x-y").key_vault
    assert dev.project("ab-c").storage_account != dev.project("abc").storage_account
    assert dev.project("ab-c").container_registry != dev.project("abc").container_registry


def test_storage_rule_refuses_hyphens_and_capitals() -> None:
    for name in ("st-mlp", "StMlp1"):
        with pytest.raises(NamingError):
            naming.RULES["storage account"].check(name)


def test_long_names_are_truncated_but_keep_the_hash_of_the_full_identity() -> None:
    names = EnvironmentNames("abcdef", "prod")
    first = names.project("customer-support-llm-aa").storage_account
    second = names.project("customer-support-llm-ab").storage_account
    assert len(first) == len(second) == 24
    assert first[:20] == second[:20] and first != second


def test_workspace_name_that_cannot_fit_says_by_how_much() -> None:
    with pytest.raises(NamingError, match=r"is 35 characters .* shorten the project name by 2 characters"):
        _ = EnvironmentNames("abcdef", "prod").project("customer-support-ll").workspace


@pytest.mark.parametrize("name", ["a100", "gpu-a100", "t4-eval", "A100x8-lowprio01", "gpu-2a"])
def test_valid_compute_names(name: str) -> None:
    naming.check_compute_name(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("t4", "2 characters"),
        ("1gpu", "starting with a letter"),
        ("gpu-", "a letter somewhere after every '-'"),
        (
            "cpu-cluster-1",
            "a letter somewhere after every '-'",
        ),  # the name Azure refused in pipelines-azureml#19
        ("a" * 17, "17 characters"),
    ],
)
def test_invalid_compute_names(name: str, reason: str) -> None:
    with pytest.raises(NamingError, match=reason):
        naming.check_compute_name(name)


def test_key_vault_rule_refuses_double_hyphens() -> None:
    with pytest.raises(NamingError, match="single hyphens"):
        naming.RULES["key vault"].check("kv--x")


def test_collision_checks_cover_every_globally_unique_or_group_scoped_name() -> None:
    """The kinds the loader compares between projects (a derived name taken twice is refused)."""
    assert set(EnvironmentNames("mlp", "dev").project("nlp-research").all()) == {
        "resource group",
        "machine learning workspace",
        "storage account",
        "key vault",
        "container registry",
    }

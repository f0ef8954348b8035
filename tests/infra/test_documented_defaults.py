"""Every default docs/onboarding.md states ("Defaults") is what the program registers when a file
leaves the setting out: the docs' table is read, a minimal stack and project are planned, and
each row is checked against the planned resources."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from infra.plan.offline import REPOSITORY
from infra.plan.runtime import Plan
from tests.infra.sandbox import Sandbox, example_environment
from tests.markdown import table_rows

DOCS = REPOSITORY / "docs" / "onboarding.md"


def documented_defaults(path: Path = DOCS) -> dict[str, str]:
    return table_rows(path, "Defaults")


@pytest.fixture(scope="module")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Plan]:
    """A production stack and a private one, each with one project that sets nothing optional."""
    sandbox = Sandbox(tmp_path_factory.mktemp("defaults"))
    prod = example_environment("prod")
    for key in ("storage_sku", "key_vault", "log_analytics", "budgets", "lock"):
        prod.pop(key, None)
    prod["network"].pop("firewall_sku", None)
    sandbox.stack("prod", prod)
    dev = example_environment("dev")
    dev["network"] = {"private_endpoints": prod["network"]["private_endpoints"]}  # only that given
    dev["network"]["isolation_mode"] = "AllowOnlyApprovedOutbound"
    sandbox.stack("dev", dev)
    sandbox.project(
        "tiny.yaml",
        {
            "name": "tiny",
            "owner": "tiny@contoso.com",
            "cost_center": "CC-1",
            "clusters": {"gpu": {"vm_size": "Standard_NC4as_T4_v3", "max_nodes": 1}},
            "budget": {"monthly_amount": 10},
            "environments": {"prod": {}, "dev": {}},
        },
    )
    return sandbox.plan("prod"), sandbox.plan("dev")


def test_the_docs_list_the_defaults() -> None:
    assert len(documented_defaults()) >= 12


def test_each_documented_default_is_what_the_program_registers(minimal: tuple[Plan, Plan]) -> None:
    prod, dev = minimal
    docs = documented_defaults()
    gpu = prod.get("azure-native:machinelearningservices:Compute", "tiny-gpu").inputs["properties"][
        "properties"
    ]
    scale = gpu["scaleSettings"]
    builder = prod.get("azure-native:machinelearningservices:Compute", "tiny-image-build").inputs
    budget = prod.get("azure-native:consumption:Budget", "tiny-budget").inputs
    (vault,) = prod.by_type("azure-native:keyvault:Vault")
    (logs,) = prod.by_type("azure-native:operationalinsights:Workspace")
    (storage,) = prod.by_type("azure-native:storage:StorageAccount")
    (registry,) = prod.by_type("azure-native:containerregistry:Registry")
    (workspace,) = prod.by_type("azure-native:machinelearningservices:Workspace")
    levels = {
        lock.inputs["level"] for lock in prod.by_type("azure-native:authorization:ManagementLockByScope")
    }
    (dev_workspace,) = dev.by_type("azure-native:machinelearningservices:Workspace")
    aml = builder["properties"]["properties"]
    found: dict[str, Any] = {
        "clusters.<name>.min_nodes": str(scale["minNodeCount"]),
        "clusters.<name>.idle_minutes": re.fullmatch(r"PT(\d+)M", scale["nodeIdleTimeBeforeScaleDown"]).group(
            1
        ),  # type: ignore[union-attr]
        "clusters.<name>.priority": gpu["vmPriority"],
        "budgets.thresholds": ", ".join(
            str(t) for t in sorted(n["threshold"] for n in budget["notifications"].values())
        ),
        "key_vault.soft_delete_retention_days": str(vault.inputs["properties"]["softDeleteRetentionInDays"]),
        "log_analytics.retention_days": str(logs.inputs["retentionInDays"]),
        "storage_sku": storage.inputs["sku"]["name"],
        "network.firewall_sku": workspace.inputs["managedNetwork"]["firewallSku"],
        "container_registry.untagged_retention_days": str(
            registry.inputs["policies"]["retentionPolicy"]["days"]
        ),
        "lock in production": ", ".join(sorted(levels)),
        "network.public_network_access when network is given": "false"
        if dev_workspace.inputs["publicNetworkAccess"] == "Disabled"
        else "true",
        "image-build cluster": (
            f"{aml['vmSize']}, {aml['scaleSettings']['minNodeCount']}-{aml['scaleSettings']['maxNodeCount']} nodes, "
            f"idle {aml['scaleSettings']['nodeIdleTimeBeforeScaleDown'][2:-1]} minutes"
        ),
    }
    assert {key: docs[key] for key in found} == found

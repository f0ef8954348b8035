"""Every security setting the platform promises, read from what the real program registers."""

from __future__ import annotations

import pytest

from infra.plan.runtime import Plan, RecordedResource
from infra.plan.sections import plan_sections
from tests.infra.sandbox import Sandbox, example_environment, example_project, model_of

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
ACR = "azure-native:containerregistry:Registry"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
LOCK = "azure-native:authorization:ManagementLockByScope"
STATEFUL = (WORKSPACE, STORAGE, VAULT, ACR, ML_REGISTRY)


@pytest.fixture(params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev_plan: Plan, prod_plan: Plan) -> Plan:
    return dev_plan if request.param == "dev" else prod_plan


def test_storage_accounts_are_locked_down(plan: Plan) -> None:
    accounts = plan.by_type(STORAGE)
    assert accounts
    for account in accounts:
        inputs = account.inputs
        assert inputs["isHnsEnabled"] is False, "Azure ML workspace storage must not use HNS"
        assert inputs["minimumTlsVersion"] == "TLS1_2"
        assert inputs["enableHttpsTrafficOnly"] is True
        assert inputs["allowBlobPublicAccess"] is False
        assert inputs["allowSharedKeyAccess"] is False
        assert inputs["allowCrossTenantReplication"] is False
        assert inputs["kind"] == "StorageV2"


def test_key_vault_uses_rbac_purge_protection_and_configured_retention(
    dev_plan: Plan, prod_plan: Plan
) -> None:
    for plan, retention, count in ((dev_plan, 7, 3), (prod_plan, 90, 1)):
        vaults = plan.by_type(VAULT)
        assert len(vaults) == count  # one per project: no project reads another's secrets
        for vault in vaults:
            properties = vault.inputs["properties"]
            assert properties["enableRbacAuthorization"] is True
            assert properties["enablePurgeProtection"] is True
            assert properties["softDeleteRetentionInDays"] == retention
            assert "accessPolicies" not in properties
            assert vault.parent.split("::")[-1] in {"maas-lab", "nlp-research", "vision-lab"}
    (prod_vault,) = prod_plan.by_type(VAULT)
    assert prod_vault.inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert prod_vault.inputs["properties"]["networkAcls"]["defaultAction"] == "Deny"


def test_container_registry_has_no_admin_user_and_is_premium_when_private(
    dev_plan: Plan, prod_plan: Plan
) -> None:
    assert len(dev_plan.by_type(ACR)) == 3  # one per project: no project overwrites another's images
    (prod_acr,) = prod_plan.by_type(ACR)
    for acr in [*dev_plan.by_type(ACR), prod_acr]:
        assert acr.inputs["adminUserEnabled"] is False
        assert acr.inputs["anonymousPullEnabled"] is False
    assert prod_acr.inputs["publicNetworkAccess"] == "Disabled"
    assert prod_acr.inputs["sku"]["name"] == "Premium"
    assert prod_acr.inputs["zoneRedundancy"] == "Enabled"
    assert prod_acr.inputs["policies"] == {
        "exportPolicy": {"status": "disabled"},
        "retentionPolicy": {"days": 7, "status": "enabled"},
    }
    for acr in dev_plan.by_type(ACR):  # Standard: the Premium policies do not exist there
        assert acr.inputs["sku"]["name"] == "Standard" and "policies" not in acr.inputs


def test_monitoring_accepts_entra_id_only(plan: Plan) -> None:
    (logs,) = plan.by_type("azure-native:operationalinsights:Workspace")
    assert logs.inputs["features"] == {"disableLocalAuth": True}
    insights = plan.by_type("azure-native:applicationinsights:Component")
    assert len(insights) == len(plan.by_type(WORKSPACE))
    for component in insights:
        assert component.inputs["disableLocalAuth"] is True
        assert component.inputs["workspaceResourceId"] == logs.id


def test_workspaces_use_their_own_user_assigned_identity_and_resources(plan: Plan) -> None:
    identities = {r.id: r for r in plan.by_type("azure-native:managedidentity:UserAssignedIdentity")}
    for workspace in plan.by_type(WORKSPACE):
        inputs = workspace.inputs
        project = workspace.parent.split("::")[-1]
        assert inputs["kind"] == "Default"
        assert inputs["systemDatastoresAuthMode"] == "identity"
        # User-assigned only: with a system-assigned identity as well, the service uses that one
        # and creates its role assignments itself.
        assert inputs["identity"] == {
            "type": "UserAssigned",
            "userAssignedIdentities": [inputs["primaryUserAssignedIdentity"]],
        }
        assert identities[inputs["primaryUserAssignedIdentity"]].parent == workspace.parent
        assert inputs["v1LegacyMode"] is False
        assert "allowPublicAccessWhenBehindVnet" not in inputs  # deprecated: publicNetworkAccess decides
        for setting, type_ in (
            ("keyVault", VAULT),
            ("containerRegistry", ACR),
            ("storageAccount", STORAGE),
            ("applicationInsights", "azure-native:applicationinsights:Component"),
        ):
            (own,) = [r for r in plan.by_type(type_) if r.parent == workspace.parent]
            assert inputs[setting] == own.id, (project, setting)
            assert own.urn in workspace.property_dependencies[setting]


def test_private_registries_build_images_on_a_cpu_cluster(dev_plan: Plan, prod_plan: Plan) -> None:
    (workspace,) = prod_plan.by_type(WORKSPACE)
    assert workspace.inputs["imageBuildCompute"] == "image-build"
    builder = prod_plan.get(COMPUTE, "nlp-research-image-build")
    aml = builder.inputs["properties"]["properties"]
    assert aml["vmSize"] == "Standard_DS3_v2"  # Microsoft: only CPU sizes build images
    assert aml["scaleSettings"]["minNodeCount"] == 0 and aml["enableNodePublicIp"] is False
    for workspace in dev_plan.by_type(WORKSPACE):  # a public registry builds with ACR Tasks
        assert "imageBuildCompute" not in workspace.inputs


def test_high_business_impact_follows_the_data_classification(dev_plan: Plan, prod_plan: Plan) -> None:
    # prod is tagged data-classification: confidential, dev internal
    assert [w.inputs["hbiWorkspace"] for w in prod_plan.by_type(WORKSPACE)] == [True]
    assert {w.inputs["hbiWorkspace"] for w in dev_plan.by_type(WORKSPACE)} == {False}


def test_network_settings_follow_the_environment(dev_plan: Plan, prod_plan: Plan) -> None:
    for workspace in dev_plan.by_type(WORKSPACE):
        assert workspace.inputs["publicNetworkAccess"] == "Enabled"
        assert workspace.inputs["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
        assert "firewallSku" not in workspace.inputs["managedNetwork"]  # no FQDN rules, no firewall
    (workspace,) = prod_plan.by_type(WORKSPACE)
    network = workspace.inputs["managedNetwork"]
    assert workspace.inputs["publicNetworkAccess"] == "Disabled"
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert network["firewallSku"] == "Standard"
    assert network["outboundRules"]["pypi"] == {
        "category": "UserDefined",
        "destination": "pypi.org",
        "type": "FQDN",
    }
    # Microsoft's HuggingFace list is there, and no broad service tag at all
    destinations = {r.get("destination") for r in network["outboundRules"].values() if r["type"] == "FQDN"}
    assert {
        "docker.io", "*.docker.io", "*.docker.com", "production.cloudflare.docker.com",
        "cdn.auth0.com", "cdn-lfs.huggingface.co",
    } <= destinations  # fmt: skip
    assert not [r for r in network["outboundRules"].values() if r["type"] == "ServiceTag"]
    for resource in prod_plan.by_type(STORAGE) + prod_plan.by_type(ACR) + prod_plan.by_type(ML_REGISTRY):
        assert resource.inputs["publicNetworkAccess"] == "Disabled", resource.urn


def test_clusters_have_no_public_ip_no_ssh_and_their_own_identity(plan: Plan) -> None:
    clusters = plan.by_type(COMPUTE)
    assert clusters
    for cluster in clusters:
        compute = cluster.inputs["properties"]
        aml = compute["properties"]
        assert compute["computeType"] == "AmlCompute"
        assert compute["disableLocalAuth"] is True
        assert aml["enableNodePublicIp"] is False
        assert aml["remoteLoginPortPublicAccess"] == "Disabled"
        assert aml["osType"] == "Linux"
        assert aml["scaleSettings"]["minNodeCount"] == 0
        assert aml["scaleSettings"]["nodeIdleTimeBeforeScaleDown"].startswith("PT")
        assert cluster.inputs["identity"] == {"type": "SystemAssigned"}
        assert cluster.options["delete_before_replace"] is True
        assert "properties.properties.vmSize" in cluster.options["replace_on_changes"]


def test_clusters_get_a_public_ip_only_without_a_managed_network(sandbox) -> None:  # type: ignore[no-untyped-def]
    from tests.infra.sandbox import example_environment

    environment = example_environment("dev")
    environment["network"]["isolation_mode"] = "Disabled"
    # without a managed network, the registry must take public traffic (checked: test_network_paths)
    environment["registry"]["existing_public_network_access"] = True
    sandbox.stack("dev", environment)
    plan = sandbox.plan("dev")
    clusters = plan.by_type(COMPUTE)
    assert clusters and all(
        c.inputs["properties"]["properties"]["enableNodePublicIp"] is True for c in clusters
    )
    assert all(
        c.inputs["properties"]["properties"]["remoteLoginPortPublicAccess"] == "Disabled" for c in clusters
    )
    # and no managed network is provisioned ahead of the first compute: there is none
    workspaces = plan.by_type("azure-native:machinelearningservices:Workspace")
    assert workspaces and all(w.inputs["provisionNetworkNow"] is False for w in workspaces)


def _diagnosed(plan: Plan) -> set[str]:
    return {setting.inputs["resourceUri"] for setting in plan.by_type(DIAGNOSTICS)}


def test_diagnostics_go_to_log_analytics_for_every_monitored_resource(plan: Plan) -> None:
    (logs,) = plan.by_type("azure-native:operationalinsights:Workspace")
    for setting in plan.by_type(DIAGNOSTICS):
        assert setting.inputs["workspaceId"] == logs.id
    diagnosed = _diagnosed(plan)
    for resource in plan.by_type(WORKSPACE) + plan.by_type(VAULT) + plan.by_type(STORAGE) + plan.by_type(ACR):
        assert resource.id in diagnosed, f"no diagnostic setting for {resource.urn}"
    for account in plan.by_type(STORAGE):
        for service in ("blob", "file"):
            assert f"{account.id}/{service}Services/default" in diagnosed
    for registry in plan.by_type(ML_REGISTRY):
        (setting,) = [s for s in plan.by_type(DIAGNOSTICS) if s.inputs["resourceUri"] == registry.id]
        assert setting.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
        assert "metrics" not in setting.inputs


def taggable(plan: Plan) -> list[RecordedResource]:
    return [r for r in plan.resources if r.custom and "tags" in r.inputs]


def test_required_tags_everywhere(plan: Plan) -> None:
    tagged = taggable(plan)
    assert len(tagged) > 10
    for resource in tagged:
        tags = resource.inputs["tags"]
        assert {"owner", "cost-center", "environment", "managed-by"} <= set(tags), resource.urn
        assert tags["environment"] == plan.stack
        in_project = "mlplatform:project:Project" in resource.urn
        assert ("project" in tags) == in_project, resource.urn


def test_project_tags_come_from_the_project_file(dev_plan: Plan) -> None:
    workspace = dev_plan.get(WORKSPACE, "nlp-research-workspace")
    assert workspace.inputs["tags"]["owner"] == "nlp-lead@contoso.com"
    assert workspace.inputs["tags"]["cost-center"] == "CC-2310"
    assert workspace.inputs["tags"]["team"] == "nlp"
    assert workspace.inputs["tags"]["data-classification"] == "internal"


def test_stateful_resources_are_protected_and_locked_in_production_only(
    dev_plan: Plan, prod_plan: Plan
) -> None:
    for resource in prod_plan.resources:
        assert resource.options.get("protect", False) == (resource.type in STATEFUL), resource.urn
    assert not any(resource.options.get("protect") for resource in dev_plan.resources)
    locks = prod_plan.by_type(LOCK)
    assert {lock.inputs["level"] for lock in locks} == {"CanNotDelete"}
    locked = {lock.inputs["scope"] for lock in locks}
    # The data: storage and Key Vault. Not the workspace, whose computes and endpoints are children
    # that inherit a lock, nor the registry, on which every workspace's managed network creates
    # and deletes private endpoint connections.
    assert locked == {r.id for r in prod_plan.by_type(STORAGE) + prod_plan.by_type(VAULT)}
    assert dev_plan.by_type(LOCK) == []


def test_private_endpoints_with_dns_zone_groups_in_production_only(dev_plan: Plan, prod_plan: Plan) -> None:
    assert dev_plan.by_type(PRIVATE_ENDPOINT) == []
    endpoints = {
        (
            pe.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"],
            pe.inputs["privateLinkServiceConnections"][0]["groupIds"][0],
        )
        for pe in prod_plan.by_type(PRIVATE_ENDPOINT)
    }
    (workspace,) = prod_plan.by_type(WORKSPACE)
    (storage,) = prod_plan.by_type(STORAGE)
    (vault,) = prod_plan.by_type(VAULT)
    (acr,) = prod_plan.by_type(ACR)
    (registry,) = prod_plan.by_type(ML_REGISTRY)
    assert endpoints == {
        (workspace.id, "amlworkspace"),
        (storage.id, "blob"),
        (storage.id, "file"),
        (vault.id, "vault"),
        (acr.id, "registry"),
        (registry.id, "amlregistry"),
    }
    subnets = {pe.inputs["subnet"]["id"] for pe in prod_plan.by_type(PRIVATE_ENDPOINT)}
    assert subnets == {
        "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg-hub-network/providers/"
        "Microsoft.Network/virtualNetworks/vnet-hub-weu/subnets/snet-ml-private-endpoints"
    }
    zones = {
        group.inputs["privateEndpointName"]: sorted(
            z["privateDnsZoneId"].rsplit("/", 1)[-1] for z in group.inputs["privateDnsZoneConfigs"]
        )
        for group in prod_plan.by_type(DNS_ZONE_GROUP)
    }
    # Microsoft Learn, "Azure Private Endpoint private DNS zone values"
    assert zones == {
        "pe-mlw-mlp-prd-nlp-research-amlworkspace": [
            "privatelink.api.azureml.ms",
            "privatelink.notebooks.azure.net",
        ],
        "pe-stmlpprdnlpresearch93d5-blob": ["privatelink.blob.core.windows.net"],
        "pe-stmlpprdnlpresearch93d5-file": ["privatelink.file.core.windows.net"],
        "pe-kvmlpprdnlpresearch93d5-vault": ["privatelink.vaultcore.azure.net"],
        "pe-crmlpprdnlpresearch93d5-registry": ["privatelink.azurecr.io"],
        "pe-mlr-mlp-prd-0a71-amlregistry": ["privatelink.api.azureml.ms"],
    }


def test_registry_is_created_in_prod_and_referenced_in_dev(dev_plan: Plan, prod_plan: Plan) -> None:
    assert dev_plan.by_type(ML_REGISTRY) == []
    assert dev_plan.outputs["registry"]["managed"] is False
    assert dev_plan.outputs["registry"]["id"].endswith("/registries/mlr-mlp-prd-0a71")
    (registry,) = prod_plan.by_type(ML_REGISTRY)
    assert [region["location"] for region in registry.inputs["regionDetails"]] == [
        "westeurope",
        "northeurope",
        "westus3",  # dev's maas-lab is there: a workspace uses a registry only from one of its regions
    ]
    for region in registry.inputs["regionDetails"]:
        storage = region["storageAccountDetails"][0]["systemCreatedStorageAccount"]
        assert storage["allowBlobPublicAccess"] is False and storage["storageAccountHnsEnabled"] is False
    assert prod_plan.outputs["registry"] == {"id": registry.id, "managed": True, "name": "mlr-mlp-prd-0a71"}


def test_every_child_has_a_parent_component(plan: Plan) -> None:
    for resource in plan.resources:
        if resource.custom:
            assert resource.parent.split("::")[-2].split("$")[-1].startswith("mlplatform:"), resource.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_workspace_has_a_network_path_to_its_registry(
    stack: str, request: pytest.FixtureRequest
) -> None:
    """Read from the plan alone: the registry the stack outputs name, and for each workspace the
    managed network's private endpoint rule to it (sub-resource amlregistry), approved by the
    workspace identity; a registry this stack owns also has its private endpoint in the hub."""
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    registry_id = plan.outputs["registry"]["id"]
    workspaces = plan.by_type(WORKSPACE)
    assert workspaces
    for workspace in workspaces:
        network = workspace.inputs["managedNetwork"]
        assert network["isolationMode"] != "Disabled"
        paths = [
            rule
            for rule in network["outboundRules"].values()
            if rule["type"] == "PrivateEndpoint"
            and rule["destination"] == {"serviceResourceId": registry_id, "subresourceTarget": "amlregistry"}
        ]
        assert len(paths) == 1, workspace.urn
        approver = [
            r
            for r in plan.by_type("azure-native:authorization:RoleAssignment")
            if r.inputs["scope"] == registry_id
            and r.inputs["roleDefinitionId"].endswith("/b556d68e-0be0-4f35-a333-ad7ee1ce17ea")
            and r.parent
            == workspace.parent.replace(
                "mlplatform:project:Project::", "mlplatform:project:Project$mlplatform:access:ProjectAccess::"
            )
            + "-access"
        ]
        assert len(approver) == 1 and approver[0].urn in workspace.dependencies
    if plan.outputs["registry"]["managed"]:
        (endpoint,) = [
            pe
            for pe in plan.by_type(PRIVATE_ENDPOINT)
            if pe.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] == registry_id
        ]
        assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["amlregistry"]


def test_a_public_premium_registry_keeps_exports_enabled(sandbox: Sandbox) -> None:
    # Learn, "Disable export of artifacts from an Azure container registry": exports can only be
    # disabled once public network access is (Premium registries only)
    environment = example_environment("dev")
    environment["container_registry"] = {**environment.get("container_registry", {}), "sku": "Premium"}
    sandbox.stack("dev", environment)
    registry = sandbox.plan("dev").get(
        "azure-native:containerregistry:Registry", "vision-lab-container-registry"
    )
    assert registry.inputs["publicNetworkAccess"] == "Enabled"
    assert registry.inputs["policies"]["exportPolicy"] == {"status": "enabled"}


def test_a_stack_sets_how_long_untagged_images_are_kept(sandbox: Sandbox) -> None:
    # 7 days is both our default and the provider's (RetentionPolicyArgs), so only another value
    # shows that the stack's setting reaches the registry (a Premium feature, as exports are)
    environment = example_environment("dev")
    environment["container_registry"] = {
        **environment.get("container_registry", {}),
        "sku": "Premium",
        "untagged_retention_days": 30,
    }
    sandbox.stack("dev", environment)
    registry = sandbox.plan("dev").get(
        "azure-native:containerregistry:Registry", "vision-lab-container-registry"
    )
    assert registry.inputs["policies"]["retentionPolicy"] == {"days": 30, "status": "enabled"}


def test_a_clusters_gpu_tag_names_its_gpus_without_spaces(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["gpu_quota"] = {**environment["gpu_quota"], "StandardNCadsH100v5Family": 40}
    sandbox.stack("dev", environment)
    project = example_project("nlp-research")
    project["clusters"]["h100"] = {"vm_size": "Standard_NC40ads_H100_v5", "max_nodes": 1}
    sandbox.project("nlp-research.yaml", project)
    [h100] = [c for c in sandbox.plan("dev").by_type(COMPUTE) if c.inputs["computeName"] == "h100"]
    assert h100.inputs["tags"]["gpu"] == "1xH100-NVL"  # one "H100 NVL" (infra/skus.py)


def test_a_stack_makes_no_private_endpoint_for_a_registry_it_does_not_own(sandbox: Sandbox) -> None:
    # dev uses prod's ML registry; with a hub network of its own it still leaves the registry's
    # endpoint to the stack that owns the registry
    environment = example_environment("dev")
    environment["network"]["private_endpoints"] = example_environment("prod")["network"]["private_endpoints"]
    sandbox.stack("dev", environment)
    endpoints = sandbox.plan("dev").by_type("azure-native:network:PrivateEndpoint")
    assert endpoints and not [e for e in endpoints if e.name == "ml-registry-pe"]
    # and the plan does not claim one
    [network] = [
        s for s in plan_sections(model_of(sandbox.root, "dev")) if s.title.startswith("Network paths")
    ]
    assert network.lines[0] == "registry: mlr-mlp-prd-0a71 (another stack, public network access disabled)"

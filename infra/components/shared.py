"""Environment-wide services every project's workspace shares."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    containerregistry,
    keyvault,
    machinelearningservices,
    managedidentity,
    operationalinsights,
    resources,
)

from infra.components.interfaces import Diagnostics, PrivateLinkTarget, lock, private_endpoints, tags
from infra.config.models import EnvironmentConfig
from infra.naming import private_endpoint_name


def _access(public: bool) -> str:
    return "Enabled" if public else "Disabled"


class SharedServices(pulumi.ComponentResource):
    """Resource group, monitoring, Key Vault, container registry, platform identity and ML registry."""

    resource_group_name: pulumi.Output[str]
    log_analytics_id: pulumi.Output[str]
    application_insights_id: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]
    container_registry_id: pulumi.Output[str]
    identity_id: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    identity_principal_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    diagnostics: Diagnostics

    def __init__(
        self,
        name: str,
        *,
        environment: EnvironmentConfig,
        stack: str,
        subscription_id: str,
        tenant_id: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlplatform:environment:SharedServices", name, None, opts)
        env = environment
        names = env.names
        public = env.network.public_network_access
        protect = env.production
        common = tags(owner=env.owner, cost_center=env.cost_center, environment=stack, extra=env.tags)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=protect)

        group = resources.ResourceGroup(
            "shared-rg",
            resource_group_name=names.shared_resource_group,
            location=env.location,
            tags=common,
            opts=child,
        )
        logs = operationalinsights.Workspace(
            "logs",
            workspace_name=names.log_analytics,
            resource_group_name=group.name,
            location=env.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=env.log_analytics.retention_days,
            tags=common,
            opts=child,
        )
        self.diagnostics = Diagnostics(workspace_id=logs.id)
        insights = applicationinsights.Component(
            "app-insights",
            resource_name_=names.application_insights,
            resource_group_name=group.name,
            location=env.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=logs.id,
            tags=common,
            opts=child,
        )
        vault = keyvault.Vault(
            "key-vault",
            vault_name=names.key_vault,
            resource_group_name=group.name,
            location=env.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=env.key_vault.soft_delete_retention_days,
                public_network_access=_access(public),
                network_acls=keyvault.NetworkRuleSetArgs(
                    bypass="AzureServices", default_action="Allow" if public else "Deny"
                ),
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            tags=common,
            opts=stateful,
        )
        self.diagnostics.send("key-vault", vault.id, parent=self)
        lock("key-vault", vault.id, env.lock_level, parent=self)

        acr = containerregistry.Registry(
            "container-registry",
            registry_name=names.container_registry,
            resource_group_name=group.name,
            location=env.location,
            sku=containerregistry.SkuArgs(name=env.acr_sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=_access(public),
            network_rule_bypass_options="AzureServices",
            tags=common,
            opts=stateful,
        )
        self.diagnostics.send("container-registry", acr.id, parent=self)

        identity = managedidentity.UserAssignedIdentity(
            "platform-identity",
            resource_name_=names.platform_identity,
            resource_group_name=group.name,
            location=env.location,
            tags=common,
            opts=child,
        )

        if env.registry.create is not None:
            regions = [
                env.location,
                *(r for r in env.registry.create.replication_regions if r != env.location),
            ]
            registry = machinelearningservices.Registry(
                "ml-registry",
                registry_name=names.ml_registry,
                resource_group_name=group.name,
                location=env.location,
                identity=machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
                sku=machinelearningservices.SkuArgs(name="Basic", tier=machinelearningservices.SkuTier.BASIC),
                public_network_access=_access(public),
                region_details=[
                    machinelearningservices.RegistryRegionArmDetailsArgs(
                        location=region,
                        acr_details=[
                            machinelearningservices.AcrDetailsArgs(
                                system_created_acr_account=machinelearningservices.SystemCreatedAcrAccountArgs(
                                    acr_account_sku="Premium"
                                )
                            )
                        ],
                        storage_account_details=[
                            machinelearningservices.StorageAccountDetailsArgs(
                                system_created_storage_account=machinelearningservices.SystemCreatedStorageAccountArgs(
                                    storage_account_type="Standard_LRS",
                                    storage_account_hns_enabled=False,
                                    allow_blob_public_access=False,
                                )
                            )
                        ],
                    )
                    for region in regions
                ],
                tags=common,
                opts=stateful,
            )
            # Registries emit data-plane logs (asset read/write events) and no platform metrics.
            self.diagnostics.send("ml-registry", registry.id, parent=self, metrics=False)
            lock("ml-registry", registry.id, env.lock_level, parent=self)
            self.registry_name = registry.name
            self.registry_id = registry.id
        else:
            existing = env.registry.existing_id
            assert existing is not None  # guaranteed by RegistryConfig
            self.registry_name = pulumi.Output.from_input(existing.rsplit("/", 1)[-1])
            self.registry_id = pulumi.Output.from_input(existing)

        private_endpoints(
            [
                PrivateLinkTarget(
                    "key-vault-pe",
                    private_endpoint_name(names.key_vault, "vault"),
                    vault.id,
                    "vault",
                    ["vault"],
                ),
                PrivateLinkTarget(
                    "container-registry-pe",
                    private_endpoint_name(names.container_registry, "registry"),
                    acr.id,
                    "registry",
                    ["registry"],
                ),
            ],
            settings=env.network.private_endpoints,
            resource_group_name=group.name,
            location=env.location,
            tags=common,
            parent=self,
        )

        self.resource_group_name = group.name
        self.log_analytics_id = logs.id
        self.application_insights_id = insights.id
        self.key_vault_id = vault.id
        self.container_registry_id = acr.id
        self.identity_id = identity.id
        self.identity_client_id = identity.client_id
        self.identity_principal_id = identity.principal_id
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "log_analytics_id": self.log_analytics_id,
                "application_insights_id": self.application_insights_id,
                "key_vault_id": self.key_vault_id,
                "container_registry_id": self.container_registry_id,
                "identity_id": self.identity_id,
                "registry_name": self.registry_name,
                "registry_id": self.registry_id,
            }
        )

"""Environment-wide services every project's workspace shares."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices, operationalinsights, resources

from infra.components.interfaces import Diagnostics, PrivateLinkTarget, private_endpoints, tags
from infra.model import PlatformModel
from infra.model.network import REGISTRY_SUBRESOURCE
from infra.naming import private_endpoint_name


def access(public: bool) -> str:
    return "Enabled" if public else "Disabled"


class SharedServices(pulumi.ComponentResource):
    """Resource group, Log Analytics and the Azure ML registry: what every project shares. Each
    project's Key Vault, container registry and Application Insights are its own (infra/components/project.py)."""

    resource_group_name: pulumi.Output[str]
    log_analytics_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    diagnostics: Diagnostics

    def __init__(
        self,
        name: str,
        *,
        model: PlatformModel,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlplatform:environment:SharedServices", name, None, opts)
        env = model.environment
        names = env.names
        common = tags(owner=env.owner, cost_center=env.cost_center, environment=model.stack, extra=env.tags)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=env.production)

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
            # Entra ID only: no workspace keys for ingestion or queries.
            features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
            tags=common,
            opts=child,
        )
        self.diagnostics = Diagnostics(workspace_id=logs.id)

        registry = model.registry
        if registry.owned:
            assert env.registry.create is not None  # owned means `create` (RegistryConfig)
            regions = [
                env.location,
                *(r for r in env.registry.create.replication_regions if r != env.location),
            ]
            ml_registry = machinelearningservices.Registry(
                "ml-registry",
                registry_name=names.ml_registry,
                resource_group_name=group.name,
                location=env.location,
                identity=machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
                sku=machinelearningservices.SkuArgs(name="Basic", tier=machinelearningservices.SkuTier.BASIC),
                public_network_access=access(registry.public),
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
            self.diagnostics.send("ml-registry", ml_registry.id, parent=self, metrics=False)
            # No lock: the managed networks of every workspace that uses the registry, this stack's
            # and other stacks', create and delete private endpoint connections on it, and a lock
            # on it blocks deleting them (docs/onboarding.md, "Locks"). `protect` guards it here.
            if registry.private_endpoint:
                private_endpoints(
                    [
                        PrivateLinkTarget(
                            "ml-registry-pe",
                            private_endpoint_name(names.ml_registry, REGISTRY_SUBRESOURCE),
                            ml_registry.id,
                            REGISTRY_SUBRESOURCE,
                            ["amlworkspace"],
                        )
                    ],
                    settings=env.network.private_endpoints,
                    resource_group_name=group.name,
                    location=env.location,
                    tags=common,
                    parent=self,
                )
            self.registry_name = ml_registry.name
            self.registry_id = ml_registry.id
        else:
            self.registry_name = pulumi.Output.from_input(registry.name)
            self.registry_id = pulumi.Output.from_input(registry.id)

        self.resource_group_name = group.name
        self.log_analytics_id = logs.id
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "log_analytics_id": self.log_analytics_id,
                "registry_name": self.registry_name,
                "registry_id": self.registry_id,
            }
        )

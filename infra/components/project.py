"""One onboarded project in one environment, rendered from its platform model: resource group,
storage, Key Vault, container registry, Application Insights, the workspace's user-assigned
identity, the workspace, its clusters, private endpoints, role assignments and budget."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    containerregistry,
    keyvault,
    managedidentity,
    resources,
    storage,
)
from pulumi_azure_native import machinelearningservices as ml

from infra.components.access import ProjectAccess
from infra.components.budget import monthly_budget
from infra.components.cluster import ClusterPlacement, GpuCluster, ImageBuildCluster
from infra.components.interfaces import PrivateLinkTarget, lock, merged_tags, private_endpoints, tags
from infra.components.shared import SharedServices, access
from infra.config.models import FqdnRule, OutboundRule, PrivateEndpointRule, ServiceTagRule
from infra.model import PlatformModel, ProjectModel
from infra.model.access import CLUSTER_PREFIX, WORKSPACE_IDENTITY, ScopeKind
from infra.model.network import WorkspaceNetwork
from infra.naming import private_endpoint_name
from infra.skus import require_sku


def _outbound_rule(
    rule: OutboundRule,
) -> ml.FqdnOutboundRuleArgs | ml.ServiceTagOutboundRuleArgs | ml.PrivateEndpointOutboundRuleArgs:
    if isinstance(rule, FqdnRule):
        return ml.FqdnOutboundRuleArgs(type="FQDN", category="UserDefined", destination=rule.destination)
    if isinstance(rule, ServiceTagRule):
        return ml.ServiceTagOutboundRuleArgs(
            type="ServiceTag",
            category="UserDefined",
            destination=ml.ServiceTagDestinationArgs(
                service_tag=rule.service_tag,
                protocol=rule.protocol,
                port_ranges=rule.port_ranges,
                action="Allow",
            ),
        )
    assert isinstance(rule, PrivateEndpointRule)
    return ml.PrivateEndpointOutboundRuleArgs(
        type="PrivateEndpoint",
        category="UserDefined",
        destination=ml.PrivateEndpointDestinationArgs(
            service_resource_id=rule.service_resource_id, subresource_target=rule.subresource_target
        ),
    )


def managed_network(network: WorkspaceNetwork) -> ml.ManagedNetworkSettingsArgs:
    return ml.ManagedNetworkSettingsArgs(
        isolation_mode=network.isolation_mode,
        outbound_rules={name: _outbound_rule(rule) for name, rule in network.outbound_rules.items()} or None,
        firewall_sku=network.firewall_sku,
    )


def _service_id(account_id: pulumi.Output[str], service: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(account_id, f"/{service}Services/default")


@dataclass(frozen=True)
class ClusterOutput:
    name: str
    id: pulumi.Output[str]
    principal_id: pulumi.Output[str]


class Project(pulumi.ComponentResource):
    """A project's Azure ML workspace with resources of its own, on the environment's monitoring
    and registry."""

    resource_group_name: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    key_vault_name: pulumi.Output[str]
    container_registry_name: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    identity_id: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    identity_principal_id: pulumi.Output[str]
    clusters: dict[str, ClusterOutput]

    def __init__(
        self,
        project: ProjectModel,
        *,
        model: PlatformModel,
        shared: SharedServices,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlplatform:project:Project", project.name, None, opts)
        env = model.environment
        names = project.names
        label = project.name
        self._model, self._project = model, project
        self._public = env.network.public_network_access
        self._common = tags(
            owner=project.settings.owner,
            cost_center=project.settings.cost_center,
            environment=model.stack,
            project=project.name,
            extra=merged_tags(env.tags, project.settings.tags),
        )
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = pulumi.ResourceOptions(parent=self, protect=env.production)
        self._shared = shared

        group = resources.ResourceGroup(
            f"{label}-rg",
            resource_group_name=names.resource_group,
            location=project.location,
            tags=self._common,
            opts=self._child,
        )
        self._group = group
        account = self._storage_account()
        vault = self._key_vault()
        registry = self._container_registry()
        insights = applicationinsights.Component(
            f"{label}-app-insights",
            resource_name_=names.application_insights,
            resource_group_name=group.name,
            location=project.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=shared.log_analytics_id,
            disable_local_auth=True,  # Entra ID only for ingestion and queries
            tags=self._common,
            opts=self._child,
        )
        identity = managedidentity.UserAssignedIdentity(
            f"{label}-workspace-identity",
            resource_name_=names.workspace_identity,
            resource_group_name=group.name,
            location=project.location,
            tags=self._common,
            opts=self._child,
        )

        access_component = ProjectAccess(f"{label}-access", opts=self._child)
        scopes: dict[ScopeKind, pulumi.Input[str]] = {
            "resource_group": group.id,
            "application_insights": insights.id,
            "storage": account.id,
            "key_vault": vault.id,
            "container_registry": registry.id,
            "ml_registry": shared.registry_id,
        }
        identities: dict[str, pulumi.Input[str]] = {WORKSPACE_IDENTITY: identity.principal_id}
        # A user-assigned primary identity needs its roles before the workspace is created; the
        # service then makes no assignment of its own (infra/model/access.py).
        before = access_component.assign(
            [g for g in project.grants if g.before_workspace], scopes=scopes, identities=identities
        )
        workspace = self._workspace(account, vault, registry, insights, identity, before)
        endpoints = self._private_endpoints(workspace, account, vault, registry)
        if endpoints:
            scopes["storage_blob_endpoint"] = endpoints["blob"]
            scopes["storage_file_endpoint"] = endpoints["file"]
        self.clusters = self._clusters(workspace)
        scopes["workspace"] = workspace.id
        for compute_name, output in self.clusters.items():
            identities[f"{CLUSTER_PREFIX}{compute_name}"] = output.principal_id
        access_component.assign(
            [g for g in project.grants if not g.before_workspace], scopes=scopes, identities=identities
        )
        if project.budget is not None:
            monthly_budget(
                f"{label}-budget", budget_name=names.budget, scope=group.id, plan=project.budget, parent=self
            )

        self.resource_group_name = group.name
        self.storage_account_name = account.name
        self.key_vault_name = vault.name
        self.container_registry_name = registry.name
        self.workspace_name = workspace.name
        self.workspace_id = workspace.id
        self.identity_id = identity.id
        self.identity_client_id = identity.client_id
        self.identity_principal_id = identity.principal_id
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "storage_account_name": self.storage_account_name,
                "key_vault_name": self.key_vault_name,
                "container_registry_name": self.container_registry_name,
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "identity_id": self.identity_id,
                "clusters": {name: cluster.id for name, cluster in self.clusters.items()},
            }
        )

    # Each method renders one resource of the model and its diagnostics and lock.

    def _storage_account(self) -> storage.StorageAccount:
        env, label, public = self._model.environment, self._project.name, self._public
        account = storage.StorageAccount(
            f"{label}-storage",
            account_name=self._project.names.storage_account,
            resource_group_name=self._group.name,
            location=self._project.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=env.storage_sku),
            access_tier=storage.AccessTier.HOT,
            is_hns_enabled=False,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            allow_cross_tenant_replication=False,
            default_to_o_auth_authentication=True,
            public_network_access=access(public),
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.ALLOW if public else storage.DefaultAction.DENY,
                bypass="AzureServices",
            ),
            tags=self._common,
            opts=self._stateful,
        )
        diagnostics = self._shared.diagnostics
        # A storage account itself has only metrics; its logs belong to each service.
        diagnostics.send(f"{label}-storage", account.id, parent=self, logs=False)
        for service in ("blob", "file"):
            diagnostics.send(f"{label}-storage-{service}", _service_id(account.id, service), parent=self)
        lock(f"{label}-storage", account.id, self._model.lock_level, parent=self)
        return account

    def _key_vault(self) -> keyvault.Vault:
        env, label, public = self._model.environment, self._project.name, self._public
        vault = keyvault.Vault(
            f"{label}-key-vault",
            vault_name=self._project.names.key_vault,
            resource_group_name=self._group.name,
            location=self._project.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self._model.tenant,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=env.key_vault.soft_delete_retention_days,
                public_network_access=access(public),
                network_acls=keyvault.NetworkRuleSetArgs(
                    bypass="AzureServices", default_action="Allow" if public else "Deny"
                ),
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            tags=self._common,
            opts=self._stateful,
        )
        self._shared.diagnostics.send(f"{label}-key-vault", vault.id, parent=self)
        lock(f"{label}-key-vault", vault.id, self._model.lock_level, parent=self)
        return vault

    def _container_registry(self) -> containerregistry.Registry:
        env, label, public = self._model.environment, self._project.name, self._public
        premium = env.acr_sku == "Premium"
        registry = containerregistry.Registry(
            f"{label}-container-registry",
            registry_name=self._project.names.container_registry,
            resource_group_name=self._group.name,
            location=self._project.location,
            sku=containerregistry.SkuArgs(name=env.acr_sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=access(public),
            network_rule_bypass_options="AzureServices",
            zone_redundancy="Enabled" if env.zone_redundant_registry else "Disabled",
            # Retention and export policies are Premium features; exports can only be disabled
            # once public network access is.
            policies=containerregistry.PoliciesArgs(
                retention_policy=containerregistry.RetentionPolicyArgs(
                    days=env.container_registry.untagged_retention_days, status="enabled"
                ),
                export_policy=containerregistry.ExportPolicyArgs(status="enabled" if public else "disabled"),
            )
            if premium
            else None,
            tags=self._common,
            opts=self._stateful,
        )
        self._shared.diagnostics.send(f"{label}-container-registry", registry.id, parent=self)
        return registry

    def _workspace(
        self,
        account: storage.StorageAccount,
        vault: keyvault.Vault,
        registry: containerregistry.Registry,
        insights: applicationinsights.Component,
        identity: managedidentity.UserAssignedIdentity,
        depends_on: list[pulumi.Resource],
    ) -> ml.Workspace:
        project = self._project
        workspace = ml.Workspace(
            f"{project.name}-workspace",
            workspace_name=project.names.workspace,
            resource_group_name=self._group.name,
            location=project.location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            friendly_name=project.name,
            description=project.settings.description or None,
            # User-assigned only: with a system-assigned identity too, the service would use that
            # one and make its role assignments itself.
            identity=ml.ManagedServiceIdentityArgs(
                type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity.id],
            ),
            primary_user_assigned_identity=identity.id,
            storage_account=account.id,
            key_vault=vault.id,
            container_registry=registry.id,
            application_insights=insights.id,
            image_build_compute=project.image_build_cluster,
            hbi_workspace=project.hbi_workspace,
            system_datastores_auth_mode="identity",
            public_network_access=access(self._public),
            managed_network=managed_network(project.network),
            provision_network_now=project.network.isolation_mode != "Disabled",
            v1_legacy_mode=False,
            tags=self._common,
            opts=pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(depends_on=depends_on)),
        )
        # No lock on the workspace: locks are inherited by child resources, and a workspace's
        # computes and online endpoints are its children (docs/onboarding.md, "Locks").
        self._shared.diagnostics.send(f"{project.name}-workspace", workspace.id, parent=self)
        return workspace

    def _private_endpoints(
        self,
        workspace: ml.Workspace,
        account: storage.StorageAccount,
        vault: keyvault.Vault,
        registry: containerregistry.Registry,
    ) -> dict[str, pulumi.Output[str]]:
        """The project's private endpoints, by sub-resource: their ids, for grants on them."""
        env, names, label = self._model.environment, self._project.names, self._project.name
        targets = [
            PrivateLinkTarget(
                f"{label}-workspace-pe",
                private_endpoint_name(names.workspace, "amlworkspace"),
                workspace.id,
                "amlworkspace",
                ["amlworkspace", "notebooks"],
            ),
            *(
                PrivateLinkTarget(
                    f"{label}-storage-{service}-pe",
                    private_endpoint_name(names.storage_account, service),
                    account.id,
                    service,
                    [service],
                )
                for service in ("blob", "file")
            ),
            PrivateLinkTarget(
                f"{label}-key-vault-pe",
                private_endpoint_name(names.key_vault, "vault"),
                vault.id,
                "vault",
                ["vault"],
            ),
            PrivateLinkTarget(
                f"{label}-container-registry-pe",
                private_endpoint_name(names.container_registry, "registry"),
                registry.id,
                "registry",
                ["registry"],
            ),
        ]
        created = private_endpoints(
            targets,
            settings=env.network.private_endpoints,
            resource_group_name=self._group.name,
            # A private endpoint is in its virtual network's region, the hub's (the environment's
            # location); the resource it reaches may be elsewhere (docs/onboarding.md, "Regions").
            location=env.location,
            tags=self._common,
            parent=self,
        )
        return {target.group_id: endpoint.id for target, endpoint in zip(targets, created, strict=False)}

    def _clusters(self, workspace: ml.Workspace) -> dict[str, ClusterOutput]:
        env, project = self._model.environment, self._project
        placement = ClusterPlacement(
            workspace_name=workspace.name,
            resource_group_name=self._group.name,
            location=project.location,
            public_ip=not env.network.nodes_without_public_ip,
            tags=self._common,
        )
        clusters: dict[str, ClusterOutput] = {}
        if project.image_build_cluster is not None:
            builder = ImageBuildCluster(
                f"{project.name}-{project.image_build_cluster}",
                compute_name=project.image_build_cluster,
                placement=placement,
                opts=self._child,
            )
            clusters[project.image_build_cluster] = ClusterOutput(
                project.image_build_cluster, builder.id, builder.principal_id
            )
        for compute_name, cluster in sorted(project.settings.clusters.items()):
            sku = require_sku(cluster.vm_size)
            gpu = GpuCluster(
                f"{project.name}-{compute_name}",
                compute_name=compute_name,
                cluster=cluster,
                placement=replace(
                    placement, tags={**self._common, "gpu": f"{sku.gpus}x{sku.gpu_model.replace(' ', '-')}"}
                ),
                opts=self._child,
            )
            clusters[compute_name] = ClusterOutput(compute_name, gpu.id, gpu.principal_id)
        return clusters

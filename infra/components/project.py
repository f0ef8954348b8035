"""One onboarded project in one environment: its resource group, storage, workspace and clusters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import resources, storage

from infra.components.access import ProjectAccess
from infra.components.budget import monthly_budget
from infra.components.cluster import GpuCluster
from infra.components.interfaces import PrivateLinkTarget, lock, private_endpoints, tags
from infra.components.shared import SharedServices
from infra.config.models import (
    EnvironmentConfig,
    FqdnRule,
    OutboundRule,
    PrivateEndpointRule,
    ProjectSettings,
    ServiceTagRule,
)
from infra.naming import private_endpoint_name
from infra.policy.access import (
    CLUSTER_PREFIX,
    PLATFORM_IDENTITY,
    WORKSPACE_IDENTITY,
    ScopeKind,
    project_grants,
)
from infra.policy.budget import budget_plan
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


def managed_network(environment: EnvironmentConfig) -> ml.ManagedNetworkSettingsArgs:
    network = environment.network
    return ml.ManagedNetworkSettingsArgs(
        isolation_mode=network.isolation_mode,
        outbound_rules={name: _outbound_rule(rule) for name, rule in sorted(network.outbound_rules.items())}
        or None,
    )


def _service_id(account_id: pulumi.Output[str], service: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(account_id, f"/{service}Services/default")


@dataclass(frozen=True)
class ClusterOutput:
    name: str
    id: pulumi.Output[str]
    principal_id: pulumi.Output[str]


class Project(pulumi.ComponentResource):
    """A project's Azure ML workspace on the environment's shared services."""

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_principal_id: pulumi.Output[str]
    clusters: dict[str, ClusterOutput]

    def __init__(
        self,
        project: ProjectSettings,
        *,
        environment: EnvironmentConfig,
        stack: str,
        shared: SharedServices,
        subscription_id: str,
        workspace_depends_on: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`workspace_depends_on`: what must exist before the workspace (the platform identity's
        role assignments on shared services)."""
        super().__init__("mlplatform:project:Project", project.name, None, opts)
        env = environment
        names = env.names.project(project.name)
        public = env.network.public_network_access
        label = project.name
        common = tags(
            owner=project.owner,
            cost_center=project.cost_center,
            environment=stack,
            project=project.name,
            extra={**env.tags, **project.tags},
        )
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=env.production)

        group = resources.ResourceGroup(
            f"{label}-rg",
            resource_group_name=names.resource_group,
            location=env.location,
            tags=common,
            opts=child,
        )
        account = storage.StorageAccount(
            f"{label}-storage",
            account_name=names.storage_account,
            resource_group_name=group.name,
            location=env.location,
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
            public_network_access="Enabled" if public else "Disabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.ALLOW if public else storage.DefaultAction.DENY,
                bypass="AzureServices",
            ),
            tags=common,
            opts=stateful,
        )
        diagnostics = shared.diagnostics
        # A storage account itself has only metrics; its logs belong to each service.
        diagnostics.send(f"{label}-storage", account.id, parent=self, logs=False)
        for service in ("blob", "file"):
            diagnostics.send(f"{label}-storage-{service}", _service_id(account.id, service), parent=self)
        lock(f"{label}-storage", account.id, env.lock_level, parent=self)

        plan = budget_plan(env, project)
        if plan is not None:
            monthly_budget(
                f"{label}-budget", budget_name=names.budget, scope=group.id, plan=plan, parent=self
            )

        # The workspace's user-assigned identity must reach storage before the workspace is
        # created; the system-assigned identity and the clusters' exist only afterwards.
        grants = project_grants(env, project, subscription_id)
        access = ProjectAccess(f"{label}-access", opts=child)
        scopes: dict[ScopeKind, pulumi.Input[str]] = {
            "resource_group": group.id,
            "storage": account.id,
            "key_vault": shared.key_vault_id,
            "container_registry": shared.container_registry_id,
            "ml_registry": shared.registry_id,
        }
        identities: dict[str, pulumi.Input[str]] = {PLATFORM_IDENTITY: shared.identity_principal_id}
        platform_identity = access.assign(
            [g for g in grants if g.holder == PLATFORM_IDENTITY], scopes=scopes, identities=identities
        )

        isolated = env.network.isolation_mode != "Disabled"
        workspace = ml.Workspace(
            f"{label}-workspace",
            workspace_name=names.workspace,
            resource_group_name=group.name,
            location=env.location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            friendly_name=project.name,
            description=project.description or None,
            identity=ml.ManagedServiceIdentityArgs(
                type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED_USER_ASSIGNED,
                user_assigned_identities=[shared.identity_id],
            ),
            storage_account=account.id,
            key_vault=shared.key_vault_id,
            container_registry=shared.container_registry_id,
            application_insights=shared.application_insights_id,
            system_datastores_auth_mode="identity",
            public_network_access="Enabled" if public else "Disabled",
            allow_public_access_when_behind_vnet=False,
            managed_network=managed_network(env),
            provision_network_now=isolated,
            v1_legacy_mode=False,
            tags=common,
            opts=pulumi.ResourceOptions.merge(
                stateful,
                pulumi.ResourceOptions(depends_on=[*workspace_depends_on, *platform_identity]),
            ),
        )
        diagnostics.send(f"{label}-workspace", workspace.id, parent=self)
        lock(f"{label}-workspace", workspace.id, env.lock_level, parent=self)

        private_endpoints(
            [
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
            ],
            settings=env.network.private_endpoints,
            resource_group_name=group.name,
            location=env.location,
            tags=common,
            parent=self,
        )

        self.clusters = {}
        for compute_name, cluster in sorted(project.clusters.items()):
            sku = require_sku(cluster.vm_size)
            gpu_cluster = GpuCluster(
                f"{label}-{compute_name}",
                compute_name=compute_name,
                cluster=cluster,
                workspace_name=workspace.name,
                resource_group_name=group.name,
                location=env.location,
                public_ip=not env.network.nodes_without_public_ip,
                tags={**common, "gpu": f"{sku.gpus}x{sku.gpu_model.replace(' ', '-')}"},
                opts=child,
            )
            self.clusters[compute_name] = ClusterOutput(
                compute_name, gpu_cluster.id, gpu_cluster.principal_id
            )

        self.resource_group_name = group.name
        self.resource_group_id = group.id
        self.storage_account_name = account.name
        self.storage_account_id = account.id
        self.workspace_name = workspace.name
        self.workspace_id = workspace.id
        self.workspace_principal_id = workspace.identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )

        scopes["workspace"] = workspace.id
        identities[WORKSPACE_IDENTITY] = self.workspace_principal_id
        for compute_name, output in self.clusters.items():
            identities[f"{CLUSTER_PREFIX}{compute_name}"] = output.principal_id
        access.assign(
            [g for g in grants if g.holder != PLATFORM_IDENTITY], scopes=scopes, identities=identities
        )
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "storage_account_name": self.storage_account_name,
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "clusters": {name: cluster.id for name, cluster in self.clusters.items()},
            }
        )

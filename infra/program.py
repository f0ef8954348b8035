"""The platform program: every resource of one environment, rendered from its platform model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization

from infra.components.access import EnvironmentAccess
from infra.components.project import Project
from infra.components.shared import SharedServices
from infra.model import PlatformModel, ProjectModel
from infra.registration_window import RegistrationWindow
from infra.skus import require_sku
from infra.stack_outputs import (
    ClusterOutputs,
    ProjectOutputs,
    RegistryOutputs,
    StackOutputs,
    WorkspaceIdentityOutputs,
)


@dataclass(frozen=True)
class ClientConfig:
    """Who is deploying, and where: from the Azure credentials the provider uses."""

    subscription_id: str
    tenant_id: str
    object_id: str

    @staticmethod
    def current() -> ClientConfig:
        config = authorization.get_client_config()
        return ClientConfig(config.subscription_id, config.tenant_id, config.object_id)


def _cluster_outputs(
    project: ProjectModel, rendered: Project
) -> dict[str, ClusterOutputs[pulumi.Output[str]]]:
    outputs = {}
    for name, cluster in sorted(project.settings.clusters.items()):
        sku = require_sku(cluster.vm_size)
        outputs[name] = ClusterOutputs(
            name=name,
            id=rendered.clusters[name].id,
            vm_size=sku.name,
            min_nodes=cluster.min_nodes,
            max_nodes=cluster.max_nodes,
            gpus_per_node=sku.gpus,
            vcpus_per_node=sku.vcpus,
            priority=cluster.priority,
        )
    return outputs


def _project_outputs(project: ProjectModel, rendered: Project) -> ProjectOutputs[pulumi.Output[str]]:
    return ProjectOutputs(
        location=project.location,
        resource_group=rendered.resource_group_name,
        workspace_name=rendered.workspace_name,
        workspace_id=rendered.workspace_id,
        storage_account=rendered.storage_account_name,
        key_vault=rendered.key_vault_name,
        container_registry=rendered.container_registry_name,
        workspace_identity=WorkspaceIdentityOutputs(
            id=rendered.identity_id,
            client_id=rendered.identity_client_id,
            principal_id=rendered.identity_principal_id,
        ),
        registry_path=project.network.registry_path.kind if project.network.registry_path else None,
        clusters=_cluster_outputs(project, rendered),
    )


async def build(model: PlatformModel, window: RegistrationWindow) -> dict[str, Any]:
    """Register every resource of the environment; return the stack outputs (infra/stack_outputs.py).
    Async so that a preview can let the engine catch up between projects (infra/registration_window.py)."""
    shared = SharedServices("shared", model=model)
    # People's roles on the shared registry. On a registry another stack owns, the same person may
    # be granted by that stack too: such assignments are retained, never deleted, by this one.
    EnvironmentAccess("environment-access").assign(
        model.shared_grants,
        scopes={"ml_registry": shared.registry_id},
        identities={},
        external_scopes=frozenset() if model.registry.owned else frozenset({"ml_registry"}),
    )
    projects: dict[str, tuple[ProjectModel, Project]] = {}
    for project in model.projects:
        projects[project.name] = (project, Project(project, model=model, shared=shared))
        await window.project_constructed()
    return StackOutputs(
        environment=model.stack,
        location=model.environment.location,
        subscription_id=model.subscription,
        tenant_id=model.tenant,
        production=model.environment.production,
        public_network_access=model.environment.network.public_network_access,
        gpu_quota=dict(sorted(model.environment.gpu_quota.items())),
        gpu_quota_by_region={
            region: dict(sorted(quota.items()))
            for region, quota in sorted(model.environment.gpu_quota_by_region.items())
        },
        shared_resource_group=shared.resource_group_name,
        registry=RegistryOutputs(
            name=shared.registry_name, id=shared.registry_id, managed=model.registry.owned
        ),
        projects={
            name: _project_outputs(project, rendered) for name, (project, rendered) in projects.items()
        },
    ).to_json()

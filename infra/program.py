"""The platform program: every resource of one environment, built from validated configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization

from infra.components.access import EnvironmentAccess
from infra.components.project import Project
from infra.components.shared import SharedServices
from infra.config.loader import Platform
from infra.config.models import ProjectSettings
from infra.policy.access import PLATFORM_IDENTITY, ScopeKind, environment_grants
from infra.registration_window import RegistrationWindow
from infra.skus import require_sku


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


def _cluster_outputs(settings: ProjectSettings, project: Project) -> dict[str, Any]:
    outputs = {}
    for name, cluster in sorted(settings.clusters.items()):
        sku = require_sku(cluster.vm_size)
        outputs[name] = {
            "name": name,
            "id": project.clusters[name].id,
            "vm_size": sku.name,
            "min_nodes": cluster.min_nodes,
            "max_nodes": cluster.max_nodes,
            "gpus_per_node": sku.gpus,
            "vcpus_per_node": sku.vcpus,
            "priority": cluster.priority,
        }
    return outputs


async def build(platform: Platform, client: ClientConfig, window: RegistrationWindow) -> dict[str, Any]:
    """Register every resource of the environment; return the stack outputs (docs/stack-outputs.md).
    Async so that a preview can let the engine catch up between projects (infra/registration_window.py)."""
    env = platform.environment
    shared = SharedServices(
        "shared",
        environment=env,
        stack=platform.stack,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
    )
    grants = environment_grants(env, platform.projects, client.subscription_id)
    access = EnvironmentAccess("environment-access")
    scopes: dict[ScopeKind, pulumi.Input[str]] = {
        "key_vault": shared.key_vault_id,
        "container_registry": shared.container_registry_id,
        "ml_registry": shared.registry_id,
    }
    identities: dict[str, pulumi.Input[str]] = {PLATFORM_IDENTITY: shared.identity_principal_id}
    # A registry of another stack: the same person may be granted there by that stack too.
    external: frozenset[ScopeKind] = frozenset({"ml_registry"}) if env.registry.existing_id else frozenset()
    identity_grants = access.assign(
        [g for g in grants if g.holder is not None], scopes=scopes, identities=identities
    )
    access.assign(
        [g for g in grants if g.holder is None],
        scopes=scopes,
        identities=identities,
        external_scopes=external,
    )
    projects: dict[str, tuple[ProjectSettings, Project]] = {}
    for settings in platform.projects:
        projects[settings.name] = (
            settings,
            Project(
                settings,
                environment=env,
                stack=platform.stack,
                shared=shared,
                subscription_id=client.subscription_id,
                workspace_depends_on=identity_grants,
            ),
        )
        await window.project_constructed()
    return {
        "environment": platform.stack,
        "location": env.location,
        "subscription_id": client.subscription_id,
        "tenant_id": client.tenant_id,
        "shared_resource_group": shared.resource_group_name,
        "registry": {
            "name": shared.registry_name,
            "id": shared.registry_id,
            "managed": env.registry.create is not None,
        },
        "platform_identity": {
            "id": shared.identity_id,
            "client_id": shared.identity_client_id,
            "principal_id": shared.identity_principal_id,
        },
        "projects": {
            name: {
                "resource_group": project.resource_group_name,
                "workspace_name": project.workspace_name,
                "workspace_id": project.workspace_id,
                "storage_account": project.storage_account_name,
                "clusters": _cluster_outputs(settings, project),
            }
            for name, (settings, project) in projects.items()
        },
    }

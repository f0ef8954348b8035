"""The cross-cutting interfaces every component speaks, in one vocabulary (as Azure Verified
Modules do): tags, diagnostic settings, locks and private endpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, monitor, network

from infra.config.models import LockLevel, PrivateEndpoints
from infra.model.access import RoleGrant

MANAGED_BY = "pulumi/azureml-platform"


def tags(
    *,
    owner: str,
    cost_center: str,
    environment: str,
    project: str | None = None,
    extra: Mapping[str, str] = {},
) -> dict[str, str]:
    required = {
        "owner": owner,
        "cost-center": cost_center,
        "environment": environment,
        "managed-by": MANAGED_BY,
    }
    if project is not None:
        required["project"] = project
    return {**extra, **required}


def merged_tags(*layers: Mapping[str, str]) -> dict[str, str]:
    """Later layers win, by tag name without case: Azure treats `Team` and `team` as one tag, so
    sending both would make one of them lose at random."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for key, value in layer.items():
            merged[key.lower()] = (key, value)
    return dict(merged.values())


@dataclass(frozen=True)
class Diagnostics:
    """Where diagnostics go, and which categories a resource type offers."""

    workspace_id: pulumi.Input[str]

    def send(
        self,
        name: str,
        resource_uri: pulumi.Input[str],
        *,
        parent: pulumi.Resource,
        logs: bool = True,
        metrics: bool = True,
    ) -> monitor.DiagnosticSetting:
        return monitor.DiagnosticSetting(
            f"{name}-diagnostics",
            name="send-to-log-analytics",
            resource_uri=resource_uri,
            workspace_id=self.workspace_id,
            log_analytics_destination_type="Dedicated",
            logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)]
            if logs
            else None,
            metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)]
            if metrics
            else None,
            opts=pulumi.ResourceOptions(parent=parent),
        )


def lock(
    name: str, scope: pulumi.Input[str], level: LockLevel | None, *, parent: pulumi.Resource
) -> authorization.ManagementLockByScope | None:
    if level is None:
        return None
    return authorization.ManagementLockByScope(
        f"{name}-lock",
        lock_name="platform-protect",
        level=level,
        scope=scope,
        notes="Production data: remove the lock in the environment config before deleting on purpose.",
        opts=pulumi.ResourceOptions(parent=parent),
    )


def role_assignment(
    grant: RoleGrant,
    *,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    parent: pulumi.Resource,
    retain_on_delete: bool,
) -> authorization.RoleAssignment:
    """One role assignment of the access model. Its name comes from the grant (values known at plan
    time, so it never churns); `scope` and `principal_id` are the real outputs, so the assignment
    waits for the resource and the identity it names. `principal_type` is always set: without it a
    fresh managed identity fails with PrincipalNotFound while Entra replicates.

    A managed identity's principal changes when the resource holding it is replaced (a cluster's
    new VM size), which replaces the assignment under the same name: the old one goes first, or
    the provider finds the name taken."""
    return authorization.RoleAssignment(
        f"ra-{grant.name}",
        authorization.RoleAssignmentArgs(
            role_assignment_name=grant.name,
            scope=scope,
            principal_id=principal_id,
            principal_type=grant.principal_type,
            role_definition_id=grant.role_definition_id,
            description=grant.description,
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            retain_on_delete=retain_on_delete or None,
            delete_before_replace=grant.holder is not None or None,
        ),
    )


@dataclass(frozen=True)
class PrivateLinkTarget:
    """One private endpoint: the resource, its sub-resource (group id) and the DNS zones it needs."""

    name: str
    endpoint_name: str
    resource_id: pulumi.Input[str]
    group_id: str
    dns_zones: Sequence[str]


class PrivateEndpoint(pulumi.ComponentResource):
    """A private endpoint in the environment's subnet, registered in the central DNS zones."""

    id: pulumi.Output[str]

    def __init__(
        self,
        target: PrivateLinkTarget,
        *,
        settings: PrivateEndpoints,
        resource_group_name: pulumi.Input[str],
        location: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("mlplatform:network:PrivateEndpoint", target.name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        endpoint = network.PrivateEndpoint(
            target.name,
            private_endpoint_name=target.endpoint_name,
            resource_group_name=resource_group_name,
            location=location,
            subnet=network.SubnetArgs(id=settings.subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=target.endpoint_name,
                    private_link_service_id=target.resource_id,
                    group_ids=[target.group_id],
                )
            ],
            tags=dict(tags),
            opts=child,
        )
        zones = settings.dns_zone_ids.model_dump()
        network.PrivateDnsZoneGroup(
            f"{target.name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=endpoint.name,
            resource_group_name=resource_group_name,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(name=zone, private_dns_zone_id=zones[zone])
                for zone in target.dns_zones
            ],
            opts=child,
        )
        self.id = endpoint.id
        self.register_outputs({"id": endpoint.id})


def private_endpoints(
    targets: Sequence[PrivateLinkTarget],
    *,
    settings: PrivateEndpoints | None,
    resource_group_name: pulumi.Input[str],
    location: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> list[PrivateEndpoint]:
    """One private endpoint per target when the environment has a private-endpoint subnet."""
    if settings is None:
        return []
    return [
        PrivateEndpoint(
            target,
            settings=settings,
            resource_group_name=resource_group_name,
            location=location,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for target in targets
    ]

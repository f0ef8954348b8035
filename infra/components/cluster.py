"""Compute clusters (AmlCompute) of a project's workspace: the GPU clusters of its file, and the
small CPU cluster that builds environment images when the container registry is private."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.config.models import ClusterConfig
from infra.skus import IMAGE_BUILD_VM_SIZE, require_sku

# Azure rejects in-place changes of these (azure-rest-api-specs#18889): replace instead, and since
# the compute name is fixed, delete the old cluster first.
_REPLACE_ON = ["properties.properties.vmSize", "properties.properties.vmPriority"]
# One node builds one image at a time; the size is in infra/skus.py (the guardrails read it too).
IMAGE_BUILD_MAX_NODES = 2


@dataclass(frozen=True)
class ClusterPlacement:
    """Where a cluster lives and how its nodes are reached: the same for every cluster of a project."""

    workspace_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    location: str
    public_ip: bool
    tags: dict[str, str]


def _compute(
    name: str,
    *,
    compute_name: str,
    vm_size: str,
    priority: str,
    min_nodes: int,
    max_nodes: int,
    idle_minutes: int,
    description: str,
    placement: ClusterPlacement,
    parent: pulumi.Resource,
) -> ml.Compute:
    # The Args classes default to a public node IP, "NotSpecified" SSH and min 0 nodes: every
    # security-relevant field is set here on purpose.
    return ml.Compute(
        name,
        compute_name=compute_name,
        workspace_name=placement.workspace_name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
        properties=ml.AmlComputeArgs(
            compute_type="AmlCompute",
            compute_location=placement.location,
            description=description,
            disable_local_auth=True,
            properties=ml.AmlComputePropertiesArgs(
                vm_size=vm_size,
                vm_priority=priority,
                os_type="Linux",
                enable_node_public_ip=placement.public_ip,
                remote_login_port_public_access="Disabled",
                isolated_network=False,
                scale_settings=ml.ScaleSettingsArgs(
                    min_node_count=min_nodes,
                    max_node_count=max_nodes,
                    node_idle_time_before_scale_down=f"PT{idle_minutes}M",
                ),
            ),
        ),
        tags=placement.tags,
        opts=pulumi.ResourceOptions(
            parent=parent, replace_on_changes=_REPLACE_ON, delete_before_replace=True
        ),
    )


class _Cluster(pulumi.ComponentResource):
    compute_name: pulumi.Output[str]
    id: pulumi.Output[str]
    principal_id: pulumi.Output[str]  # of its system-assigned identity, which its grants name

    def _expose(self, compute: ml.Compute) -> None:
        self.compute_name = compute.name
        self.id = compute.id
        self.principal_id = compute.identity.apply(lambda identity: identity.principal_id if identity else "")
        self.register_outputs({"compute_name": self.compute_name, "id": self.id})


class GpuCluster(_Cluster):
    """An autoscaling GPU cluster with its own system-assigned identity, no public IP where the
    network allows, and SSH always off."""

    def __init__(
        self,
        name: str,
        *,
        compute_name: str,
        cluster: ClusterConfig,
        placement: ClusterPlacement,
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("mlplatform:compute:GpuCluster", name, None, opts)
        sku = require_sku(cluster.vm_size)
        compute = _compute(
            name,
            compute_name=compute_name,
            vm_size=sku.name,
            priority=cluster.priority,
            min_nodes=cluster.min_nodes,
            max_nodes=cluster.max_nodes,
            idle_minutes=cluster.idle_minutes,
            description=cluster.description or f"{sku.gpus}x {sku.gpu_model} per node",
            placement=placement,
            parent=self,
        )
        self._expose(compute)


class ImageBuildCluster(_Cluster):
    """The CPU cluster named in the workspace's imageBuildCompute: scale to zero, dedicated."""

    def __init__(
        self, name: str, *, compute_name: str, placement: ClusterPlacement, opts: pulumi.ResourceOptions
    ) -> None:
        super().__init__("mlplatform:compute:ImageBuildCluster", name, None, opts)
        compute = _compute(
            name,
            compute_name=compute_name,
            vm_size=IMAGE_BUILD_VM_SIZE,
            priority="Dedicated",
            min_nodes=0,
            max_nodes=IMAGE_BUILD_MAX_NODES,
            idle_minutes=10,
            description="builds environment images (the container registry is private)",
            placement=placement,
            parent=self,
        )
        self._expose(compute)

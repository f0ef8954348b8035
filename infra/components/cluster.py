"""A GPU compute cluster (AmlCompute) of a project's workspace."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.config.models import ClusterConfig
from infra.skus import require_sku

# Azure rejects in-place changes of these (azure-rest-api-specs#18889): replace instead, and since
# the compute name is fixed, delete the old cluster first.
_REPLACE_ON = ["properties.properties.vmSize", "properties.properties.vmPriority"]


class GpuCluster(pulumi.ComponentResource):
    """An autoscaling GPU cluster with its own system-assigned identity, no public IP where the
    network allows, and SSH always off."""

    compute_name: pulumi.Output[str]
    id: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        compute_name: str,
        cluster: ClusterConfig,
        workspace_name: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        location: str,
        public_ip: bool,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("mlplatform:compute:GpuCluster", name, None, opts)
        sku = require_sku(cluster.vm_size)
        # The Args classes default to a public node IP, "NotSpecified" SSH and min 0 nodes: every
        # security-relevant field is set here on purpose.
        compute = ml.Compute(
            name,
            compute_name=compute_name,
            workspace_name=workspace_name,
            resource_group_name=resource_group_name,
            location=location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                compute_location=location,
                description=cluster.description or f"{sku.gpus}x {sku.gpu_model} per node",
                disable_local_auth=True,
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=sku.name,
                    vm_priority=cluster.priority,
                    os_type="Linux",
                    enable_node_public_ip=public_ip,
                    remote_login_port_public_access="Disabled",
                    isolated_network=False,
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=cluster.min_nodes,
                        max_node_count=cluster.max_nodes,
                        node_idle_time_before_scale_down=f"PT{cluster.idle_minutes}M",
                    ),
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, replace_on_changes=_REPLACE_ON, delete_before_replace=True
            ),
        )
        self.compute_name = compute.name
        self.id = compute.id
        self.principal_id = compute.identity.apply(lambda identity: identity.principal_id if identity else "")
        self.register_outputs({"compute_name": self.compute_name, "id": self.id})

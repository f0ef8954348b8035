"""Azure Resource Manager ids: the one shape for ids the program derives from deterministic names
(role-assignment names hash them) and for the ids the offline plan fakes. The two must agree."""

from __future__ import annotations

KEY_VAULT = "Microsoft.KeyVault/vaults"
CONTAINER_REGISTRY = "Microsoft.ContainerRegistry/registries"
USER_ASSIGNED_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"
ML_REGISTRY = "Microsoft.MachineLearningServices/registries"
ML_WORKSPACE = "Microsoft.MachineLearningServices/workspaces"
STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
PRIVATE_ENDPOINT = "Microsoft.Network/privateEndpoints"
APPLICATION_INSIGHTS = "Microsoft.Insights/components"


def group_id(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def resource_id(subscription: str, group: str, arm_type: str, name: str) -> str:
    return f"{group_id(subscription, group)}/providers/{arm_type}/{name}"


def child_id(parent_id: str, child_type: str, name: str) -> str:
    """A child resource (a workspace's compute, an endpoint's DNS zone group): `computes`, ..."""
    return f"{parent_id}/{child_type}/{name}"


def extension_id(scope: str, arm_type: str, name: str) -> str:
    """An extension resource on another resource's id (diagnostic setting, lock, role assignment)."""
    return f"{scope}/providers/{arm_type}/{name}"

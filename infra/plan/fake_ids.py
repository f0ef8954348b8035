"""Deterministic fake state for the offline plan: ARM-shaped resource ids and computed fields.

Ids have the real shape (the jobs layer builds compute ARM ids from them, and reviewers read them
in the plan), derived only from inputs, so every run gives the same bytes.
"""

from __future__ import annotations

import uuid
from typing import Any

from infra import arm

FAKE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
FAKE_TENANT = "00000000-0000-0000-0000-00000000beef"
FAKE_CLIENT = {
    "subscriptionId": FAKE_SUBSCRIPTION,
    "tenantId": FAKE_TENANT,
    "objectId": "00000000-0000-0000-0000-0000000c0de0",
    "clientId": "00000000-0000-0000-0000-0000000c11e0",
}

# token -> (ARM path below the resource group or scope, input naming the resource); scoped types
# hang below another resource's id given by a scope input.
_IN_GROUP: dict[str, tuple[str, str]] = {
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
    ),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:keyvault:Vault": (arm.KEY_VAULT, "vaultName"),
    "azure-native:containerregistry:Registry": (arm.CONTAINER_REGISTRY, "registryName"),
    "azure-native:managedidentity:UserAssignedIdentity": (arm.USER_ASSIGNED_IDENTITY, "resourceName"),
    "azure-native:machinelearningservices:Registry": (arm.ML_REGISTRY, "registryName"),
    "azure-native:machinelearningservices:Workspace": (arm.ML_WORKSPACE, "workspaceName"),
    "azure-native:storage:StorageAccount": (arm.STORAGE_ACCOUNT, "accountName"),
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "azure-native:insights:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
}
_SCOPED: dict[str, tuple[str, str, str]] = {
    "azure-native:monitor:DiagnosticSetting": (
        "resourceUri",
        "Microsoft.Insights/diagnosticSettings",
        "name",
    ),
    "azure-native:authorization:ManagementLockByScope": (
        "scope",
        "Microsoft.Authorization/locks",
        "lockName",
    ),
    "azure-native:authorization:RoleAssignment": (
        "scope",
        "Microsoft.Authorization/roleAssignments",
        "roleAssignmentName",
    ),
    "azure-native:consumption:Budget": ("scope", "Microsoft.Consumption/budgets", "budgetName"),
}


def fake_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _arm_id(token: str, logical_name: str, inputs: dict[str, Any]) -> tuple[str, str]:
    """(id, physical name) of a resource, shaped like Azure's."""
    group = str(inputs.get("resourceGroupName", "unknown"))

    def in_group(arm_type: str, name: str) -> str:
        return arm.resource_id(FAKE_SUBSCRIPTION, group, arm_type, name)

    if token == "azure-native:resources:ResourceGroup":
        name = str(inputs.get("resourceGroupName", logical_name))
        return arm.group_id(FAKE_SUBSCRIPTION, name), name
    if token == "azure-native:machinelearningservices:Compute":
        name = str(inputs.get("computeName", logical_name))
        workspace = in_group(arm.ML_WORKSPACE, str(inputs.get("workspaceName", "unknown")))
        return arm.child_id(workspace, "computes", name), name
    if token == "azure-native:network:PrivateDnsZoneGroup":
        name = str(inputs.get("privateDnsZoneGroupName", logical_name))
        endpoint = in_group(
            "Microsoft.Network/privateEndpoints", str(inputs.get("privateEndpointName", "unknown"))
        )
        return arm.child_id(endpoint, "privateDnsZoneGroups", name), name
    if token in _IN_GROUP:
        arm_type, name_input = _IN_GROUP[token]
        name = str(inputs.get(name_input, logical_name))
        return in_group(arm_type, name), name
    if token in _SCOPED:
        scope_input, arm_type, name_input = _SCOPED[token]
        name = str(inputs.get(name_input, logical_name))
        return arm.extension_id(str(inputs.get(scope_input, "")), arm_type, name), name
    module, kind = token.split(":")[1:3]
    return in_group(f"{module}/{kind}", logical_name), logical_name


def fake_state(token: str, logical_name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resource_id, name = _arm_id(token, logical_name, inputs)
    state: dict[str, Any] = {**inputs, "name": name, "id": resource_id}
    if token == "azure-native:managedidentity:UserAssignedIdentity":
        state["principalId"] = fake_uuid("principal", resource_id)
        state["clientId"] = fake_uuid("client", resource_id)
        state["tenantId"] = FAKE_TENANT
    identity = inputs.get("identity")
    if isinstance(identity, dict):
        state["identity"] = _identity_response(resource_id, identity)
    return resource_id, state


def _identity_response(resource_id: str, identity: dict[str, Any]) -> dict[str, Any]:
    """Azure answers a list of user-assigned identity ids with a map of id -> their principal."""
    response = dict(identity)
    if "SystemAssigned" in str(identity.get("type", "")):
        response["principalId"] = fake_uuid("principal", resource_id)
        response["tenantId"] = FAKE_TENANT
    user_assigned = identity.get("userAssignedIdentities")
    if isinstance(user_assigned, list):
        response["userAssignedIdentities"] = {
            str(uai): {
                "principalId": fake_uuid("principal", str(uai)),
                "clientId": fake_uuid("client", str(uai)),
            }
            for uai in user_assigned
        }
    return response

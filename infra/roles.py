"""Built-in Azure roles the platform grants, by name, and how role assignments are named.

azure-native has no lookup of a role definition by name (pulumi/pulumi-azure-native#610), so this
table is the one place role names become GUIDs. Role definition GUIDs are the same in every
subscription and cloud; the full id names the subscription of the scope it is assigned on.
Source: "Azure built-in roles" (learn.microsoft.com/azure/role-based-access-control/built-in-roles).

This module imports nothing heavy: configuration validation and the CLI read it.
"""

from __future__ import annotations

import re
import uuid

BUILTIN_ROLES: dict[str, str] = {
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Compute Operator": "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    "AzureML Registry User": "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    "AzureML Metrics Writer (preview)": "635dd51f-9968-44d3-b7fb-6d9a6bd613ae",
    "AzureML Workspace Connection Secrets Reader": "ea01e6af-a1c1-4350-9563-ad00f8c72ec5",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    # learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning
    "Azure AI Enterprise Network Connection Approver": "b556d68e-0be0-4f35-a333-ad7ee1ce17ea",
    # learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}
ROLE_NAMES: dict[str, str] = {guid: name for name, guid in BUILTIN_ROLES.items()}

# Roles that can change who has access, or everything: never granted to a project principal
# unless the environment lists an exception (`role_exceptions`) that the plan shows.
PRIVILEGED_ROLES: frozenset[str] = frozenset(
    {"Owner", "Contributor", "User Access Administrator", "Role Based Access Control Administrator"}
)

_SUBSCRIPTION = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})(?:/|$)")


def role_guid(role: str) -> str:
    # Configuration validation refuses unknown roles with the file and field, so a role reaching
    # here is in the table; a KeyError would be a bug of the program, not of a file.
    return BUILTIN_ROLES[role]


def subscription_of(scope: str) -> str:
    match = _SUBSCRIPTION.match(scope)
    if match is None:
        raise ValueError(f"{scope!r} is not a subscription-level scope (/subscriptions/<guid>/...)")
    return match.group(1)


def role_definition_id(role: str, scope: str) -> str:
    """The full role definition id, in the subscription of the scope it is assigned on."""
    return (
        f"/subscriptions/{subscription_of(scope)}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{role_guid(role)}"
    )


# A fixed namespace: the same (scope, principal, role) gives the same assignment name forever,
# which is what ARM's guid() gives templates. Changing it would rename (replace) every assignment.
_NAMESPACE = uuid.UUID("5b1c6e38-2f7a-5d0e-9c1b-6d3a0f4e8a21")


def assignment_name(scope: str, principal: str, role: str) -> str:
    """The role assignment's name (a GUID): derived from values known at plan time only.

    `principal` is an Entra object id for people and groups, and the ARM id of the resource that
    holds a managed identity (its principal id is unknown until the resource exists)."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{principal.lower()}|{role_guid(role)}"))

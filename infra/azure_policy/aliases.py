"""ARM types and policy aliases of the resources this program creates, and where each alias's
value is in the plan: the one table the Azure Policy evaluator reads.

An alias names an ARM property (`Microsoft.Storage/storageAccounts/minimumTlsVersion` is
`properties.minimumTlsVersion`); the plan holds the Pulumi inputs of azure-native, which flatten
`properties` for most types (storage, workspaces, registries) but not for Key Vault or compute,
and rename a few (`supportsHttpsTrafficOnly` is `enableHttpsTrafficOnly`). Each entry below
names the definition it was taken from: Azure/azure-policy, built-in-policies/policyDefinitions/.
An alias missing here is reported as unknown, never guessed (`az provider show --namespace
<ns> --expand "resourceTypes/aliases"` lists Azure's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Pulumi type token -> ARM resource type (the value of the `type` field).
ARM_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "azure-native:resources:ResourceGroup": "Microsoft.Resources/subscriptions/resourceGroups",
        "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
        "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults",
        "azure-native:containerregistry:Registry": "Microsoft.ContainerRegistry/registries",
        "azure-native:machinelearningservices:Workspace": "Microsoft.MachineLearningServices/workspaces",
        "azure-native:machinelearningservices:Compute": "Microsoft.MachineLearningServices/workspaces/computes",
        "azure-native:machinelearningservices:Registry": "Microsoft.MachineLearningServices/registries",
        "azure-native:managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
        "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
        "azure-native:network:PrivateEndpoint": "Microsoft.Network/privateEndpoints",
        "azure-native:network:PrivateDnsZoneGroup": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
        "azure-native:authorization:ManagementLockByScope": "Microsoft.Authorization/locks",
        "azure-native:monitor:DiagnosticSetting": "Microsoft.Insights/diagnosticSettings",
        "azure-native:consumption:Budget": "Microsoft.Consumption/budgets",
    }
)
# The input holding the resource's name, per type (the `name` field).
NAME_INPUTS: Mapping[str, str] = MappingProxyType(
    {
        "azure-native:resources:ResourceGroup": "resourceGroupName",
        "azure-native:storage:StorageAccount": "accountName",
        "azure-native:keyvault:Vault": "vaultName",
        "azure-native:containerregistry:Registry": "registryName",
        "azure-native:machinelearningservices:Workspace": "workspaceName",
        "azure-native:machinelearningservices:Compute": "computeName",
        "azure-native:machinelearningservices:Registry": "registryName",
        "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
        "azure-native:applicationinsights:Component": "resourceName",
        "azure-native:operationalinsights:Workspace": "workspaceName",
        "azure-native:network:PrivateEndpoint": "privateEndpointName",
        "azure-native:authorization:RoleAssignment": "roleAssignmentName",
        "azure-native:monitor:DiagnosticSetting": "name",
        "azure-native:consumption:Budget": "budgetName",
    }
)
# Mode `Indexed` evaluates only types that support tags and location (learn.microsoft.com/azure/
# governance/policy/concepts/definition-structure-basics, "Mode"); resource groups are `All` only.
INDEXED_TYPES: frozenset[str] = frozenset(
    {
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:containerregistry:Registry",
        "azure-native:machinelearningservices:Workspace",
        "azure-native:machinelearningservices:Compute",
        "azure-native:machinelearningservices:Registry",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:applicationinsights:Component",
        "azure-native:operationalinsights:Workspace",
        "azure-native:network:PrivateEndpoint",
    }
)


@dataclass(frozen=True)
class Alias:
    alias: str
    arm_path: str  # the ARM property, for people
    input_path: str  # where the plan has it: dotted, `[*]` for every element of an array
    source: str  # the built-in definition using it (file under built-in-policies/policyDefinitions)


_ML = "Microsoft.MachineLearningServices/workspaces"
_ALIASES: tuple[Alias, ...] = (
    Alias(f"{_ML}/publicNetworkAccess", "properties.publicNetworkAccess", "publicNetworkAccess",
          "Machine Learning/Workspace_PublicNetworkAccessDisabled_Modify.json"),
    Alias(f"{_ML}/managedNetwork.isolationMode", "properties.managedNetwork.isolationMode",
          "managedNetwork.isolationMode", "Machine Learning/ManagedNetworkIsolationMode_Audit.json"),
    Alias(f"{_ML}/v1LegacyMode", "properties.v1LegacyMode", "v1LegacyMode",
          "Machine Learning/Workspace_EnableV1LegacyMode_Audit.json"),
    Alias(f"{_ML}/encryption.status", "properties.encryption.status", "encryption.status",
          "Machine Learning/Workspace_CMKEnabled_Audit.json"),
    Alias(f"{_ML}/primaryUserAssignedIdentity", "properties.primaryUserAssignedIdentity",
          "primaryUserAssignedIdentity", "Machine Learning/Workspace_UAIEnabled_Audit.json"),
    Alias(f"{_ML}/computes/computeType", "properties.computeType", "properties.computeType",
          "Machine Learning/MachineLearningServices_Vnet_Audit.json"),
    Alias(f"{_ML}/computes/disableLocalAuth", "properties.disableLocalAuth", "properties.disableLocalAuth",
          "Machine Learning/MachineLearningServices_DisableLocalAuth_Audit.json"),
    Alias(f"{_ML}/computes/subnet.id", "properties.properties.subnet.id", "properties.properties.subnet.id",
          "Machine Learning/MachineLearningServices_Vnet_Audit.json"),
    Alias("Microsoft.Storage/storageAccounts/supportsHttpsTrafficOnly", "properties.supportsHttpsTrafficOnly",
          "enableHttpsTrafficOnly", "Storage/Storage_AuditForHTTPSEnabled_Audit.json"),
    Alias("Microsoft.Storage/storageAccounts/minimumTlsVersion", "properties.minimumTlsVersion",
          "minimumTlsVersion", "Storage/StorageAccountMinimumTLSVersion_Audit.json"),
    Alias("Microsoft.Storage/storageAccounts/allowBlobPublicAccess", "properties.allowBlobPublicAccess",
          "allowBlobPublicAccess", "Storage/ASC_Storage_DisallowPublicBlobAccess_Audit.json"),
    Alias("Microsoft.Storage/storageAccounts/allowSharedKeyAccess", "properties.allowSharedKeyAccess",
          "allowSharedKeyAccess", "Storage/StorageAccountAllowSharedKeyAccess_Audit.json"),
    Alias("Microsoft.KeyVault/vaults/enableRbacAuthorization", "properties.enableRbacAuthorization",
          "properties.enableRbacAuthorization", "Key Vault/AzureKeyVault_Should_Use_RBAC.json"),
    Alias("Microsoft.ContainerRegistry/registries/adminUserEnabled", "properties.adminUserEnabled",
          "adminUserEnabled", "Container Registry/ACR_AdminAccountDisabled_AuditDeny.json"),
)  # fmt: skip
_PE = "Microsoft.Network/privateEndpoints/privateLinkServiceConnections[*]"
_ALIASES += (
    Alias(_PE, "properties.privateLinkServiceConnections[*]", "privateLinkServiceConnections[*]",
          "Storage/StoragePrivateDnsZoneGroup_Blob.json (the count over group ids)"),
    Alias(f"{_PE}.groupIds[*]", "properties.privateLinkServiceConnections[*].properties.groupIds[*]",
          "privateLinkServiceConnections[*].groupIds[*]", "Storage/StoragePrivateDnsZoneGroup_Blob.json"),
)  # fmt: skip
ALIASES: Mapping[str, Alias] = MappingProxyType({alias.alias.lower(): alias for alias in _ALIASES})

# Fields every resource has (learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule,
# "Fields"); `tags['x']`, `tags.x` and `tags[x]` are handled by the evaluator.
TOP_LEVEL_FIELDS = frozenset({"name", "type", "location", "kind", "id", "tags", "identity.type"})


def lookup(alias: str) -> Alias | None:
    return ALIASES.get(alias.lower())

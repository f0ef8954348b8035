"""Which input changes make pulumi-azure-native replace a resource instead of updating it.

The one table of it, for every resource type the program creates. The plan diff reads it; no
other module knows which properties force a new resource.

How the provider decides (pulumi/pulumi-azure-native, read at the sources named here):

* `provider/pkg/provider/diff.go`, `calculateDetailedDiff`: every PUT parameter with
  `Location == "path"` forces a replacement (the parameters that build the ARM id: resource group,
  account/vault/workspace/registry name, scope, ...), and so does every body property whose
  metadata says `ForceNew` (top level, or one level down in an object or array-of-objects type).
  A change below a force-new property is a replacement too (`UPDATE_REPLACE` for children).
* `provider/pkg/gen/properties.go`, `forceNew`: a body property is `ForceNew` when the Azure REST
  spec's `x-ms-mutability` lists `create` but not `update`, or when `forceNewMap` names it.
* `provider/pkg/gen/replacement.go`, `forceNewMap`: the hand-kept list. For the types here it
  names `Storage/StorageAccount: isHnsEnabled, location`, `Resources/ResourceGroup: location`,
  `Authorization/RoleAssignment: principalId, scope` and `Network/PrivateEndpoint: subnet`.
* `location` of every tracked resource: Azure's common `TrackedResource` definition
  (Azure/azure-rest-api-specs `specification/common-types/resource-management/v5/types.json`)
  declares it `x-ms-mutability: ["read", "create"]`, and the ARM resource-provider contract
  (RPC-Put-V1-14, spec linter rule `LocationMustHaveXmsMutability`) requires that of every tracked
  resource, so `forceNew` above marks it. Marked `location` below for that reason unless
  `forceNewMap` already names it; the spec of each service was not read one by one.

Path parameters are the placeholders of each type's ARM id as the Pulumi registry's "Import"
section shows it (www.pulumi.com/registry/packages/azure-native/api-docs/<module>/<type>/), e.g.
`/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/
Microsoft.MachineLearningServices/workspaces/{workspaceName}`; `subscriptionId` comes from the
provider, not from inputs, so it is not listed.

`replace_on_changes` of the program's own resource options adds to this (Pulumi's engine,
`pkg/resource/deploy/step_generator.go`), and `infra/plan/diff.py` reads it from each resource.

A type the table does not know is diffed with a visible warning and the conservative rule below
(`resourceGroupName`, `location` and every input ending in `Name` force a replacement);
`tests/infra/test_plan_force_new.py` fails as soon as the program creates such a type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ForceNew:
    """Input paths (dotted, as the plan records inputs) that force a replacement when they change."""

    path: tuple[str, ...]
    body: tuple[str, ...] = ()
    source: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.path + self.body


_IN_GROUP = "resourceGroupName"
_MUTABILITY = "location: x-ms-mutability [read, create] (ARM RPC-Put-V1-14)"

FORCE_NEW: Mapping[str, ForceNew] = MappingProxyType(
    {
        "azure-native:resources:ResourceGroup": ForceNew(
            (_IN_GROUP,), ("location",), "forceNewMap Resources/ResourceGroup: location"
        ),
        "azure-native:storage:StorageAccount": ForceNew(
            (_IN_GROUP, "accountName"),
            ("isHnsEnabled", "location"),
            "forceNewMap Storage/StorageAccount: isHnsEnabled, location",
        ),
        "azure-native:keyvault:Vault": ForceNew((_IN_GROUP, "vaultName"), ("location",), _MUTABILITY),
        "azure-native:containerregistry:Registry": ForceNew(
            (_IN_GROUP, "registryName"), ("location",), _MUTABILITY
        ),
        "azure-native:managedidentity:UserAssignedIdentity": ForceNew(
            (_IN_GROUP, "resourceName"), ("location",), _MUTABILITY
        ),
        "azure-native:operationalinsights:Workspace": ForceNew(
            (_IN_GROUP, "workspaceName"), ("location",), _MUTABILITY
        ),
        "azure-native:applicationinsights:Component": ForceNew(
            (_IN_GROUP, "resourceName"), ("location",), _MUTABILITY
        ),
        "azure-native:machinelearningservices:Workspace": ForceNew(
            (_IN_GROUP, "workspaceName"), ("location",), _MUTABILITY
        ),
        "azure-native:machinelearningservices:Registry": ForceNew(
            (_IN_GROUP, "registryName"), ("location",), _MUTABILITY
        ),
        "azure-native:machinelearningservices:Compute": ForceNew(
            (_IN_GROUP, "workspaceName", "computeName"), ("location",), _MUTABILITY
        ),
        "azure-native:network:PrivateEndpoint": ForceNew(
            (_IN_GROUP, "privateEndpointName"),
            ("location", "subnet"),
            "forceNewMap Network/PrivateEndpoint: subnet; " + _MUTABILITY,
        ),
        "azure-native:network:PrivateDnsZoneGroup": ForceNew(
            (_IN_GROUP, "privateEndpointName", "privateDnsZoneGroupName"), (), "path parameters only"
        ),
        "azure-native:monitor:DiagnosticSetting": ForceNew(
            ("resourceUri", "name"), (), "path parameters only"
        ),
        "azure-native:authorization:ManagementLockByScope": ForceNew(
            ("scope", "lockName"), (), "path parameters only"
        ),
        "azure-native:authorization:RoleAssignment": ForceNew(
            ("scope", "roleAssignmentName"),
            ("principalId",),
            "forceNewMap Authorization/RoleAssignment: principalId, scope",
        ),
        "azure-native:consumption:Budget": ForceNew(("scope", "budgetName"), (), "path parameters only"),
    }
)


def is_component(type_: str) -> bool:
    """Component resources (the program's own types) have no provider: they are never replaced for
    their inputs, which are empty."""
    return not type_.startswith("azure-native:")


def force_new_for(type_: str, input_names: tuple[str, ...] = ()) -> tuple[ForceNew, bool]:
    """The rule for `type_` and whether it comes from the table (False: the conservative fallback)."""
    known = FORCE_NEW.get(type_)
    if known is not None:
        return known, True
    if is_component(type_):
        return ForceNew(()), True
    names = tuple(sorted(name for name in input_names if name.endswith("Name") or name == "location"))
    return ForceNew(names, (), "not in infra/plan/force_new.py: assumed"), False


def forces_replacement(rule: ForceNew, path: str) -> bool:
    """Whether a change at the dotted input `path` is a replacement: the path is a force-new input
    or lies below one (diff.go marks the children of a force-new property UPDATE_REPLACE)."""
    return any(path == key or path.startswith(f"{key}.") or path.startswith(f"{key}[") for key in rule.inputs)

"""Every guardrail: resource rules (one planned resource) and stack rules (the whole plan).

Each rule has a name, a description saying how to fix a violation, a default enforcement level an
environment may override (`policy.overrides` of its stack file, with a reason), and its source:
PSRule for Azure's Azure.ML rules (github.com/Azure/PSRule.Rules.Azure,
src/PSRule.Rules.Azure/rules/Azure.ML.Rule.yaml), Azure's built-in Machine Learning policy
definitions (github.com/Azure/azure-policy, built-in-policies/policyDefinitions/Machine Learning),
or this platform's own. A check returns messages; it never judges a value the plan does not know
yet (`is_unknown`): an id or principal id of a resource still to be created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.guardrails import prices
from infra.guardrails.context import GuardrailContext, without_subscription
from infra.guardrails.core import Level, PlannedResource, is_unknown
from infra.model.network import REGISTRY_SUBRESOURCE
from infra.roles import PRIVILEGED_ROLES, ROLE_NAMES

# Pulumi type tokens of the resources the program creates.
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
STORAGE = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
BUDGET = "azure-native:consumption:Budget"
PROJECT = "mlplatform:project:Project"
TAGGABLE = frozenset(
    {
        RESOURCE_GROUP,
        WORKSPACE,
        COMPUTE,
        ML_REGISTRY,
        STORAGE,
        KEY_VAULT,
        CONTAINER_REGISTRY,
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:applicationinsights:Component",
        "azure-native:operationalinsights:Workspace",
        PRIVATE_ENDPOINT,
    }
)
# What the program protects in production (infra/components: `protect=env.production`): data and
# the identity of what other stacks and people point at.
STATEFUL = frozenset({WORKSPACE, ML_REGISTRY, STORAGE, KEY_VAULT, CONTAINER_REGISTRY})

PSRULE = "PSRule for Azure"
BUILTIN = "Azure built-in policy"
PLATFORM = "platform"

ResourceCheck = Callable[[PlannedResource, GuardrailContext], Iterable[str]]
# A stack check yields (URN of the resource at fault, or "" for the stack, message).
StackCheck = Callable[[Sequence[PlannedResource], GuardrailContext], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str  # what the rule wants and how to fix a violation
    level: Level
    types: frozenset[str]
    check: ResourceCheck
    source: str = PLATFORM


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    level: Level
    check: StackCheck
    source: str = PLATFORM


def _is(value: Any, expected: Any) -> bool:
    """Unknown values pass: the rule judges them when they are known (the next plan)."""
    return is_unknown(value) or value == expected


def _in_project(urn: str) -> bool:
    return f"{PROJECT}$" in urn


# --- Machine Learning workspaces ---------------------------------------------------------------


def _workspace_public(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # PSRule Azure.ML.PublicAccess: publicNetworkAccess Disabled and no allowPublicAccessWhenBehindVnet.
    if not _is(r.get("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.get('publicNetworkAccess')!r}, not 'Disabled'"
    if r.get("allowPublicAccessWhenBehindVnet") is True:
        yield "allowPublicAccessWhenBehindVnet is true"


def _workspace_identity(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # PSRule Azure.ML.UserManagedIdentity; built-in 5f0c7d88 (primaryUserAssignedIdentity).
    kind = r.get("identity.type")
    if not is_unknown(kind) and "UserAssigned" not in str(kind or ""):
        yield f"identity.type is {kind or 'unset'!r}, not UserAssigned"
    if not r.get("identity.userAssignedIdentities"):  # an unknown value is a (truthy) marker
        yield "identity.userAssignedIdentities is empty"
    if not r.get("primaryUserAssignedIdentity"):
        yield "primaryUserAssignedIdentity is unset"


def _workspace_managed_network(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # Built-in 6ddb1705 (managedNetwork.isolationMode); production only approved outbound.
    mode = r.get("managedNetwork.isolationMode")
    if is_unknown(mode):
        return
    wanted = (
        ("AllowOnlyApprovedOutbound",)
        if c.production
        else ("AllowInternetOutbound", "AllowOnlyApprovedOutbound")
    )
    if mode not in wanted:
        yield f"managedNetwork.isolationMode is {mode or 'unset'!r}; allowed here: {', '.join(wanted)}"


def _workspace_v1(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if r.get("v1LegacyMode") is True:
        yield "v1LegacyMode is true"


def _workspace_cmk(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # Built-in ba769a63 (encryption.status Enabled), where the environment requires it.
    if c.require_customer_managed_keys and not _is(r.get("encryption.status"), "Enabled"):
        yield f"encryption.status is {r.get('encryption.status') or 'unset'!r}, not 'Enabled'"


# --- compute clusters -------------------------------------------------------------------------

_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def _minutes(duration: str) -> float | None:
    match = _DURATION.match(duration)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 60 + minutes + seconds / 60


def _aml(r: PlannedResource, path: str) -> Any:
    return r.get(f"properties.properties.{path}")


def _is_cluster(r: PlannedResource) -> bool:
    """Cluster rules judge AmlCompute (what the program creates); other compute types have
    other settings (a compute instance has no scale settings)."""
    kind = r.get("properties.computeType")
    return kind == "AmlCompute" or is_unknown(kind)


def _cluster(check: ResourceCheck) -> ResourceCheck:
    def only_clusters(r: PlannedResource, c: GuardrailContext) -> Iterable[str]:
        return check(r, c) if _is_cluster(r) else ()

    return only_clusters


def _instance_idle_shutdown(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # PSRule Azure.ML.ComputeIdleShutdown; built-in IdleShutdown_Audit.
    if r.get("properties.computeType") == "ComputeInstance" and not _aml(r, "idleTimeBeforeShutdown"):
        yield "a compute instance without idleTimeBeforeShutdown runs (and bills) until stopped"


def _compute_local_auth(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # PSRule Azure.ML.DisableLocalAuth; built-in e96a9a5f.
    if not _is(r.get("properties.disableLocalAuth"), True):
        yield f"properties.disableLocalAuth is {r.get('properties.disableLocalAuth')!r}, not true"


def _compute_public_ip(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if not _is(_aml(r, "enableNodePublicIp"), False):
        yield f"enableNodePublicIp is {_aml(r, 'enableNodePublicIp')!r} (nodes get public IPs)"


def _compute_ssh(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if not _is(_aml(r, "remoteLoginPortPublicAccess"), "Disabled"):
        yield f"remoteLoginPortPublicAccess is {_aml(r, 'remoteLoginPortPublicAccess')!r}, not 'Disabled'"


def _compute_scale_to_zero(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if not _is(_aml(r, "scaleSettings.minNodeCount"), 0):
        yield f"minNodeCount is {_aml(r, 'scaleSettings.minNodeCount')!r}: nodes run (and bill) when idle"


def _compute_idle(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    value = _aml(r, "scaleSettings.nodeIdleTimeBeforeScaleDown")
    if is_unknown(value):
        return
    minutes = _minutes(str(value)) if value else None
    if minutes is None:
        yield f"nodeIdleTimeBeforeScaleDown is {value!r}, not an ISO 8601 duration such as PT30M"
    elif minutes > c.max_idle_minutes:
        yield f"nodes idle {minutes:g} minutes before scaling down; the limit here is {c.max_idle_minutes}"


def _compute_vm_size(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    size = _aml(r, "vmSize")
    if is_unknown(size):
        return
    if str(size).lower() not in c.allowed_vm_sizes:
        yield f"vmSize {size!r} is not allowed in environment {c.stack}"


# --- storage, Key Vault, container registry, ML registry ----------------------------------------


def _storage(field: str, expected: Any) -> ResourceCheck:
    def check(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
        if not _is(r.get(field), expected):
            yield f"{field} is {r.get(field)!r}, not {expected!r}"

    return check


def _storage_tls(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    value = r.get("minimumTlsVersion")
    if not is_unknown(value) and value not in ("TLS1_2", "TLS1_3"):
        yield f"minimumTlsVersion is {value or 'unset (TLS1_0)'!r}"


def _vault(field: str) -> ResourceCheck:
    def check(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
        if not _is(r.get(f"properties.{field}"), True):
            yield f"properties.{field} is {r.get(f'properties.{field}')!r}, not true"

    return check


def _acr_admin(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if r.get("adminUserEnabled") is True:
        yield "adminUserEnabled is true (a shared admin password)"


def _acr_private(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if not c.production:
        return
    if not _is(r.get("sku.name"), "Premium"):
        yield f"sku.name is {r.get('sku.name')!r}; only Premium can disable public access"
    if not _is(r.get("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.get('publicNetworkAccess')!r}, not 'Disabled'"


def _ml_registry_public(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if c.registry_public:
        return  # the environment opens it on purpose (registry.create.public_network_access)
    if not _is(r.get("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.get('publicNetworkAccess')!r}, not 'Disabled'"


# --- role assignments, tags, protect -----------------------------------------------------------


def _principal_type(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    # Without it, ARM looks the principal up in Entra ID, which fails for a new identity
    # (replication delay): the assignment then fails or lands late.
    if not r.get("principalType"):
        yield "principalType is unset"


def _role_name(r: PlannedResource) -> str | None:
    definition = r.get("roleDefinitionId")
    if not isinstance(definition, str) or is_unknown(definition):
        return None
    return ROLE_NAMES.get(definition.rsplit("/", 1)[-1].lower())


def _privileged(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    role = _role_name(r)
    principal = r.get("principalId")
    if role not in PRIVILEGED_ROLES or not isinstance(principal, str) or is_unknown(principal):
        return
    projects = c.project_principals.get(principal.lower())
    if not projects:
        return  # a managed identity of the platform, not a project's principal
    if any((project, principal.lower(), role) in c.role_exceptions for project in projects):
        return
    yield (
        f"{role} (privileged) to {principal}, a principal of {', '.join(sorted(projects))}, with no "
        "exception in role_exceptions"
    )


def _tags(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    tags = r.get("tags")
    if is_unknown(tags):
        return
    present = {str(k).lower() for k, v in (tags or {}).items() if v}
    wanted = [*c.required_tags, *(["project"] if _in_project(r.urn) else [])]
    missing = [tag for tag in wanted if tag not in present]
    if missing:
        yield f"missing tags: {', '.join(missing)}"


def _protected(r: PlannedResource, c: GuardrailContext) -> Iterator[str]:
    if c.production and not r.protect:
        yield "a stateful production resource without `protect`"


RESOURCE_RULES: tuple[ResourceRule, ...] = (
    ResourceRule(
        "ml-workspace-public-network",
        "Workspaces accept no public traffic: set publicNetworkAccess Disabled (the environment's "
        "network.public_network_access: false) and reach them through private endpoints.",
        Level.MANDATORY,
        frozenset({WORKSPACE}),
        _workspace_public,
        f"{PSRULE} Azure.ML.PublicAccess",
    ),
    ResourceRule(
        "ml-workspace-user-assigned-identity",
        "Workspaces use a user-assigned primary identity: identity.type UserAssigned, the identity in "
        "userAssignedIdentities and primaryUserAssignedIdentity (infra/components/project.py).",
        Level.MANDATORY,
        frozenset({WORKSPACE}),
        _workspace_identity,
        f"{PSRULE} Azure.ML.UserManagedIdentity; {BUILTIN} 5f0c7d88-c7de-45b8-ac49-db49e72eaa78",
    ),
    ResourceRule(
        "ml-workspace-managed-network",
        "Workspaces run in a managed network: isolation_mode AllowInternetOutbound, or "
        "AllowOnlyApprovedOutbound (required in production), in the environment's network settings.",
        Level.MANDATORY,
        frozenset({WORKSPACE}),
        _workspace_managed_network,
        f"{BUILTIN} 6ddb1705-c8cf-450e-aa4b-19ad6703c440",
    ),
    ResourceRule(
        "ml-workspace-no-v1-legacy-mode",
        "Workspaces use the v2 API platform: leave v1LegacyMode unset (the built-in e413671a audits "
        "the opposite, for v1 network isolation; this platform isolates with managed networks).",
        Level.MANDATORY,
        frozenset({WORKSPACE}),
        _workspace_v1,
        f"{BUILTIN} e413671a-dd10-4cc1-a943-45b598596cb7 (inverted)",
    ),
    ResourceRule(
        "ml-workspace-customer-managed-key",
        "Where the environment sets policy.require_customer_managed_keys, workspaces are encrypted with "
        "a customer-managed key (encryption.status Enabled, a Key Vault key).",
        Level.MANDATORY,
        frozenset({WORKSPACE}),
        _workspace_cmk,
        f"{BUILTIN} ba769a63-b8cc-4b2d-abf6-ac33c7204be8",
    ),
    ResourceRule(
        "ml-compute-local-auth-off",
        "Clusters accept Entra ID only: set properties.disableLocalAuth true.",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _compute_local_auth,
        f"{PSRULE} Azure.ML.DisableLocalAuth; {BUILTIN} e96a9a5f-07ca-471b-9bc5-6a0f33cbd68f",
    ),
    ResourceRule(
        "ml-compute-no-public-ip",
        "Cluster nodes get no public IP: enableNodePublicIp false (needs a managed network: "
        "isolation_mode other than Disabled).",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _cluster(_compute_public_ip),
    ),
    ResourceRule(
        "ml-compute-ssh-off",
        "SSH to cluster nodes is closed: remoteLoginPortPublicAccess Disabled.",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _cluster(_compute_ssh),
    ),
    ResourceRule(
        "ml-compute-scale-to-zero",
        "Clusters scale to zero when idle: set min_nodes 0 in the project file.",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _cluster(_compute_scale_to_zero),
    ),
    ResourceRule(
        "ml-compute-idle-time",
        "Idle nodes scale down within the environment's limit (policy.max_idle_minutes): lower "
        "idle_minutes of the cluster.",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _cluster(_compute_idle),
    ),
    ResourceRule(
        "ml-compute-vm-size",
        "Clusters use a VM size allowed in the environment (policy.allowed_vm_sizes, default: the sizes "
        "of the families with gpu_quota): pick one of those or ask the platform team.",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _cluster(_compute_vm_size),
    ),
    ResourceRule(
        "ml-compute-instance-idle-shutdown",
        "Compute instances shut down when idle: set idleTimeBeforeShutdown (e.g. PT60M).",
        Level.MANDATORY,
        frozenset({COMPUTE}),
        _instance_idle_shutdown,
        f"{PSRULE} Azure.ML.ComputeIdleShutdown; {BUILTIN} IdleShutdown_Audit (Machine Learning)",
    ),
    ResourceRule(
        "storage-https-only",
        "Storage accepts HTTPS only: enableHttpsTrafficOnly true.",
        Level.MANDATORY,
        frozenset({STORAGE}),
        _storage("enableHttpsTrafficOnly", True),
    ),
    ResourceRule(
        "storage-tls-1-2",
        "Storage refuses TLS below 1.2: minimumTlsVersion TLS1_2.",
        Level.MANDATORY,
        frozenset({STORAGE}),
        _storage_tls,
    ),
    ResourceRule(
        "storage-no-blob-public-access",
        "No anonymous blob access: allowBlobPublicAccess false.",
        Level.MANDATORY,
        frozenset({STORAGE}),
        _storage("allowBlobPublicAccess", False),
    ),
    ResourceRule(
        "storage-shared-key-off",
        "Storage accepts Entra ID only: allowSharedKeyAccess false.",
        Level.MANDATORY,
        frozenset({STORAGE}),
        _storage("allowSharedKeyAccess", False),
    ),
    ResourceRule(
        "key-vault-rbac",
        "Key Vault access is Azure RBAC, not access policies: properties.enableRbacAuthorization true.",
        Level.MANDATORY,
        frozenset({KEY_VAULT}),
        _vault("enableRbacAuthorization"),
    ),
    ResourceRule(
        "key-vault-purge-protection",
        "Deleted keys and secrets cannot be purged early: properties.enablePurgeProtection true.",
        Level.MANDATORY,
        frozenset({KEY_VAULT}),
        _vault("enablePurgeProtection"),
    ),
    ResourceRule(
        "container-registry-admin-off",
        "No admin user on container registries: adminUserEnabled false (identities pull with AcrPull).",
        Level.MANDATORY,
        frozenset({CONTAINER_REGISTRY}),
        _acr_admin,
    ),
    ResourceRule(
        "container-registry-private-premium",
        "In production, container registries are Premium with public access disabled "
        "(container_registry.sku Premium or unset, network.public_network_access false).",
        Level.MANDATORY,
        frozenset({CONTAINER_REGISTRY}),
        _acr_private,
    ),
    ResourceRule(
        "ml-registry-public-network",
        "The ML registry accepts no public traffic unless the environment opens it "
        "(registry.create.public_network_access): workspaces reach it through private endpoints.",
        Level.MANDATORY,
        frozenset({ML_REGISTRY}),
        _ml_registry_public,
    ),
    ResourceRule(
        "role-assignment-principal-type",
        "Role assignments name their principal's type (User, Group, ServicePrincipal): set principalType.",
        Level.MANDATORY,
        frozenset({ROLE_ASSIGNMENT}),
        _principal_type,
    ),
    ResourceRule(
        "role-assignment-privileged",
        f"No privileged role ({', '.join(sorted(PRIVILEGED_ROLES))}) to a project principal without an "
        "exception (project, object_id, role, reason) in the environment's role_exceptions.",
        Level.MANDATORY,
        frozenset({ROLE_ASSIGNMENT}),
        _privileged,
    ),
    ResourceRule(
        "required-tags",
        "Every taggable resource carries owner, cost-center, environment and managed-by, and a "
        "project's resources also project (infra/components/interfaces.py `tags`).",
        Level.MANDATORY,
        TAGGABLE,
        _tags,
    ),
    ResourceRule(
        "protect-stateful-production",
        "In production, workspaces, registries, storage and Key Vaults are created with `protect` "
        "(pulumi.ResourceOptions(protect=True)).",
        Level.MANDATORY,
        STATEFUL,
        _protected,
    ),
)


# --- stack rules ----------------------------------------------------------------------------------


def _by_urn(resources: Sequence[PlannedResource]) -> dict[str, PlannedResource]:
    return {r.urn: r for r in resources}


def project_of(resource: PlannedResource, by_urn: Mapping[str, PlannedResource]) -> str | None:
    """The name of the project component the resource is under, if any."""
    node: PlannedResource | None = resource
    while node is not None:
        if node.type == PROJECT:
            return node.name
        node = by_urn.get(node.parent)
    return None


def _workspace_diagnostics(
    resources: Sequence[PlannedResource], c: GuardrailContext
) -> Iterator[tuple[str, str]]:
    # Built-in "Resource logs in Azure Machine Learning Workspaces should be enabled" (AuditDiagnosticLog).
    settings = [r for r in resources if r.type == DIAGNOSTIC_SETTING]
    for workspace in (r for r in resources if r.type == WORKSPACE):
        name = str(workspace.get("workspaceName") or "").lower()
        found = any(
            workspace.urn in s.property_dependencies.get("resourceUri", ())
            or str(s.get("resourceUri") or "").lower().endswith(f"/workspaces/{name}")
            for s in settings
        )
        if not found:
            yield workspace.urn, "no diagnostic setting sends the workspace's logs to Log Analytics"


def _workspace_private_endpoint(
    resources: Sequence[PlannedResource], c: GuardrailContext
) -> Iterator[tuple[str, str]]:
    # Built-in "Azure Machine Learning workspaces should use private link" (40cec1dd): a workspace
    # closed to public traffic is reachable only through a private endpoint of its own.
    endpoints = [r for r in resources if r.type == PRIVATE_ENDPOINT]
    for workspace in (r for r in resources if r.type == WORKSPACE):
        if workspace.get("publicNetworkAccess") != "Disabled":
            continue  # public (ml-workspace-public-network judges that) or unknown
        name = str(workspace.get("workspaceName") or "").lower()
        found = any(
            workspace.urn in e.property_dependencies.get("privateLinkServiceConnections", ())
            or any(
                isinstance(connection, Mapping)
                and str(connection.get("privateLinkServiceId") or "").lower().endswith(f"/workspaces/{name}")
                and "amlworkspace" in (connection.get("groupIds") or [])
                for connection in (e.get("privateLinkServiceConnections") or [])
            )
            for e in endpoints
        )
        if not found:
            yield (
                workspace.urn,
                "public network access is disabled and no private endpoint (amlworkspace) reaches it",
            )


def _registry_path(resources: Sequence[PlannedResource], c: GuardrailContext) -> Iterator[tuple[str, str]]:
    for workspace in (r for r in resources if r.type == WORKSPACE):
        mode = workspace.get("managedNetwork.isolationMode")
        rules = workspace.get("managedNetwork.outboundRules") or {}
        if is_unknown(mode) or is_unknown(rules):
            continue
        private = mode not in (None, "Disabled") and any(
            isinstance(rule, Mapping)
            and rule.get("type") == "PrivateEndpoint"
            and isinstance(rule.get("destination"), Mapping)
            and rule["destination"].get("subresourceTarget") == REGISTRY_SUBRESOURCE
            and (
                is_unknown(rule["destination"].get("serviceResourceId"))
                or without_subscription(str(rule["destination"].get("serviceResourceId"))) == c.registry_id
            )
            for rule in (rules.values() if isinstance(rules, Mapping) else [])
        )
        if not private and not c.registry_public:
            yield (
                workspace.urn,
                (
                    "no network path to the ML registry: no managed-network private endpoint to it and the "
                    "registry is not public"
                ),
            )


def _projects(resources: Sequence[PlannedResource]) -> list[PlannedResource]:
    return [r for r in resources if r.type == PROJECT]


def _budgets(resources: Sequence[PlannedResource]) -> dict[str, PlannedResource]:
    by_urn = _by_urn(resources)
    found = {}
    for budget in (r for r in resources if r.type == BUDGET):
        project = project_of(budget, by_urn)
        if project is not None:
            found[project] = budget
    return found


def _project_budget(resources: Sequence[PlannedResource], c: GuardrailContext) -> Iterator[tuple[str, str]]:
    budgets = _budgets(resources)
    for project in _projects(resources):
        if project.name not in budgets:
            yield project.urn, f"project {project.name} has no budget"


@dataclass(frozen=True)
class ClusterCost:
    project: str
    cluster: str
    vm_size: str
    max_nodes: int
    hourly: float | None

    def monthly(self, hours: int) -> float | None:
        return None if self.hourly is None else self.max_nodes * hours * self.hourly


def cluster_costs(resources: Sequence[PlannedResource]) -> list[ClusterCost]:
    by_urn = _by_urn(resources)
    costs = []
    for compute in (r for r in resources if r.type == COMPUTE):
        size, nodes = _aml(compute, "vmSize"), _aml(compute, "scaleSettings.maxNodeCount")
        project = project_of(compute, by_urn)
        if project is None or not isinstance(size, str) or not isinstance(nodes, int):
            continue
        name = str(compute.get("computeName") or compute.name)
        costs.append(ClusterCost(project, name, size, nodes, prices.hourly_price(size)))
    return sorted(costs, key=lambda cost: (cost.project, cost.cluster))


def cost_lines(resources: Sequence[PlannedResource], c: GuardrailContext) -> list[str]:
    """Worst-case monthly cluster cost per project against its budget, for the plan."""
    budgets = _budgets(resources)
    lines = [f"{c.gpu_hours_per_month} h a month at max nodes; {prices.source_note()}"]
    by_project: dict[str, list[ClusterCost]] = {}
    for cost in cluster_costs(resources):
        by_project.setdefault(cost.project, []).append(cost)
    for project, costs in sorted(by_project.items()):
        parts = [
            f"{k.cluster} {k.max_nodes} x {k.vm_size} = "
            + (f"{k.monthly(c.gpu_hours_per_month):,.0f}" if k.hourly is not None else "no price")
            for k in costs
        ]
        total = sum(k.monthly(c.gpu_hours_per_month) or 0 for k in costs)
        amount = budgets[project].get("amount") if project in budgets else None
        against = f" against a budget of {amount:,.0f}" if isinstance(amount, int | float) else " (no budget)"
        lines.append(f"{project}: {total:,.0f}{against} ({'; '.join(parts)})")
    return lines


def _gpu_cost(resources: Sequence[PlannedResource], c: GuardrailContext) -> Iterator[tuple[str, str]]:
    budgets = _budgets(resources)
    hours = c.gpu_hours_per_month
    by_project: dict[str, list[ClusterCost]] = {}
    for cost in cluster_costs(resources):
        by_project.setdefault(cost.project, []).append(cost)
    projects = {p.name: p for p in _projects(resources)}
    for project, costs in sorted(by_project.items()):
        unpriced = [k.vm_size for k in costs if k.hourly is None]
        total = sum(k.monthly(hours) or 0 for k in costs)
        budget = budgets.get(project)
        amount = budget.get("amount") if budget else None
        urn = projects[project].urn if project in projects else ""
        if unpriced:
            yield urn, f"no price for {', '.join(sorted(set(unpriced)))} in infra/guardrails/prices.py"
        if isinstance(amount, int | float) and total > amount:
            yield (
                urn,
                (
                    f"clusters of {project} can cost {total:,.0f} a month at max nodes ({hours} h; "
                    f"{prices.source_note()}), over its budget of {amount:,.0f}"
                ),
            )


def _compute_isolation(
    resources: Sequence[PlannedResource], c: GuardrailContext
) -> Iterator[tuple[str, str]]:
    # PSRule Azure.ML.ComputeVnet and built-in 7804b5c7 want a subnet; a workspace's managed network
    # isolates its clusters instead (Microsoft's recommended isolation for v2 workspaces).
    modes = {
        str(w.get("workspaceName") or ""): w.get("managedNetwork.isolationMode")
        for w in resources
        if w.type == WORKSPACE
    }
    for compute in (r for r in resources if r.type == COMPUTE):
        if _aml(compute, "subnet.id"):
            continue
        workspace = compute.get("workspaceName")
        if is_unknown(workspace):
            continue
        mode = modes.get(str(workspace))
        if mode in (None, "Disabled") and not is_unknown(mode):
            yield (
                compute.urn,
                (
                    f"neither in a subnet nor in a managed network (workspace {workspace} isolation {mode or 'unknown'})"
                ),
            )


def _cross_project(resources: Sequence[PlannedResource], c: GuardrailContext) -> Iterator[tuple[str, str]]:
    by_urn = _by_urn(resources)
    groups = {}
    for group in (r for r in resources if r.type == RESOURCE_GROUP):
        project = project_of(group, by_urn)
        if project is not None:
            groups[project] = str(group.get("resourceGroupName") or "").lower()
    for assignment in (r for r in resources if r.type == ROLE_ASSIGNMENT):
        project = project_of(assignment, by_urn)
        scope = assignment.get("scope")
        if project is None or project not in groups or not isinstance(scope, str) or is_unknown(scope):
            continue
        path = without_subscription(scope)
        own = f"/resourcegroups/{groups[project]}"
        if path == own or path.startswith(own + "/") or path == c.registry_id:
            continue
        yield assignment.urn, f"a role of project {project} on {scope}, outside its resource group"


STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "workspace-diagnostics",
        "Every workspace sends its logs to the environment's Log Analytics: a diagnostic setting on the "
        "workspace (Diagnostics.send in infra/components/project.py).",
        Level.MANDATORY,
        _workspace_diagnostics,
        f"{BUILTIN} AuditDiagnosticLog (Machine Learning)",
    ),
    StackRule(
        "workspace-private-endpoint",
        "A workspace closed to public traffic has its own private endpoint (sub-resource amlworkspace): "
        "set network.private_endpoints (subnet and DNS zones) in the environment.",
        Level.MANDATORY,
        _workspace_private_endpoint,
        f"{BUILTIN} 40cec1dd-a100-4920-b15b-3024fe8901ab",
    ),
    StackRule(
        "workspace-registry-path",
        "Every workspace reaches the ML registry: a managed network with an outbound private endpoint "
        "to it (isolation_mode other than Disabled), or a public registry.",
        Level.MANDATORY,
        _registry_path,
    ),
    StackRule(
        "ml-compute-network-isolation",
        "Clusters are network isolated: in a workspace with a managed network (isolation_mode other "
        "than Disabled) or in a subnet.",
        Level.MANDATORY,
        _compute_isolation,
        f"{PSRULE} Azure.ML.ComputeVnet; {BUILTIN} 7804b5c7-01dc-4723-969b-ae300cc07ff1",
    ),
    StackRule(
        "project-budget",
        "Every project has a monthly budget: add budget.monthly_amount to its project file.",
        Level.MANDATORY,
        _project_budget,
    ),
    StackRule(
        "role-assignment-cross-project",
        "A project's role assignments stay on its own resource group (or the shared ML registry): "
        "grant roles on other projects' resources from those projects.",
        Level.MANDATORY,
        _cross_project,
    ),
    StackRule(
        "gpu-cost-within-budget",
        "The worst-case monthly cost of a project's clusters (max nodes x hours x hourly price, "
        "infra/guardrails/prices.py) stays within its budget: lower max_nodes, pick smaller sizes or "
        "raise the budget.",
        Level.ADVISORY,
        _gpu_cost,
    ),
)

RULE_NAMES: frozenset[str] = frozenset({*(r.name for r in RESOURCE_RULES), *(r.name for r in STACK_RULES)})

"""Who holds which built-in role on what: the access part of the platform model.

Everything here is computed from configuration alone, before any resource exists: role
assignment names must not depend on values Azure only knows after creation (a managed identity's
principal id, a resource's id). Scopes are the ARM ids the deterministic names give, and a
managed identity is keyed by the ARM id of the resource holding it. The components pass the real
outputs (`resource.id`, `principal_id`) as inputs, so that dependencies are right.

Every project has its own storage, Key Vault, container registry and Application Insights, so a
project's identities and people only ever hold roles on their own project's resources. The one
environment-wide scope is the Azure ML registry, which exists to be shared (dev trains, prod
serves): people and clusters of every project read and publish there.

Sources for the identities' roles:
- "Set up authentication between Azure Machine Learning and other services", section
  "User-assigned managed identity" (learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication):
  a workspace whose primary identity is user-assigned needs the roles of its table on the
  workspace's associated resources *before* the workspace is created, and the service creates no
  role assignment for it (unlike a system-assigned identity, whose assignments the service makes
  itself and which a program creating the same assignment collides with: RoleAssignmentExists).
  The table: Contributor on the workspace, the storage account, the Key Vault, the container
  registry and Application Insights; Storage Blob Data Contributor on storage for data access; Key
  Vault Administrator on an RBAC-mode vault. Microsoft's quickstart for it
  (Azure/azure-quickstart-templates, machine-learning-dependencies-role-assignment) grants them on
  existing resources before the workspace, and Contributor on the workspace's resource group, since
  the workspace does not exist yet; here that group holds only the project's own resources.
- "Workspace managed virtual network isolation", "Approval of private endpoints": since 2025-04-30
  the workspace identity must be able to approve the private endpoints its managed network creates
  to resources other than its own (the registry); Microsoft recommends the Azure AI Enterprise
  Network Connection Approver role on the target.
- The same authentication page, "Create compute with managed identity to access Docker images":
  "A managed identity is automatically granted ACRPull role on workspace ACR", so the program
  grants a cluster no AcrPull of its own (the same assignment again fails with RoleAssignmentExists).
- "Data administration" (learn.microsoft.com/azure/machine-learning/how-to-administrate-data-authentication):
  with identity-based system datastores (shared keys off) the workspace identity needs Storage Blob
  Data Contributor and Storage File Data Privileged Contributor on the storage account; a job's
  data access uses the compute's managed identity; people using notebooks (the file share) need
  Storage File Data Privileged Contributor when shared-key access is off.
- "Use your workspace with a custom DNS server / studio in a virtual network"
  (learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network): behind
  private endpoints, the workspace managed identity needs Reader on the storage account's private
  endpoints for the studio to preview data.
- "Lock your resources to protect your infrastructure"
  (learn.microsoft.com/azure/azure-resource-manager/management/lock-resources): "A cannot-delete
  lock on a resource or resource group prevents the deletion of Azure RBAC assignments." Storage
  accounts and Key Vaults are locked in production, so data roles whose holders change (a
  replaced cluster's new identity, a person leaving a list) are granted on the project's resource
  group, which holds that project's storage and vault only and is not locked.
- "Microsoft Entra authentication for Application Insights"
  (learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication): with local auth off, a
  sender needs Monitoring Metrics Publisher on the component.
- "Manage access to Azure Machine Learning workspaces" (learn.microsoft.com/azure/machine-learning/how-to-assign-roles)
  and "Share models, components and environments across workspaces with registries": the AzureML
  Data Scientist, Compute Operator and Registry User roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from infra import arm, naming
from infra.config.models import EXTRA_ROLES_LIST, EnvironmentConfig, PrincipalKind, ProjectSettings
from infra.roles import assignment_name, role_definition_id

ScopeKind = Literal[
    "resource_group",
    "application_insights",
    "storage",
    "storage_blob_endpoint",
    "storage_file_endpoint",
    "workspace",
    "container_registry",
    "key_vault",
    "ml_registry",
]
# Scopes every project of the environment shares; all others belong to one project.
SHARED_SCOPES: frozenset[ScopeKind] = frozenset({"ml_registry"})

# Holders of managed identities, as the components name them.
WORKSPACE_IDENTITY = "workspace-identity"
CLUSTER_PREFIX = "cluster:"

# Who gets what, on which of the project's scopes. The comments are the documentation
# (docs/onboarding.md renders the same table).
PEOPLE: dict[str, tuple[tuple[str, ScopeKind], ...]] = {
    # Everything in the workspace except creating compute or changing the workspace; the data in the
    # project's storage (identity-based datastores, and the notebooks file share with shared keys
    # off); reading and publishing models in the registry.
    "data_scientists": (
        ("AzureML Data Scientist", "workspace"),
        ("Storage Blob Data Contributor", "resource_group"),
        ("Storage File Data Privileged Contributor", "resource_group"),
        ("AzureML Registry User", "ml_registry"),
    ),
    # Create, scale and delete compute in the workspace; nothing else.
    "compute_operators": (("AzureML Compute Operator", "workspace"),),
    # Read-only view of the project's resources.
    "readers": (("Reader", "resource_group"),),
    # Deploy the project's models: online/batch endpoints and deployments are workspace child
    # resources that AzureML Data Scientist may write (it cannot touch compute clusters, the
    # workspace itself, networking or role assignments, unlike Contributor); models promoted through
    # the registry are read and registered with AzureML Registry User. No storage role: deployments
    # read models through the workspace, not the deployer's identity.
    "ci_deployers": (
        ("AzureML Data Scientist", "workspace"),
        ("AzureML Registry User", "ml_registry"),
    ),
}
# The workspace's user-assigned (primary) identity, before the workspace exists: Microsoft's table
# for a user-assigned workspace identity (module docstring), on the project's own resources only.
WORKSPACE_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("Contributor", "resource_group"),
    ("Storage Blob Data Contributor", "resource_group"),
    ("Storage File Data Privileged Contributor", "resource_group"),
    ("Key Vault Administrator", "resource_group"),
    ("Monitoring Metrics Publisher", "application_insights"),
)
# Approving the private endpoint the workspace's managed network creates to the registry.
WORKSPACE_REGISTRY_PATH_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("Azure AI Enterprise Network Connection Approver", "ml_registry"),
)
# After the private endpoints exist: the studio's data preview behind private endpoints.
WORKSPACE_ENDPOINT_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("Reader", "storage_blob_endpoint"),
    ("Reader", "storage_file_endpoint"),
)
# A cluster's system-assigned identity: read and write job data, read registry assets (AcrPull on
# the project's container registry is granted by the service itself: module docstring).
CLUSTER_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("Storage Blob Data Contributor", "resource_group"),
    # jobs read their secrets (a gated model's token) from the project's vault at run time
    ("Key Vault Secrets User", "resource_group"),
    ("AzureML Registry User", "ml_registry"),
    ("Monitoring Metrics Publisher", "application_insights"),
)
# The image-build cluster pushes the images it builds. Microsoft does not say which identity pushes
# (docs/onboarding.md, "Open questions"): AcrPush on the project's own registry covers the cluster's.
IMAGE_BUILD_ROLES: tuple[tuple[str, ScopeKind], ...] = (("AcrPush", "container_registry"),)
EXTRA_ROLE_SCOPE: ScopeKind = "resource_group"


@dataclass(frozen=True)
class ProjectIds:
    """ARM ids of one project's resources (and the registry it uses), from deterministic names."""

    resource_group: str
    application_insights: str
    storage: str
    storage_blob_endpoint: str
    storage_file_endpoint: str
    workspace: str
    workspace_identity: str
    container_registry: str
    key_vault: str
    ml_registry: str

    @staticmethod
    def of(environment: EnvironmentConfig, project: str, subscription: str) -> ProjectIds:
        names = environment.names.project(project)
        group = names.resource_group

        def in_group(arm_type: str, name: str) -> str:
            return arm.resource_id(subscription, group, arm_type, name)

        def endpoint(service: str) -> str:
            return in_group(
                arm.PRIVATE_ENDPOINT, naming.private_endpoint_name(names.storage_account, service)
            )

        return ProjectIds(
            resource_group=arm.group_id(subscription, group),
            application_insights=in_group(arm.APPLICATION_INSIGHTS, names.application_insights),
            storage=in_group(arm.STORAGE_ACCOUNT, names.storage_account),
            storage_blob_endpoint=endpoint("blob"),
            storage_file_endpoint=endpoint("file"),
            workspace=in_group(arm.ML_WORKSPACE, names.workspace),
            workspace_identity=in_group(arm.USER_ASSIGNED_IDENTITY, names.workspace_identity),
            container_registry=in_group(arm.CONTAINER_REGISTRY, names.container_registry),
            key_vault=in_group(arm.KEY_VAULT, names.key_vault),
            ml_registry=registry_id(environment, subscription),
        )

    def compute(self, name: str) -> str:
        return arm.child_id(self.workspace, "computes", name)

    def scope(self, kind: ScopeKind) -> str:
        return str(getattr(self, kind))


def registry_id(environment: EnvironmentConfig, subscription: str) -> str:
    """The Azure ML registry the environment uses: its own, or the one another stack owns."""
    if environment.registry.existing_id is not None:
        return environment.registry.existing_id
    names = environment.names
    return arm.resource_id(subscription, names.shared_resource_group, arm.ML_REGISTRY, names.ml_registry)


@dataclass(frozen=True)
class RoleGrant:
    """One role assignment, with every value its name is derived from known at plan time."""

    role: str
    scope_kind: ScopeKind
    scope: str  # the ARM id of the scope
    principal: str  # an Entra object id, or the ARM id of the resource holding a managed identity
    principal_type: PrincipalKind
    holder: str | None  # None for Entra principals; else WORKSPACE_IDENTITY or cluster:<name>
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return assignment_name(self.scope, self.principal, self.role)

    @property
    def role_definition_id(self) -> str:
        return role_definition_id(self.role, self.scope)

    @property
    def description(self) -> str:
        return f"mlplatform: {'; '.join(self.reasons)}"[:1024]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scope.lower(), self.principal.lower(), self.role)

    @property
    def before_workspace(self) -> bool:
        """The workspace identity's grants on existing resources, which the workspace waits for."""
        return (
            self.holder == WORKSPACE_IDENTITY and (self.role, self.scope_kind) not in WORKSPACE_ENDPOINT_ROLES
        )


def merged(grants: Iterable[RoleGrant]) -> tuple[RoleGrant, ...]:
    """One grant per (scope, principal, role): a principal in two lists gets one assignment (two
    would collide on the same derived name), with both reasons."""
    by_key: dict[tuple[str, str, str], RoleGrant] = {}
    for grant in grants:
        found = by_key.get(grant.key)
        if found is not None:
            grant = replace(found, reasons=tuple(sorted({*found.reasons, *grant.reasons})))
        by_key[grant.key] = grant
    return tuple(sorted(by_key.values(), key=lambda g: (g.scope_kind, g.role, g.principal, g.scope)))


def people_grants(project: ProjectSettings, ids: ProjectIds) -> Iterable[RoleGrant]:
    for list_name, principals in project.access.members().items():
        if list_name.startswith(EXTRA_ROLES_LIST):
            roles: tuple[tuple[str, ScopeKind], ...] = (
                (list_name.removeprefix(EXTRA_ROLES_LIST), EXTRA_ROLE_SCOPE),
            )
        else:
            roles = PEOPLE[list_name]
        for principal in principals:
            label = f"{project.name} {list_name}" + (f" ({principal.name})" if principal.name else "")
            for role, kind in roles:
                yield RoleGrant(
                    role, kind, ids.scope(kind), principal.object_id.lower(), principal.kind, None, (label,)
                )


def _identity(
    project: str,
    holder: str,
    holder_id: str,
    roles: Sequence[tuple[str, ScopeKind]],
    ids: ProjectIds,
    why: str,
) -> Iterable[RoleGrant]:
    for role, kind in roles:
        yield RoleGrant(
            role, kind, ids.scope(kind), holder_id, "ServicePrincipal", holder, (f"{project} {why}",)
        )


def project_grants(
    project: ProjectSettings,
    ids: ProjectIds,
    *,
    private_endpoints: bool,
    image_build: bool,
    registry_private_endpoint: bool,
) -> tuple[RoleGrant, ...]:
    """Every role assignment a project owns: its people's, its workspace identity's and its
    clusters' identities'. Assignments on the shared registry are in here too: each names the
    project's principal, so two projects never create the same one (people in several projects are
    merged across projects by the model)."""
    grants = [
        *people_grants(project, ids),
        *_identity(
            project.name,
            WORKSPACE_IDENTITY,
            ids.workspace_identity,
            WORKSPACE_ROLES,
            ids,
            "workspace identity",
        ),
    ]
    if registry_private_endpoint:
        grants += _identity(
            project.name,
            WORKSPACE_IDENTITY,
            ids.workspace_identity,
            WORKSPACE_REGISTRY_PATH_ROLES,
            ids,
            "workspace identity (approves its managed network's private endpoint to the registry)",
        )
    if private_endpoints:
        grants += _identity(
            project.name,
            WORKSPACE_IDENTITY,
            ids.workspace_identity,
            WORKSPACE_ENDPOINT_ROLES,
            ids,
            "workspace identity (studio behind private endpoints)",
        )
    for name in sorted(project.clusters):
        grants += _identity(
            project.name, f"{CLUSTER_PREFIX}{name}", ids.compute(name), CLUSTER_ROLES, ids, f"cluster {name}"
        )
    if image_build:
        name = naming.IMAGE_BUILD_CLUSTER
        grants += _identity(
            project.name, f"{CLUSTER_PREFIX}{name}", ids.compute(name), IMAGE_BUILD_ROLES, ids, "image builds"
        )
    return merged(grants)

"""The access model: which principal gets which built-in role on which scope, and the rule that
privileged roles need an explicit exception.

Everything here is computed from configuration alone, before any resource exists: role
assignment names must not depend on values Azure only knows after creation (a managed identity's
principal id, a resource's id). Scopes are the ARM ids the deterministic names give, and a
managed identity is keyed by the ARM id of the resource holding it. The components pass the real
outputs (`resource.id`, `principal_id`) as inputs, so that dependencies are right.

Sources for the platform identities' roles:
- "Set up authentication between Azure Machine Learning and other services"
  (learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication):
  a workspace's user-assigned identity needs data-plane access to the workspace storage, Key Vault
  Administrator on an RBAC-mode vault and Contributor on the container registry (environment
  images are built with ACR Tasks, which no Acr* data role allows); compute clusters pull images
  from ACR and read data with their own identity.
- "Data administration" (learn.microsoft.com/azure/machine-learning/how-to-administrate-data-authentication):
  with identity-based system datastores (shared keys off) the workspace identity needs Storage Blob
  Data Contributor and Storage File Data Privileged Contributor on the storage account; a job's
  data access uses the compute's managed identity.
- "Manage access to Azure Machine Learning workspaces" (learn.microsoft.com/azure/machine-learning/how-to-assign-roles)
  and "Share models, components and environments across workspaces with registries": the AzureML
  Data Scientist, Compute Operator and Registry User roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from infra import arm
from infra.config.errors import ConfigIssue
from infra.config.models import ENVIRONMENT_FIELD, EnvironmentConfig, PrincipalKind, ProjectSettings
from infra.policy import Onboarded
from infra.roles import PRIVILEGED_ROLES, assignment_name, role_definition_id

ScopeKind = Literal[
    "resource_group", "storage", "workspace", "container_registry", "key_vault", "ml_registry"
]

# Holders of managed identities, as the components name them.
PLATFORM_IDENTITY = "platform-identity"
WORKSPACE_IDENTITY = "workspace"
CLUSTER_PREFIX = "cluster:"

# Who gets what, on which of the project's scopes. The `why` is the documentation (docs/onboarding.md).
PEOPLE: dict[str, tuple[tuple[str, ScopeKind], ...]] = {
    # Everything in the workspace except creating compute or changing the workspace; the data in the
    # project's storage (identity-based datastores); reading and publishing models in the registry.
    "data_scientists": (
        ("AzureML Data Scientist", "workspace"),
        ("Storage Blob Data Contributor", "storage"),
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
# A GPU cluster's system-assigned identity: pull images, read and write job data, read registry assets.
CLUSTER_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("AcrPull", "container_registry"),
    ("Storage Blob Data Contributor", "storage"),
    ("AzureML Registry User", "ml_registry"),
)
# What the workspace needs on its own storage (shared keys off, identity-based system datastores).
WORKSPACE_STORAGE_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("Storage Blob Data Contributor", "storage"),
    ("Storage File Data Privileged Contributor", "storage"),
)
# What the workspace needs on the environment's shared services (RBAC-mode vault, shared ACR).
WORKSPACE_SHARED_ROLES: tuple[tuple[str, ScopeKind], ...] = (
    ("Key Vault Administrator", "key_vault"),
    ("Contributor", "container_registry"),
)
EXTRA_ROLE_SCOPE: ScopeKind = "resource_group"


@dataclass(frozen=True)
class EnvironmentIds:
    """ARM ids of the shared resources, from their deterministic names."""

    key_vault: str
    container_registry: str
    platform_identity: str
    ml_registry: str

    @staticmethod
    def of(environment: EnvironmentConfig, subscription: str) -> EnvironmentIds:
        names = environment.names
        group = names.shared_resource_group
        return EnvironmentIds(
            key_vault=arm.resource_id(subscription, group, arm.KEY_VAULT, names.key_vault),
            container_registry=arm.resource_id(
                subscription, group, arm.CONTAINER_REGISTRY, names.container_registry
            ),
            platform_identity=arm.resource_id(
                subscription, group, arm.USER_ASSIGNED_IDENTITY, names.platform_identity
            ),
            ml_registry=environment.registry.existing_id
            or arm.resource_id(subscription, group, arm.ML_REGISTRY, names.ml_registry),
        )


@dataclass(frozen=True)
class ProjectIds:
    """ARM ids of one project's resources, from their deterministic names."""

    environment: EnvironmentIds
    resource_group: str
    storage: str
    workspace: str

    @staticmethod
    def of(environment: EnvironmentConfig, project: str, subscription: str) -> ProjectIds:
        names = environment.names.project(project)
        group = names.resource_group
        return ProjectIds(
            environment=EnvironmentIds.of(environment, subscription),
            resource_group=arm.group_id(subscription, group),
            storage=arm.resource_id(subscription, group, arm.STORAGE_ACCOUNT, names.storage_account),
            workspace=arm.resource_id(subscription, group, arm.ML_WORKSPACE, names.workspace),
        )

    def compute(self, name: str) -> str:
        return arm.child_id(self.workspace, "computes", name)

    def scope(self, kind: ScopeKind) -> str:
        if kind in ("key_vault", "container_registry", "ml_registry"):
            return str(getattr(self.environment, kind))
        return str(getattr(self, kind))


@dataclass(frozen=True)
class RoleGrant:
    """One role assignment, with every value its name is derived from known at plan time."""

    role: str
    scope_kind: ScopeKind
    scope: str  # the ARM id of the scope
    principal: str  # an Entra object id, or the ARM id of the resource holding a managed identity
    principal_type: PrincipalKind
    holder: (
        str | None
    )  # None for Entra principals; else PLATFORM_IDENTITY, WORKSPACE_IDENTITY, cluster:<name>
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


def _merged(grants: Iterable[RoleGrant]) -> list[RoleGrant]:
    """One grant per (scope, principal, role): a principal in two lists gets one assignment (two
    would collide on the same derived name), with both reasons."""
    by_key: dict[tuple[str, str, str], RoleGrant] = {}
    for grant in grants:
        found = by_key.get(grant.key)
        if found is not None:
            reasons = tuple(sorted({*found.reasons, *grant.reasons}))
            grant = RoleGrant(
                found.role,
                found.scope_kind,
                found.scope,
                found.principal,
                found.principal_type,
                found.holder,
                reasons,
            )
        by_key[grant.key] = grant
    return sorted(by_key.values(), key=lambda g: (g.scope_kind, g.role, g.principal, g.scope))


def _people(project: ProjectSettings, ids: ProjectIds, shared: bool) -> Iterable[RoleGrant]:
    """People's grants; `shared` selects those on environment-wide scopes (the registry) instead."""
    for list_name, principals in project.access.members().items():
        if list_name.startswith("extra_roles."):
            roles: tuple[tuple[str, ScopeKind], ...] = ((list_name.split(".", 1)[1], EXTRA_ROLE_SCOPE),)
        else:
            roles = PEOPLE[list_name]
        for principal in principals:
            label = f"{project.name} {list_name}" + (f" ({principal.name})" if principal.name else "")
            for role, kind in roles:
                if (kind == "ml_registry") != shared:
                    continue
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
    environment: EnvironmentConfig, project: ProjectSettings, subscription: str
) -> list[RoleGrant]:
    """Every role assignment a project owns: its people on its own scopes, its clusters' and
    workspace's identities, and the platform identity on the project's storage."""
    ids = ProjectIds.of(environment, project.name, subscription)
    env_ids = ids.environment
    grants = [
        *_people(project, ids, shared=False),
        *_identity(
            project.name,
            WORKSPACE_IDENTITY,
            ids.workspace,
            (*WORKSPACE_STORAGE_ROLES, *WORKSPACE_SHARED_ROLES),
            ids,
            "workspace identity",
        ),
        *_identity(
            project.name,
            PLATFORM_IDENTITY,
            env_ids.platform_identity,
            WORKSPACE_STORAGE_ROLES,
            ids,
            "workspace user-assigned identity",
        ),
    ]
    for name in sorted(project.clusters):
        grants += _identity(
            project.name, f"{CLUSTER_PREFIX}{name}", ids.compute(name), CLUSTER_ROLES, ids, f"cluster {name}"
        )
    return _merged(grants)


def environment_grants(
    environment: EnvironmentConfig, projects: Sequence[ProjectSettings], subscription: str
) -> list[RoleGrant]:
    """Role assignments on shared scopes that several projects may need for the same principal
    (one assignment, whatever the number of projects), and the platform identity's own."""
    env_ids = EnvironmentIds.of(environment, subscription)
    grants: list[RoleGrant] = []
    for project in projects:
        grants += _people(project, ProjectIds.of(environment, project.name, subscription), shared=True)
    for role, kind in WORKSPACE_SHARED_ROLES:
        grants.append(
            RoleGrant(
                role,
                kind,
                str(getattr(env_ids, kind)),
                env_ids.platform_identity,
                "ServicePrincipal",
                PLATFORM_IDENTITY,
                ("workspace user-assigned identity",),
            )
        )
    return _merged(grants)


# --- the privileged-role rule -----------------------------------------------------------------


def _excepted(environment: EnvironmentConfig, project: str, object_id: str, role: str) -> bool:
    return any(
        e.project == project and e.object_id.lower() == object_id.lower() and e.role == role
        for e in environment.role_exceptions
    )


def access_issues(
    env_file: str, environment: EnvironmentConfig, projects: Sequence[Onboarded]
) -> list[ConfigIssue]:
    """Privileged roles granted without an exception in the environment config."""
    issues = []
    for source in projects:
        project = source.settings
        for role, principals in project.access.extra_roles.items():
            if role not in PRIVILEGED_ROLES:
                continue
            for index, principal in enumerate(principals):
                if _excepted(environment, project.name, principal.object_id, role):
                    continue
                issues.append(
                    ConfigIssue(
                        source.file,
                        source.field("access", "extra_roles", role, index, "object_id"),
                        f"in environment {source.environment}: {role} is a privileged role "
                        f"({', '.join(sorted(PRIVILEGED_ROLES))}) and is never granted to project "
                        f"principals; use a narrower role, or have the platform team add an exception "
                        f"(project, object_id, role, reason) to {ENVIRONMENT_FIELD}.role_exceptions "
                        f"in {env_file}",
                    )
                )
    return issues


def exception_lines(environment: EnvironmentConfig, projects: Sequence[ProjectSettings]) -> list[str]:
    """Every privileged-role exception of the environment, and whether a project uses it."""
    lines = []
    by_name = {p.name: p for p in projects}
    for exception in environment.role_exceptions:
        project = by_name.get(exception.project)
        used = [
            principal
            for principal in (project.access.extra_roles.get(exception.role, []) if project else [])
            if principal.object_id.lower() == exception.object_id.lower()
        ]
        who = f"{used[0].name or exception.object_id} ({used[0].kind})" if used else exception.object_id
        state = "granted" if used else "not used by the project (remove it)"
        lines.append(
            f"{exception.project}: {exception.role} for {who} on the project resource group, {state}; "
            f"reason: {exception.reason}"
        )
    return lines or ["none: no privileged role is granted to any project principal"]


def _reasons_by_project(grant: RoleGrant) -> dict[str, list[str]]:
    """A grant's reasons, "<project> <why>" (project names have no spaces), as whys by project."""
    whys: dict[str, list[str]] = {}
    for reason in grant.reasons:
        project, _, why = reason.partition(" ")
        whys.setdefault(project, []).append(why)
    return whys


def access_lines(environment: EnvironmentConfig, projects: Sequence[ProjectSettings]) -> list[str]:
    """Who gets which role on what, per project, for the plan (scopes by kind: the ids are in the tree)."""
    any_subscription = "00000000-0000-0000-0000-000000000000"  # scope kinds do not depend on it
    lines = []
    shared = environment_grants(environment, projects, any_subscription)
    # shared grants by the projects their reasons name, indexed once rather than searched per project
    shared_by_project: dict[str, list[tuple[RoleGrant, list[str]]]] = {}
    for grant in shared:
        for name, whys in _reasons_by_project(grant).items():
            shared_by_project.setdefault(name, []).append((grant, whys))
    for project in projects:
        grants = [
            (grant, _reasons_by_project(grant).get(project.name, []))
            for grant in project_grants(environment, project, any_subscription)
        ]
        grants += shared_by_project.get(project.name, [])
        by_principal: dict[str, list[str]] = {}
        for grant, whys in grants:
            if grant.holder is None:
                who = f"{grant.principal} ({grant.principal_type}: {', '.join(sorted(set(whys)))})"
            else:
                who = f"{grant.holder} identity"
            by_principal.setdefault(who, []).append(f"{grant.role} on {grant.scope_kind}")
        lines.append(f"{project.name}:")
        lines += [f"  {who}: {'; '.join(sorted(roles))}" for who, roles in sorted(by_principal.items())]
    platform = [g for g in shared if g.holder == PLATFORM_IDENTITY]
    if platform:
        lines.append(
            f"environment: {PLATFORM_IDENTITY} identity: "
            + "; ".join(f"{g.role} on {g.scope_kind}" for g in platform)
        )
    return lines

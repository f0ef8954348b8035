"""The platform model: one environment and its projects resolved into plain data, once.

Files become validated configuration (infra/config), configuration becomes this model (names,
ids, identities, who holds which role on what, network paths, budgets, locks), the components
only render it (infra/components), and the checks, the plan and the tests read it. Nothing here
touches Pulumi: the model is the same for `pulumi up`, the offline plan and `python -m infra
validate`, given the same subscription id and date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from infra import naming
from infra.config.loader import Platform
from infra.config.models import EnvironmentConfig, LockLevel, ProjectSettings
from infra.model.access import (
    SHARED_SCOPES,
    ProjectIds,
    RoleGrant,
    merged,
    project_grants,
    registry_id,
)
from infra.model.budget import BudgetPlan, budget_plan
from infra.model.network import WorkspaceNetwork, registry_is_public, workspace_network
from infra.policy import Onboarded

# Values of a `data-classification` tag that make a workspace high business impact by default.
HBI_CLASSIFICATIONS = frozenset({"confidential", "highly-confidential", "restricted"})


@dataclass(frozen=True)
class ProjectModel:
    settings: ProjectSettings
    source: Onboarded
    # The region of the workspace and the project's own resources (its `location:`, else the
    # environment's). Private endpoints into the hub network are in the hub's region, the
    # environment's location, whatever this is (docs/onboarding.md, "Regions").
    location: str
    names: naming.ProjectNames
    ids: ProjectIds
    network: WorkspaceNetwork
    grants: tuple[RoleGrant, ...]  # every assignment the project's access component creates
    budget: BudgetPlan | None
    hbi_workspace: bool
    image_build_cluster: str | None  # the CPU cluster that builds images when the ACR is private

    @property
    def name(self) -> str:
        return self.settings.name


@dataclass(frozen=True)
class RegistryModel:
    id: str
    name: str
    owned: bool  # this stack creates it
    public: bool
    regions: tuple[str, ...] | None  # primary first; None: another stack's, regions not recorded
    private_endpoint: bool  # this stack gives it a private endpoint in the hub subnet


@dataclass(frozen=True)
class PlatformModel:
    stack: str
    environment: EnvironmentConfig
    environment_file: str
    subscription: str
    tenant: str
    as_of: date
    registry: RegistryModel
    projects: tuple[ProjectModel, ...]
    # People's roles on the shared registry, merged across projects: one assignment per person,
    # whatever the number of projects naming them.
    shared_grants: tuple[RoleGrant, ...]

    @property
    def lock_level(self) -> LockLevel | None:
        return self.environment.lock_level

    def grants(self) -> tuple[RoleGrant, ...]:
        return (*self.shared_grants, *(g for p in self.projects for g in p.grants))


def _hbi(environment: EnvironmentConfig, project: ProjectSettings) -> bool:
    if environment.hbi_workspace is not None:
        return environment.hbi_workspace
    classification = {**environment.tags, **project.tags}.get("data-classification", "")
    return classification.strip().lower() in HBI_CLASSIFICATIONS


def _registry(environment: EnvironmentConfig, subscription: str) -> RegistryModel:
    reg_id = registry_id(environment, subscription)
    owned = environment.registry.create is not None
    return RegistryModel(
        id=reg_id,
        name=reg_id.rpartition("/")[2],
        owned=owned,
        public=registry_is_public(environment),
        regions=environment.registry_regions,
        private_endpoint=owned and environment.network.private_endpoints is not None,
    )


def resolve(platform: Platform, *, subscription: str, as_of: date, tenant: str) -> PlatformModel:
    """Decide every name, id, identity, grant, network path and budget of the stack."""
    env = platform.environment
    registry = _registry(env, subscription)
    private_acr = not env.network.public_network_access
    # The same managed network for every workspace of the environment.
    network = workspace_network(env, registry.id)
    projects = []
    shared: list[RoleGrant] = []
    for settings in platform.projects:
        ids = ProjectIds.of(env, settings.name, subscription)
        grants = project_grants(
            settings,
            ids,
            private_endpoints=env.network.private_endpoints is not None,
            image_build=private_acr,
            registry_private_endpoint=network.registry_path is not None
            and network.registry_path.rule is not None,
        )
        shared += [g for g in grants if g.holder is None and g.scope_kind in SHARED_SCOPES]
        projects.append(
            ProjectModel(
                settings=settings,
                source=platform.source(settings),
                location=settings.location or env.location,
                names=env.names.project(settings.name),
                ids=ids,
                network=network,
                grants=tuple(g for g in grants if not (g.holder is None and g.scope_kind in SHARED_SCOPES)),
                budget=budget_plan(env, settings, as_of),
                hbi_workspace=_hbi(env, settings),
                image_build_cluster=naming.IMAGE_BUILD_CLUSTER if private_acr else None,
            )
        )
    return PlatformModel(
        stack=platform.stack,
        environment=env,
        environment_file=platform.environment_file,
        subscription=subscription,
        tenant=tenant,
        as_of=as_of,
        registry=registry,
        projects=tuple(projects),
        shared_grants=merged(shared),
    )

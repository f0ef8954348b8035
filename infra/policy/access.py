"""The access rules: privileged roles need an explicit exception, and no project's identity or
person holds a role on another project's resources. Both read the platform model
(infra/model/access.py decides the grants); the plan's access table is rendered here too.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra.config.errors import ConfigIssue
from infra.config.models import ENVIRONMENT_FIELD, EnvironmentConfig, ProjectSettings
from infra.model import PlatformModel
from infra.model.access import SHARED_SCOPES, RoleGrant
from infra.policy import Onboarded
from infra.roles import PRIVILEGED_ROLES

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


def access_lines(model: PlatformModel) -> list[str]:
    """Who gets which role on what, per project, for the plan (scopes by kind: the ids are in the tree)."""
    lines = []
    shared_by_project: dict[str, list[tuple[RoleGrant, list[str]]]] = {}
    for grant in model.shared_grants:
        for name, whys in _reasons_by_project(grant).items():
            shared_by_project.setdefault(name, []).append((grant, whys))
    for project in model.projects:
        grants = [(grant, _reasons_by_project(grant).get(project.name, [])) for grant in project.grants]
        grants += shared_by_project.get(project.name, [])
        by_principal: dict[str, list[str]] = {}
        for grant, whys in grants:
            if grant.holder is None:
                who = f"{grant.principal} ({grant.principal_type}: {', '.join(sorted(set(whys)))})"
            else:
                who = f"{grant.holder} identity"
            by_principal.setdefault(who, []).append(f"{grant.role} on {grant.scope_kind}")
        lines.append(f"{project.name}:")
        lines += [f"  {who}: {'; '.join(sorted(set(roles)))}" for who, roles in sorted(by_principal.items())]
    return lines


def cross_project_grants(model: PlatformModel) -> list[tuple[str, RoleGrant]]:
    """(project, grant) for every grant of a project's identity or person on a scope outside that
    project's resource group, other than the environment's shared scopes (the registry)."""
    found = []
    for project in model.projects:
        own = project.ids.resource_group.lower() + "/"
        for grant in project.grants:
            if grant.scope_kind in SHARED_SCOPES:
                continue
            if not (grant.scope.lower() + "/").startswith(own):
                found.append((project.name, grant))
    return found

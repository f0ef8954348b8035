"""Every rule across the environment and its projects, checked on the platform model once it is
resolved: the loader runs these, so `python -m infra validate`, the offline plan and `pulumi up`
enforce the same rules before the first resource is registered."""

from __future__ import annotations

from infra.config.errors import ConfigIssue
from infra.config.models import ENVIRONMENT_FIELD, MAX_TAGS, RESERVED_TAGS
from infra.model import PlatformModel
from infra.model.budget import start_problem
from infra.policy.access import access_issues, cross_project_grants
from infra.policy.quota import quota_issues


def _unknown_exception_projects(model: PlatformModel) -> list[ConfigIssue]:
    projects = sorted(p.name for p in model.projects)
    return [
        ConfigIssue(
            model.environment_file,
            f"{ENVIRONMENT_FIELD}.role_exceptions[{index}].project",
            f"no project {exception.project!r} in environment {model.stack}; "
            f"projects: {', '.join(projects) or 'none'}",
        )
        for index, exception in enumerate(model.environment.role_exceptions)
        if exception.project not in projects
    ]


def _budget_dates(model: PlatformModel) -> list[ConfigIssue]:
    issues = []
    for project in model.projects:
        plan = project.budget
        if plan is None or not plan.explicit_start:
            continue
        problem = start_problem(plan, model.as_of)
        if problem:
            source = project.source
            issues.append(
                ConfigIssue(
                    source.file,
                    source.field("budget", "start_date"),
                    f"in environment {model.stack}: {problem}",
                )
            )
    return issues


def _registry_paths(model: PlatformModel) -> list[ConfigIssue]:
    without = [p.name for p in model.projects if p.network.registry_path is None]
    if not without:
        return []
    return [
        ConfigIssue(
            model.environment_file,
            f"{ENVIRONMENT_FIELD}.network.isolation_mode",
            f"the ML registry {model.registry.name} accepts no public traffic and isolation_mode Disabled "
            f"gives the workspaces ({', '.join(without)}) no managed network to reach it through a private "
            "endpoint: choose AllowInternetOutbound or AllowOnlyApprovedOutbound (or, for a registry of "
            "another stack that is public, set registry.existing_public_network_access: true)",
        )
    ]


def _tag_counts(model: PlatformModel) -> list[ConfigIssue]:
    issues = []
    for project in model.projects:
        count = len({k.lower() for k in {**model.environment.tags, **project.settings.tags}}) + len(
            RESERVED_TAGS
        )
        if count > MAX_TAGS:
            issues.append(
                ConfigIssue(
                    project.source.file,
                    project.source.field("tags"),
                    f"in environment {model.stack}: with the environment's tags and the platform's, the "
                    f"project's resources would carry {count} tags; Azure allows {MAX_TAGS}",
                )
            )
    return issues


def model_issues(model: PlatformModel) -> list[ConfigIssue]:
    sources = [project.source for project in model.projects]
    env_file = model.environment_file
    issues = [
        *access_issues(env_file, model.environment, sources),
        *quota_issues(env_file, model.environment, sources),
        *_unknown_exception_projects(model),
        *_budget_dates(model),
        *_registry_paths(model),
        *_tag_counts(model),
    ]
    # The model gives no project a role outside its own resources; a change that breaks that is a
    # bug of the program, not of a file, so it stops everything with its own message.
    crossing = cross_project_grants(model)
    if crossing:
        project, grant = crossing[0]
        raise AssertionError(f"{project}: {grant.role} on {grant.scope} is outside the project's resources")
    return issues

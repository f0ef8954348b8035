"""Every rule across the environment and its projects, checked on the platform model once it is
resolved: the loader runs these, so `python -m infra validate`, the offline plan and `pulumi up`
enforce the same rules before the first resource is registered."""

from __future__ import annotations

from infra.config.errors import ConfigIssue
from infra.config.models import ENVIRONMENT_FIELD, MAX_TAGS, RESERVED_TAGS
from infra.model import PlatformModel
from infra.model.budget import start_problem
from infra.policy.access import access_issues
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


def _registry_regions(model: PlatformModel) -> list[ConfigIssue]:
    """A workspace uses a registry only from one of the registry's regions ("Share models,
    components, and environments across workspaces with registries": "The Azure region (location)
    where you create your workspace must be in the list of supported regions for Azure Machine
    Learning registry"). An unrecorded registry of another stack allows the environment's own
    location only, which only the service checks."""
    env = model.environment
    regions = model.registry.regions
    owned = model.registry.owned
    field = f"{ENVIRONMENT_FIELD}.registry." + ("create.replication_regions" if owned else "existing_regions")
    issues = []
    for project in model.projects:
        region = project.location
        if regions is None and region == env.location:
            continue
        if regions is not None and region in regions:
            continue
        source = project.source
        if regions is None:
            why = (
                f"the ML registry {model.registry.name} belongs to another stack and {model.environment_file} "
                f"does not record its regions (registry.existing_regions): record them, with {region} among them"
            )
        else:
            why = (
                f"it is not one of the ML registry {model.registry.name}'s regions ({', '.join(regions)}); "
                f"add {region} to {field.removeprefix(ENVIRONMENT_FIELD + '.')}"
                + ("" if owned else " (and to the owning stack's replication_regions)")
            )
        if project.settings.location is not None:  # else the environment's own location: its file's issue
            issues.append(
                ConfigIssue(
                    source.file,
                    source.field("location"),
                    f"in environment {model.stack}: the workspace region {region} cannot use the environment's "
                    f"ML registry: {why}. A workspace uses a registry only from one of its regions",
                )
            )
        issues.append(
            ConfigIssue(
                model.environment_file,
                field,
                f"project {project.name} ({source.file}) has its workspace in {region}, which the ML registry "
                f"{model.registry.name} must replicate to"
                + (
                    f"; its regions: {', '.join(regions)}"
                    if regions is not None
                    else "; its regions are not recorded"
                ),
            )
        )
    return issues


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
        *quota_issues(env_file, model.environment, model.projects),
        *_registry_regions(model),
        *_unknown_exception_projects(model),
        *_budget_dates(model),
        *_registry_paths(model),
        *_tag_counts(model),
    ]
    # No project's role outside its own resources is a property of the program, not of a file:
    # the guardrail role-assignment-cross-project (infra/guardrails) checks it on the plan.
    return issues

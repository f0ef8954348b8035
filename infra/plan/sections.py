"""What the plan shows besides resources: facts derived from the validated configuration."""

from __future__ import annotations

from infra.config.loader import Platform
from infra.plan.render import Section
from infra.policy.access import access_lines, exception_lines
from infra.policy.budget import budget_lines, unbudgeted
from infra.policy.quota import capacity_lines


def plan_sections(platform: Platform) -> list[Section]:
    environment = platform.environment
    projects = platform.projects
    lines = [
        f"production: {str(environment.production).lower()}",
        f"network: public_network_access={str(environment.network.public_network_access).lower()} "
        f"isolation_mode={environment.network.isolation_mode} "
        f"private_endpoints={'yes' if environment.network.private_endpoints else 'no'}",
        f"lock: {environment.lock_level or 'none'}",
        f"projects: {', '.join(p.name for p in projects) or 'none'}",
    ]
    missing = unbudgeted(projects)
    return [
        Section("Environment", lines),
        Section(
            "Access (who gets which role on what)", access_lines(environment, projects) or ["no projects"]
        ),
        Section("Privileged role exceptions", exception_lines(environment, projects)),
        Section(
            "GPU capacity (max nodes, GPUs and vCPUs per VM family against quota)",
            capacity_lines(environment, projects),
        ),
        Section("Budgets", budget_lines(environment, projects)),
        Section("Projects without a budget", missing or ["none"]),
    ]

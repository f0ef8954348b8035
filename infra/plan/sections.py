"""What the plan shows besides resources: facts the platform model decided."""

from __future__ import annotations

from infra.model import PlatformModel
from infra.plan.render import Section
from infra.policy.access import access_lines, exception_lines
from infra.policy.budget import budget_lines, unbudgeted
from infra.policy.quota import capacity_lines


def _network_lines(model: PlatformModel) -> list[str]:
    registry = model.registry
    lines = [
        f"registry: {registry.name} ({'this stack' if registry.owned else 'another stack'}, "
        f"public network access {'enabled' if registry.public else 'disabled'}"
        f"{', private endpoint in the hub subnet' if registry.private_endpoint else ''})"
    ]
    for project in model.projects:
        network = project.network
        path = network.registry_path.describe() if network.registry_path else "NONE"
        firewall = (
            f"managed Azure Firewall {network.firewall_sku} (FQDN rules, billed)"
            if network.firewall_sku
            else "no firewall"
        )
        lines.append(f"{project.name}: {network.isolation_mode}, {firewall}; registry via {path}")
    for exception in model.environment.network.service_tag_exceptions:
        lines.append(f"service tag exception: {exception.rule}: {exception.reason}")
    return lines


def plan_sections(model: PlatformModel) -> list[Section]:
    environment = model.environment
    projects = tuple(p.settings for p in model.projects)
    lock = environment.lock_level
    elsewhere = [f"{p.name} in {p.location}" for p in model.projects if p.location != environment.location]
    lines = [
        f"location: {environment.location}"
        + (f" (workspaces elsewhere: {', '.join(elsewhere)})" if elsewhere else ""),
        f"production: {str(environment.production).lower()}",
        f"network: public_network_access={str(environment.network.public_network_access).lower()} "
        f"isolation_mode={environment.network.isolation_mode} "
        f"private_endpoints={'yes' if environment.network.private_endpoints else 'no'}",
        f"lock: {lock + ' on storage accounts and Key Vaults' if lock else 'none'}",
        f"high business impact workspaces: {', '.join(p.name for p in model.projects if p.hbi_workspace) or 'none'}",
        f"projects: {', '.join(p.name for p in projects) or 'none'}",
    ]
    missing = unbudgeted(model)
    return [
        Section("Environment", lines),
        Section("Network paths (each workspace to the ML registry)", _network_lines(model)),
        Section("Access (who gets which role on what)", access_lines(model) or ["no projects"]),
        Section("Privileged role exceptions", exception_lines(environment, projects)),
        Section(
            "GPU capacity (max nodes, GPUs and vCPUs per VM family against quota)",
            capacity_lines(environment, model.projects),
        ),
        Section("Budgets", budget_lines(model)),
        Section("Projects without a budget", missing or ["none"]),
    ]

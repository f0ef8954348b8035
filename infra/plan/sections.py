"""What the plan shows besides resources: facts derived from the validated configuration."""

from __future__ import annotations

from infra.config.loader import Platform
from infra.plan.render import Section


def plan_sections(platform: Platform) -> list[Section]:
    environment = platform.environment
    lines = [
        f"production: {str(environment.production).lower()}",
        f"network: public_network_access={str(environment.network.public_network_access).lower()} "
        f"isolation_mode={environment.network.isolation_mode} "
        f"private_endpoints={'yes' if environment.network.private_endpoints else 'no'}",
        f"lock: {environment.lock_level or 'none'}",
        f"projects: {', '.join(p.name for p in platform.projects) or 'none'}",
    ]
    return [Section("Environment", lines)]

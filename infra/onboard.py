"""`python -m infra onboard NAME`: write a new project file that is valid as written.

The file carries the documentation a team needs to fill it in; everything optional starts empty,
so a fresh project creates a resource group, storage and a workspace, and nothing that costs GPU
quota until the team adds a cluster. Imports nothing heavy: no pulumi, no Azure SDK.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from infra import naming
from infra.config.errors import ConfigError, ConfigIssue
from infra.config.loader import Layout, load_environment_file, read_projects, validate_all
from infra.config.models import EMAIL
from infra.skus import GPU_SKUS

TEMPLATE = """\
# Onboarded project: {name}. Written by `python -m infra onboard {name}`; see docs/onboarding.md.
# Edit, run `python -m infra validate`, and open a pull request: CI posts the plan of every
# environment (resources, role assignments, GPU capacity against quota, budgets) for review.
name: {name}
description: {description}
owner: {owner}  # receives the budget alerts; an email address
cost_center: {cost_center}

# Tags on every resource of the project. owner, cost-center, environment, project and managed-by
# are set by the platform.
tags: {{}}

# GPU clusters by compute name (2-16 letters, digits and '-'); they scale to zero when idle. Each
# cluster counts against the environment's GPU quota at max_nodes x vCPUs per node.
# VM sizes: {sizes}.
clusters: {{}}
#  a100:
#    vm_size: Standard_NC24ads_A100_v4
#    max_nodes: 1
#    priority: Dedicated  # or LowPriority
#    idle_minutes: 15

# Who gets access: Entra object ids (GUIDs) with their kind (User, Group or ServicePrincipal).
# Prefer groups. What each list grants is in docs/onboarding.md ("Access model").
access:
  data_scientists: []  # work in the workspace, read/write project data, use the registry
  compute_operators: []  # create, scale and delete the project's compute
  readers: []  # read-only view of the project's resources
  ci_deployers: []  # pipelines that deploy the project's models and endpoints
#  data_scientists:
#    - {{object_id: 00000000-0000-0000-0000-000000000000, kind: Group, name: sg-{name}-data-scientists}}
#  extra_roles:  # any role of infra/roles.py, on the project resource group
#    Storage Blob Data Reader:
#      - {{object_id: 00000000-0000-0000-0000-000000000000, kind: ServicePrincipal, name: my-app}}

# The region of the workspace and the project's own resources; default: the environment's. Another
# region needs the ML registry to replicate there and, for clusters, the stack's GPU quota there
# (docs/onboarding.md, "Regions").
# location: westus3

# Monthly cost budget on the project's resource group; alerts at the environment's thresholds
# (override with `thresholds: [50, 80, 100]`) go to the owner and contact_emails.
budget:
  monthly_amount: {budget}
  contact_emails: []
  # A new budget starts in the month it is created and keeps that start afterwards. To start it
  # in a later month instead, add `start_date: YYYY-MM-01` (at most 12 months ahead).

# The environments the project is in, each with optional overrides of description, tags,
# clusters, access, budget and location (for example a larger cluster in prod; `null` removes a key).
environments:
{environments}
"""


def render(
    name: str,
    *,
    owner: str,
    cost_center: str,
    environments: Sequence[str],
    budget: float,
    description: str = "",
) -> str:
    return TEMPLATE.format(
        name=name,
        owner=owner,
        cost_center=json.dumps(cost_center),
        description=json.dumps(description),
        sizes=", ".join(sorted(GPU_SKUS)),
        budget=amount(budget),
        environments="\n".join(f"  {env}: {{}}" for env in environments),
    )


def amount(value: float) -> str:
    """The amount as typed: 12499.99 stays 12499.99 (`:g` would round it to 12500), 1000.0 is 1000."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _check(layout: Layout, name: str, owner: str, environments: Sequence[str]) -> list[ConfigIssue]:
    target = layout.relative(layout.projects_dir / f"{name}.yaml")
    issues = []
    if not naming.PROJECT_PATTERN.fullmatch(name):
        issues.append(
            ConfigIssue(target, "name", f"{name!r} is not a valid project name ({naming.PROJECT_RULE})")
        )
    if not EMAIL.fullmatch(owner):
        issues.append(ConfigIssue(target, "owner", f"{owner!r} is not an email address"))
    stacks = layout.stacks()
    unknown = [env for env in environments if env not in stacks]
    if unknown or not environments:
        issues.append(
            ConfigIssue(
                target,
                "environments",
                f"no such environment {', '.join(unknown) or '(none given)'}; known: {', '.join(stacks)}",
            )
        )
    existing = [layout.projects_dir / f"{name}{suffix}" for suffix in (".yaml", ".yml")]
    issues += [
        ConfigIssue(target, "", "exists already; refusing to overwrite it")
        for path in existing
        if path.exists()
    ]
    files, _ = read_projects(layout, stacks)
    issues += [
        ConfigIssue(target, "name", f"project name {name!r} is already used by {project.file}")
        for project in files
        if project.name == name and project.file not in {layout.relative(path) for path in existing}
    ]
    if not issues:
        for env in environments:
            try:
                environment = load_environment_file(layout, env)
            except ConfigError:
                continue  # `validate` reports a broken environment; the name can still be checked there
            try:
                environment.names.project(name).all()
            except naming.NamingError as error:
                issues.append(ConfigIssue(target, "name", f"in environment {env}: {error}"))
    return issues


def onboard(
    layout: Layout,
    name: str,
    *,
    owner: str,
    cost_center: str,
    environments: Sequence[str] | None = None,
    budget: float = 1000,
) -> Path:
    """Write stacks/projects/NAME.yaml; raise ConfigError (and write nothing that stays) when the
    name or options are wrong or the new file would not validate."""
    envs = list(environments) if environments is not None else layout.stacks()
    issues = _check(layout, name, owner, envs)
    if issues:
        raise ConfigError(issues)
    path = layout.projects_dir / f"{name}.yaml"
    path.write_text(
        render(
            name,
            owner=owner,
            cost_center=cost_center,
            environments=envs,
            budget=budget,
        )
    )
    mine = [issue for issue in validate_all(layout) if issue.file == layout.relative(path)]
    if mine:
        path.unlink()
        raise ConfigError(mine)
    return path

"""GPU quota: the clusters of every project of an environment must fit the subscription's
regional quota, counted in vCPUs per VM family (what `az vm list-usage` and the Azure ML quota
page report).

A cluster can scale to max nodes at any time, so the check counts max nodes x vCPUs per node of
every cluster. Low-priority clusters are counted too: that over-counts (Azure ML charges them to a
separate low-priority quota) but never lets a dedicated cluster fail to scale for lack of quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.config.errors import ConfigIssue
from infra.config.models import ENVIRONMENT_FIELD, EnvironmentConfig, ProjectSettings
from infra.policy import Onboarded
from infra.skus import require_sku


@dataclass(frozen=True)
class ClusterDemand:
    project: str
    cluster: str
    vm_size: str
    family: str
    max_nodes: int
    gpus_per_node: int
    vcpus_per_node: int

    @property
    def vcpus(self) -> int:
        return self.max_nodes * self.vcpus_per_node

    @property
    def gpus(self) -> int:
        return self.max_nodes * self.gpus_per_node


def demands(projects: Sequence[ProjectSettings]) -> list[ClusterDemand]:
    """Every cluster's worst case, sorted by family, project and cluster."""
    result = []
    for project in projects:
        for name, cluster in project.clusters.items():
            sku = require_sku(cluster.vm_size)
            result.append(
                ClusterDemand(
                    project.name, name, sku.name, sku.family, cluster.max_nodes, sku.gpus, sku.vcpus
                )
            )
    return sorted(result, key=lambda d: (d.family, d.project, d.cluster))


def by_family(items: Sequence[ClusterDemand]) -> dict[str, list[ClusterDemand]]:
    grouped: dict[str, list[ClusterDemand]] = {}
    for demand in items:
        grouped.setdefault(demand.family, []).append(demand)
    return grouped


def _family_issues(
    family: str,
    items: Sequence[ClusterDemand],
    env_file: str,
    environment: EnvironmentConfig,
    sources: dict[str, Onboarded],
) -> list[ConfigIssue]:
    env_name = sources[items[0].project].environment
    total = sum(d.vcpus for d in items)
    limit = environment.gpu_quota.get(family)
    if limit is not None and total <= limit:
        return []
    involved = ", ".join(
        f"{d.project}/{d.cluster} {d.max_nodes} x {d.vm_size} = {d.vcpus} vCPUs "
        f"({sources[d.project].file}: {sources[d.project].field('clusters', d.cluster, 'max_nodes')})"
        for d in items
    )
    known = ", ".join(sorted(environment.gpu_quota))
    if limit is None:
        summary = (
            f"no quota for VM family {family}, used in environment {env_name} by {involved}; "
            f"add the subscription's regional quota in vCPUs (known families: {known or 'none set'})"
        )
        field = "vm_size"
        explain = [
            f"{d.vm_size} is in VM family {family}, which has no gpu_quota in {env_file}; "
            f"ask the platform team to add it, or pick a size of {known or 'a family with quota'}"
            for d in items
        ]
    else:
        summary = (
            f"clusters of environment {env_name} can use {total} vCPUs of {family} but the quota is "
            f"{limit} ({total - limit} over): {involved}; lower max_nodes or raise the quota"
        )
        field = "max_nodes"
        explain = [
            f"{d.project}/{d.cluster} ({d.max_nodes} x {d.vm_size}, {d.vcpus} vCPUs) is part of {total} "
            f"vCPUs of {family}, over the quota of {limit} in {env_file}; allowed: at most {limit} vCPUs "
            "for all clusters of the family"
            for d in items
        ]
    return [
        ConfigIssue(env_file, f"{ENVIRONMENT_FIELD}.gpu_quota.{family}", summary),
        *(
            ConfigIssue(
                sources[d.project].file,
                sources[d.project].field("clusters", d.cluster, field),
                f"in environment {env_name}: {message}",
            )
            for d, message in zip(items, explain, strict=True)
        ),
    ]


def quota_issues(
    env_file: str, environment: EnvironmentConfig, projects: Sequence[Onboarded]
) -> list[ConfigIssue]:
    """Every family whose clusters could exceed the quota, or that has no quota at all; each
    problem is reported on the environment's quota and on every cluster involved."""
    sources = {project.settings.name: project for project in projects}
    return [
        issue
        for family, items in by_family(demands([p.settings for p in projects])).items()
        for issue in _family_issues(family, items, env_file, environment, sources)
    ]


def capacity_lines(environment: EnvironmentConfig, projects: Sequence[ProjectSettings]) -> list[str]:
    """The capacity table of the plan: per project and family, then totals against the quota."""
    items = demands(projects)
    if not items:
        return ["no GPU clusters"]
    rows: list[tuple[str, ...]] = [
        ("project", "family", "clusters", "max nodes", "max GPUs", "vCPUs", "share of quota")
    ]

    def share(vcpus: int, family: str) -> str:
        limit = environment.gpu_quota.get(family)
        return f"{100 * vcpus / limit:.0f}% of {limit}" if limit else "no quota"

    def row(label: str, family: str, members: list[ClusterDemand], clusters: str) -> tuple[str, ...]:
        vcpus = sum(d.vcpus for d in members)
        nodes, gpus = sum(d.max_nodes for d in members), sum(d.gpus for d in members)
        return (label, family, clusters, str(nodes), str(gpus), str(vcpus), share(vcpus, family))

    grouped = by_family(items)
    by_project: dict[str, dict[str, list[ClusterDemand]]] = {}
    for family, members in grouped.items():
        for demand in members:
            by_project.setdefault(demand.project, {}).setdefault(family, []).append(demand)
    for project in sorted(by_project):
        for family, mine in by_project[project].items():
            rows.append(row(project, family, mine, ",".join(d.cluster for d in mine)))
    rows += [row("total", family, members, str(len(members))) for family, members in grouped.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]

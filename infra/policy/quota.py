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


def quota_issues(
    env_file: str, environment: EnvironmentConfig, projects: Sequence[Onboarded]
) -> list[ConfigIssue]:
    """Every family whose clusters could exceed the quota, or that has no quota at all; each
    problem is reported on the environment's quota and on every cluster involved."""
    if not projects:
        return []
    env_name = projects[0].environment
    sources = {project.settings.name: project for project in projects}
    quota_field = f"{ENVIRONMENT_FIELD}.gpu_quota"
    issues: list[ConfigIssue] = []
    for family, items in by_family(demands([p.settings for p in projects])).items():
        total = sum(d.vcpus for d in items)
        involved = ", ".join(
            f"{d.project}/{d.cluster} {d.max_nodes} x {d.vm_size} = {d.vcpus} vCPUs "
            f"({sources[d.project].file}: {sources[d.project].field('clusters', d.cluster, 'max_nodes')})"
            for d in items
        )
        limit = environment.gpu_quota.get(family)
        if limit is None:
            issues.append(
                ConfigIssue(
                    env_file,
                    f"{quota_field}.{family}",
                    f"no quota for VM family {family}, used in environment {env_name} by {involved}; "
                    f"add the subscription's regional quota in vCPUs (known families: "
                    f"{', '.join(sorted(environment.gpu_quota)) or 'none set'})",
                )
            )
            for d in items:
                source = sources[d.project]
                issues.append(
                    ConfigIssue(
                        source.file,
                        source.field("clusters", d.cluster, "vm_size"),
                        f"in environment {env_name}: {d.vm_size} is in VM family {family}, which has no "
                        f"gpu_quota in {env_file}; ask the platform team to add it, or pick a size of "
                        f"{', '.join(sorted(environment.gpu_quota)) or 'a family with quota'}",
                    )
                )
            continue
        if total <= limit:
            continue
        issues.append(
            ConfigIssue(
                env_file,
                f"{quota_field}.{family}",
                f"clusters of environment {env_name} can use {total} vCPUs of {family} but the quota is "
                f"{limit} ({total - limit} over): {involved}; lower max_nodes or raise the quota",
            )
        )
        for d in items:
            source = sources[d.project]
            issues.append(
                ConfigIssue(
                    source.file,
                    source.field("clusters", d.cluster, "max_nodes"),
                    f"in environment {env_name}: {d.project}/{d.cluster} ({d.max_nodes} x {d.vm_size}, "
                    f"{d.vcpus} vCPUs) is part of {total} vCPUs of {family}, over the quota of {limit} "
                    f"in {env_file}; allowed: at most {limit} vCPUs for all clusters of the family",
                )
            )
    return issues


def capacity_lines(environment: EnvironmentConfig, projects: Sequence[ProjectSettings]) -> list[str]:
    """The capacity table of the plan: per project and family, then totals against the quota."""
    items = demands(projects)
    if not items:
        return ["no GPU clusters"]
    rows = [("project", "family", "clusters", "max nodes", "max GPUs", "vCPUs", "share of quota")]

    def share(vcpus: int, family: str) -> str:
        limit = environment.gpu_quota.get(family)
        return f"{100 * vcpus / limit:.0f}% of {limit}" if limit else "no quota"

    grouped = by_family(items)
    for project in sorted({d.project for d in items}):
        for family, family_items in grouped.items():
            mine = [d for d in family_items if d.project == project]
            if mine:
                vcpus = sum(d.vcpus for d in mine)
                rows.append(
                    (
                        project,
                        family,
                        ",".join(d.cluster for d in mine),
                        str(sum(d.max_nodes for d in mine)),
                        str(sum(d.gpus for d in mine)),
                        str(vcpus),
                        share(vcpus, family),
                    )
                )
    for family, family_items in grouped.items():
        vcpus = sum(d.vcpus for d in family_items)
        rows.append(
            (
                "total",
                family,
                str(len(family_items)),
                str(sum(d.max_nodes for d in family_items)),
                str(sum(d.gpus for d in family_items)),
                str(vcpus),
                share(vcpus, family),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]

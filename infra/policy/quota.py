"""GPU quota: the clusters of every project of an environment must fit the subscription's
regional quota, counted in vCPUs per VM family (what `az vm list-usage` and the Azure ML quota
page report).

Quota is per region: the clusters of a project are counted against the quota of the region its
workspace is in (`gpu_quota` for the environment's location, `gpu_quota_by_region.<region>` for
the others). A region the stack records no quota for is refused for GPU clusters, as a family
without quota is.

A cluster can scale to max nodes at any time, so the check counts max nodes x vCPUs per node of
every cluster. Low-priority clusters are counted too: that over-counts (Azure ML charges them to a
separate low-priority quota) but never lets a dedicated cluster fail to scale for lack of quota.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.config.errors import ConfigIssue
from infra.config.models import ENVIRONMENT_FIELD, EnvironmentConfig
from infra.skus import require_sku

if TYPE_CHECKING:
    from infra.model import ProjectModel

# Clusters are counted per (region, VM family): the unit Azure grants quota in.
Pool = tuple[str, str]


@dataclass(frozen=True)
class ClusterDemand:
    project: str
    cluster: str
    region: str
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


def demands(projects: Sequence[ProjectModel]) -> list[ClusterDemand]:
    """Every cluster's worst case, in its project's region, sorted by region, family, project and
    cluster."""
    result = []
    for project in projects:
        for name, cluster in project.settings.clusters.items():
            sku = require_sku(cluster.vm_size)
            result.append(
                ClusterDemand(
                    project.name,
                    name,
                    project.location,
                    sku.name,
                    sku.family,
                    cluster.max_nodes,
                    sku.gpus,
                    sku.vcpus,
                )
            )
    return sorted(result, key=lambda d: (d.region, d.family, d.project, d.cluster))


def by_pool(items: Sequence[ClusterDemand]) -> dict[Pool, list[ClusterDemand]]:
    grouped: dict[Pool, list[ClusterDemand]] = {}
    for demand in items:
        grouped.setdefault((demand.region, demand.family), []).append(demand)
    return grouped


def quota_field(environment: EnvironmentConfig, region: str, family: str | None = None) -> str:
    """Where the stack file records the quota of `region` (and of one family in it)."""
    base = (
        f"{ENVIRONMENT_FIELD}.gpu_quota"
        if region == environment.location
        else f"{ENVIRONMENT_FIELD}.gpu_quota_by_region.{region}"
    )
    return f"{base}.{family}" if family else base


def _region_issues(
    region: str,
    items: Sequence[ClusterDemand],
    env_file: str,
    environment: EnvironmentConfig,
    projects: dict[str, ProjectModel],
) -> list[ConfigIssue]:
    """Clusters in a region the stack records no quota for at all."""
    env_name = projects[items[0].project].source.environment
    involved = ", ".join(f"{d.project}/{d.cluster}" for d in items)
    recorded = ", ".join(sorted({environment.location, *environment.gpu_quota_by_region}))
    return [
        ConfigIssue(
            env_file,
            quota_field(environment, region),
            f"no GPU quota recorded for region {region}, where clusters of environment {env_name} run "
            f"({involved}); add the subscription's quota there in vCPUs per VM family (quota is per "
            f"region; recorded: {recorded})",
        ),
        *(
            ConfigIssue(
                projects[d.project].source.file,
                projects[d.project].source.field("clusters", d.cluster, "vm_size"),
                f"in environment {env_name}: the project's workspace is in {region}, for which {env_file} "
                f"records no GPU quota ({quota_field(environment, region).removeprefix(ENVIRONMENT_FIELD + '.')}); "
                "ask the platform team to add it, or put the project in a region with quota",
            )
            for d in items
        ),
    ]


def _family_issues(
    pool: Pool,
    items: Sequence[ClusterDemand],
    env_file: str,
    environment: EnvironmentConfig,
    projects: dict[str, ProjectModel],
) -> list[ConfigIssue]:
    region, family = pool
    sources = {name: project.source for name, project in projects.items()}
    env_name = sources[items[0].project].environment
    quota = environment.gpu_quota_in(region) or {}
    total = sum(d.vcpus for d in items)
    limit = quota.get(family)
    if limit is not None and total <= limit:
        return []
    where = "" if region == environment.location else f" in {region}"
    setting = quota_field(environment, region).removeprefix(ENVIRONMENT_FIELD + ".")
    involved = ", ".join(
        f"{d.project}/{d.cluster} {d.max_nodes} x {d.vm_size} = {d.vcpus} vCPUs "
        f"({sources[d.project].file}: {sources[d.project].field('clusters', d.cluster, 'max_nodes')})"
        for d in items
    )
    known = ", ".join(sorted(quota))
    if limit is None:
        summary = (
            f"no quota for VM family {family}{where}, used in environment {env_name} by {involved}; "
            f"add the subscription's regional quota in vCPUs (known families: {known or 'none set'})"
        )
        field = "vm_size"
        explain = [
            f"{d.vm_size} is in VM family {family}, which has no {setting} in {env_file}; "
            f"ask the platform team to add it, or pick a size of {known or 'a family with quota'}"
            for d in items
        ]
    else:
        summary = (
            f"clusters of environment {env_name}{where} can use {total} vCPUs of {family} but the quota is "
            f"{limit} ({total - limit} over): {involved}; lower max_nodes or raise the quota"
        )
        field = "max_nodes"
        explain = [
            f"{d.project}/{d.cluster} ({d.max_nodes} x {d.vm_size}, {d.vcpus} vCPUs) is part of {total} "
            f"vCPUs of {family}{where}, over the quota of {limit} in {env_file}; allowed: at most {limit} vCPUs "
            "for all clusters of the family"
            for d in items
        ]
    return [
        ConfigIssue(env_file, quota_field(environment, region, family), summary),
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
    env_file: str, environment: EnvironmentConfig, projects: Sequence[ProjectModel]
) -> list[ConfigIssue]:
    """Every family whose clusters could exceed the quota of their region, or that has no quota
    there, and every region with clusters but no quota recorded; each problem is reported on the
    environment's quota and on every cluster involved."""
    by_name = {project.name: project for project in projects}
    items = demands(projects)
    unrecorded = sorted({d.region for d in items if environment.gpu_quota_in(d.region) is None})
    issues = [
        issue
        for region in unrecorded
        for issue in _region_issues(
            region, [d for d in items if d.region == region], env_file, environment, by_name
        )
    ]
    return issues + [
        issue
        for pool, members in by_pool(items).items()
        if pool[0] not in unrecorded
        for issue in _family_issues(pool, members, env_file, environment, by_name)
    ]


def capacity_lines(environment: EnvironmentConfig, projects: Sequence[ProjectModel]) -> list[str]:
    """The capacity table of the plan: per project and family, then totals against the quota of
    each family's region (a region other than the environment's is named after the family)."""
    items = demands(projects)
    if not items:
        return ["no GPU clusters"]
    rows: list[tuple[str, ...]] = [
        ("project", "family", "clusters", "max nodes", "max GPUs", "vCPUs", "share of quota")
    ]

    def label(pool: Pool) -> str:
        region, family = pool
        return family if region == environment.location else f"{family} ({region})"

    def share(vcpus: int, pool: Pool) -> str:
        # Validation refused every cluster whose family has no quota in its region (_region_issues),
        # so the table is only built where each pool has one.
        limit = (environment.gpu_quota_in(pool[0]) or {})[pool[1]]
        return f"{100 * vcpus / limit:.0f}% of {limit}"

    def row(name: str, pool: Pool, members: list[ClusterDemand], clusters: str) -> tuple[str, ...]:
        vcpus = sum(d.vcpus for d in members)
        nodes, gpus = sum(d.max_nodes for d in members), sum(d.gpus for d in members)
        return (name, label(pool), clusters, str(nodes), str(gpus), str(vcpus), share(vcpus, pool))

    grouped = by_pool(items)
    by_project: dict[str, dict[Pool, list[ClusterDemand]]] = {}
    for pool, members in grouped.items():
        for demand in members:
            by_project.setdefault(demand.project, {}).setdefault(pool, []).append(demand)
    for project in sorted(by_project):
        for pool, mine in by_project[project].items():
            rows.append(row(project, pool, mine, ",".join(d.cluster for d in mine)))
    rows += [row("total", pool, members, str(len(members))) for pool, members in grouped.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[column]) for column, cell in enumerate(row)).rstrip() for row in rows]

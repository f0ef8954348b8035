"""The VM quota a managed online deployment takes, and what deployments already hold.

Quota is granted per subscription, region and VM family, in vCPUs (`infra/skus.py` names each
size's family and vCPUs; the environment's `gpu_quota` is the grant). For managed online
endpoints Azure ML also reserves 20% extra for upgrades on some VM sizes: a deployment of N
instances of those needs `ceil(1.2 * N) * vCPUs` of quota, the others `N * vCPUs` (Microsoft
Learn, "Manage and increase quotas and limits for resources with Azure Machine Learning",
section "Virtual machine quota allocation for deployment"; the sizes exempt from the reserve are
the "Skip 20% Reservation" column of Learn's "Managed online endpoints SKU list",
articles/machine-learning/reference-managed-online-endpoints-vm-sku-list.md in
MicrosoftDocs/azure-ai-docs). The reserve is quota only: it costs nothing unless an upgrade uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from infra.skus import GpuSku, find_sku

# The GPU sizes of infra/skus.py that Learn's "Managed online endpoints SKU list" names (the sizes
# a managed online deployment can run on, ms.date 10/18/2025), each with its "Skip 20%
# Reservation" column. ND96isr_H200_v5 is not on the list: `deploy` refuses it.
_ONLINE_GPU_SIZES: tuple[tuple[str, bool], ...] = (
    ("Standard_NC4as_T4_v3", False),
    ("Standard_NC8as_T4_v3", False),
    ("Standard_NC16as_T4_v3", False),
    ("Standard_NC64as_T4_v3", False),
    ("Standard_NC6s_v3", False),
    ("Standard_NC12s_v3", False),
    ("Standard_NC24s_v3", False),
    ("Standard_NC24ads_A100_v4", True),
    ("Standard_NC48ads_A100_v4", True),
    ("Standard_NC96ads_A100_v4", True),
    ("Standard_NC40ads_H100_v5", True),
    ("Standard_NC80adis_H100_v5", True),
    ("Standard_ND96amsr_A100_v4", True),
    ("Standard_ND96asr_v4", True),
    ("Standard_ND40rs_v2", True),
    ("Standard_ND96isr_H100_v5", True),
)
MANAGED_ONLINE_SKUS: Mapping[str, bool] = {name.lower(): skips for name, skips in _ONLINE_GPU_SIZES}
# The sizes that need no upgrade reserve; the others on the list get it (so would a size the list
# does not name, which errs on the side of more quota).
RESERVE_EXEMPT: frozenset[str] = frozenset(name for name, skips in MANAGED_ONLINE_SKUS.items() if skips)


def online_sku_problem(sku: GpuSku) -> str | None:
    """Why a managed online deployment cannot run on `sku`, or None."""
    if sku.name.lower() in MANAGED_ONLINE_SKUS:
        return None
    return (
        f"instance type {sku.name} is not on Learn's managed online endpoints SKU list "
        "(reference-managed-online-endpoints-vm-sku-list): a managed online deployment cannot run on it; "
        f"GPU sizes on the list: {', '.join(sorted(name for name, _ in _ONLINE_GPU_SIZES))}"
    )


def reserved_instances(sku: GpuSku, count: int) -> int:
    """Instances' worth of quota `count` instances hold: ceil(1.2 * count) unless exempt."""
    if sku.name.lower() in RESERVE_EXEMPT:
        return count
    return (6 * count + 4) // 5  # ceil(6 * count / 5), in integers


def vcpus_needed(sku: GpuSku, count: int) -> int:
    return reserved_instances(sku, count) * sku.vcpus


def explain(sku: GpuSku, count: int) -> str:
    reserved = reserved_instances(sku, count)
    if reserved == count:
        return f"{count} x {sku.name} = {count * sku.vcpus}"
    return f"{count} x {sku.name} with the 20% upgrade reserve = {reserved} x {sku.vcpus} = {reserved * sku.vcpus}"


@dataclass(frozen=True)
class Holding:
    """A deployment that holds quota: where it is and what it runs."""

    endpoint: str
    deployment: str
    sku: GpuSku
    count: int

    @property
    def vcpus(self) -> int:
        return vcpus_needed(self.sku, self.count)


def holdings(deployments: Iterable[tuple[str, str, str, int]], family: str) -> list[Holding]:
    """The deployments (endpoint, name, instance type, count) whose size is in `family`."""
    found = []
    for endpoint, name, instance_type, count in deployments:
        sku = find_sku(instance_type)
        if sku is not None and sku.family == family and count > 0:
            found.append(Holding(endpoint, name, sku, count))
    return sorted(found, key=lambda h: (h.endpoint, h.deployment))


def refusal(sku: GpuSku, count: int, quota: int, held: Sequence[Holding], where: str) -> str | None:
    """One line when `count` x `sku` does not fit the family's quota next to `held`; None if it does."""
    needed = vcpus_needed(sku, count)
    used = sum(h.vcpus for h in held)
    available = max(quota - used, 0)
    if needed <= available:
        return None
    holders = "; ".join(f"{h.endpoint}/{h.deployment} {explain(h.sku, h.count)}" for h in held)
    return (
        f"not enough {sku.family} quota for this deployment: it needs {needed} vCPUs ({explain(sku, count)}), "
        f"{available} are available (quota {quota} in {where}"
        + (f", {used} held by existing deployments: {holders})" if held else ")")
    )

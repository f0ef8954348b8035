"""The GPU VM sizes the platform knows, and what each one carries.

This is the single table both the infrastructure (cluster validation, quota arithmetic) and the
jobs layer (processes per node, allow-list checks) read. It imports nothing heavy on purpose:
the command-line tools load it at start-up.

Quota is granted per subscription, region and *VM family*, counted in vCPUs, so every size
names the family its vCPUs are charged to (the family names are the ones `az vm list-usage`
reports).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSku:
    name: str
    vcpus: int
    gpus: int
    gpu_model: str
    gpu_memory_gb: int
    family: str


_SKUS = (
    GpuSku("Standard_NC4as_T4_v3", 4, 1, "T4", 16, "standardNCASv3_T4Family"),
    GpuSku("Standard_NC8as_T4_v3", 8, 1, "T4", 16, "standardNCASv3_T4Family"),
    GpuSku("Standard_NC16as_T4_v3", 16, 1, "T4", 16, "standardNCASv3_T4Family"),
    GpuSku("Standard_NC64as_T4_v3", 64, 4, "T4", 16, "standardNCASv3_T4Family"),
    GpuSku("Standard_NC6s_v3", 6, 1, "V100", 16, "standardNCSv3Family"),
    GpuSku("Standard_NC12s_v3", 12, 2, "V100", 16, "standardNCSv3Family"),
    GpuSku("Standard_NC24s_v3", 24, 4, "V100", 16, "standardNCSv3Family"),
    GpuSku("Standard_ND40rs_v2", 40, 8, "V100", 32, "standardNDSv2Family"),
    GpuSku("Standard_NC24ads_A100_v4", 24, 1, "A100", 80, "StandardNCADSA100v4Family"),
    GpuSku("Standard_NC48ads_A100_v4", 48, 2, "A100", 80, "StandardNCADSA100v4Family"),
    GpuSku("Standard_NC96ads_A100_v4", 96, 4, "A100", 80, "StandardNCADSA100v4Family"),
    GpuSku("Standard_ND96asr_v4", 96, 8, "A100", 40, "standardNDASv4_A100Family"),
    GpuSku("Standard_ND96amsr_A100_v4", 96, 8, "A100", 80, "StandardNDAMSv4_A100Family"),
    GpuSku("Standard_NC40ads_H100_v5", 40, 1, "H100 NVL", 94, "StandardNCadsH100v5Family"),
    GpuSku("Standard_NC80adis_H100_v5", 80, 2, "H100 NVL", 94, "StandardNCadsH100v5Family"),
    GpuSku("Standard_ND96isr_H100_v5", 96, 8, "H100", 80, "standardNDSH100v5Family"),
    GpuSku("Standard_ND96isr_H200_v5", 96, 8, "H200", 141, "standardNDSH200v5Family"),
)

# The CPU size of the cluster that builds environment images (infra/components/cluster.py): docker
# on a general-purpose size. Not a GPU size, so not in the table above; allowed wherever clusters are.
IMAGE_BUILD_VM_SIZE = "Standard_DS3_v2"

GPU_SKUS: dict[str, GpuSku] = {sku.name: sku for sku in _SKUS}
GPU_FAMILIES: frozenset[str] = frozenset(sku.family for sku in _SKUS)
_BY_LOWER: dict[str, GpuSku] = {sku.name.lower(): sku for sku in _SKUS}


def find_sku(vm_size: str) -> GpuSku | None:
    """Azure treats VM size names case-insensitively; so do we."""
    return _BY_LOWER.get(vm_size.lower())


def require_sku(vm_size: str) -> GpuSku:
    sku = find_sku(vm_size)
    if sku is None:
        raise KeyError(f"unknown GPU VM size {vm_size!r}; known sizes: {', '.join(sorted(GPU_SKUS))}")
    return sku

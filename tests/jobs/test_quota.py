"""Quota a managed online deployment takes (Learn: ceil(1.2 x instances) x vCPUs, some sizes exempt)."""

from __future__ import annotations

import pytest

from infra.skus import GPU_SKUS, require_sku
from jobs.quota import (
    MANAGED_ONLINE_SKUS,
    RESERVE_EXEMPT,
    online_sku_problem,
    reserved_instances,
    vcpus_needed,
)


@pytest.mark.parametrize(("count", "reserved"), [(1, 2), (4, 5), (5, 6), (10, 12), (50, 60)])
def test_sizes_with_the_upgrade_reserve_need_ceil_of_1_2_times_the_instances(
    count: int, reserved: int
) -> None:
    t4 = require_sku("Standard_NC4as_T4_v3")
    assert reserved_instances(t4, count) == reserved  # Learn's example: 10 instances need quota for 12
    assert vcpus_needed(t4, count) == reserved * 4


def test_exempt_sizes_need_their_instances_only() -> None:
    a100 = require_sku("Standard_NC24ads_A100_v4")
    assert vcpus_needed(a100, 10) == 240


def test_the_exempt_list_names_sizes_of_the_sku_table() -> None:
    # A typo would silently give a size the reserve or refuse it; every name must be one
    # infra/skus.py knows.
    assert {name.lower() for name in GPU_SKUS} >= set(MANAGED_ONLINE_SKUS) >= RESERVE_EXEMPT
    assert "standard_nc4as_t4_v3" not in RESERVE_EXEMPT and "standard_nc6s_v3" not in RESERVE_EXEMPT


def test_only_sizes_on_the_managed_online_sku_list_can_serve() -> None:
    assert online_sku_problem(require_sku("Standard_NC24ads_A100_v4")) is None
    assert online_sku_problem(require_sku("Standard_NC6s_v3")) is None
    problem = online_sku_problem(require_sku("Standard_ND96isr_H200_v5"))
    assert problem is not None and "not on Learn's managed online endpoints SKU list" in problem
    assert "Standard_ND96isr_H100_v5" in problem  # the sizes that can serve are named

"""check-live: the comparisons, on answers shaped as Azure documents them (REST API references:
Role Definitions - Get, Resource Skus - List, Usage - List), and the offline skip."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import pytest

from infra.live_check import check_quota, check_roles, check_sizes
from infra.plan.offline import REPOSITORY
from tests.infra.test_access import ROLE_GUIDS

SUB = "11111111-2222-3333-4444-555555555555"


class FakeArm:
    """Answers GETs the way ARM documents them, with the role names Microsoft publishes."""

    def __init__(
        self, roles: Mapping[str, str], skus: list[dict[str, Any]], usages: list[dict[str, Any]]
    ) -> None:
        self.roles = {guid: name for name, guid in roles.items()}
        self.skus, self.usages = skus, usages
        self.urls: list[str] = []

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.urls.append(url)
        if "/roleDefinitions/" in url:
            guid = url.split("/roleDefinitions/")[1].split("?")[0]
            if guid not in self.roles:
                raise LookupError(url)
            return {
                "id": url.split("?")[0],
                "name": guid,
                "properties": {"roleName": self.roles[guid], "type": "BuiltInRole"},
            }
        if "/skus?" in url:
            assert "location eq 'westeurope'" in unquote(url)
            half = len(self.skus) // 2  # two pages, as ARM pages long lists
            if "page=2" in url:
                return {"value": self.skus[half:]}
            return {"value": self.skus[:half], "nextLink": url + "&page=2"}
        if "/usages?" in url:
            return {"value": self.usages}
        raise AssertionError(url)


def sku(name: str, family: str, vcpus: int, gpus: int) -> dict[str, Any]:
    return {
        "resourceType": "virtualMachines",
        "name": name,
        "family": family,
        "locations": ["westeurope"],
        "capabilities": [{"name": "vCPUs", "value": str(vcpus)}, {"name": "GPUs", "value": str(gpus)}],
    }


def usage(family: str, limit: int) -> dict[str, Any]:
    return {
        "name": {"value": family, "localizedValue": family},
        "currentValue": 0,
        "limit": limit,
        "unit": "Count",
    }


def test_role_guids_are_checked_by_name() -> None:
    assert all(f.ok for f in check_roles(FakeArm(ROLE_GUIDS, [], []), SUB))
    typo = {**ROLE_GUIDS, "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538e"}  # Azure has no such role
    failed = [f for f in check_roles(FakeArm(typo, [], []), SUB) if not f.ok]
    assert [f.what.split(":")[0] for f in failed] == ["role AcrPull"]


def test_sizes_are_compared_with_the_table() -> None:
    skus = [
        sku("Standard_NC24ads_A100_v4", "StandardNCADSA100v4Family", 24, 1),
        sku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", 4, 1),
        sku("Standard_NC96ads_A100_v4", "StandardNCADSA100v4Family", 96, 2),  # the table says 4 GPUs
        sku("Standard_D4s_v5", "standardDSv5Family", 4, 0),
    ]
    findings = check_sizes(FakeArm({}, skus, []), SUB, "westeurope")
    failed = [f.what for f in findings if not f.ok]
    assert failed == [
        "size Standard_NC96ads_A100_v4: family/vCPUs/GPUs StandardNCADSA100v4Family/96/2, infra/skus.py says StandardNCADSA100v4Family/96/4"
    ]
    assert any("Standard_ND96isr_H200_v5: not offered in westeurope" in f.what for f in findings)


def test_declared_quota_must_exist_and_fit() -> None:
    arm = FakeArm({}, [], [usage("StandardNCADSA100v4Family", 96), usage("standardNCASv3_T4Family", 16)])
    findings = check_quota(
        arm,
        SUB,
        "westeurope",
        {"StandardNCADSA100v4Family": 96, "standardNCASv3_T4Family": 32, "standardNDSH100v5Family": 8},
    )
    assert [(f.ok, f.what.split(":")[0]) for f in findings] == [
        (True, "quota StandardNCADSA100v4Family"),
        (False, "quota standardNCASv3_T4Family"),
        (False, "quota standardNDSH100v5Family"),
    ]


@pytest.mark.cli
def test_offline_it_says_it_checked_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_", "IDENTITY_", "MSI_"))}
    env["PATH"] = "/nonexistent"  # no az CLI, no azd, no PowerShell to borrow a login from
    done = subprocess.run(
        [sys.executable, "-m", "infra", "check-live", "--stack", "dev", "--subscription", SUB],
        capture_output=True, text=True, env=env, cwd=REPOSITORY, timeout=120,
    )  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert "skipped: no Azure credentials" in done.stderr and "nothing was checked" in done.stderr
    assert "Traceback" not in done.stderr
